// Security headers on every HTTP response of the Tabmesh server (the app, /config.json,
// /healthz, errors). The built app is external module scripts and workers from this origin
// only, so the policy can forbid inline and foreign script outright: an injected <script> or
// an on* attribute does not run, and a page of ours cannot be framed for clickjacking.
import type { ServerResponse } from 'node:http';

/**
 * The Content-Security-Policy. Why each source is there:
 * - script-src/worker-src 'self': Vite emits /assets/*.js and the protocol and kernel workers
 *   as files of this origin; no inline script, no eval.
 * - style-src 'unsafe-inline': Svelte sets style attributes in markup (bars, canvas sizes);
 *   styles cannot run code, and script stays strict.
 * - connect-src 'self' ws: wss:: /config.json, and signaling over WebSocket (ws: on plain
 *   HTTP, wss: behind TLS; 'self' alone does not cover ws: in every browser).
 * - img-src data: blob:: the favicon and canvas-made images.
 * - frame-ancestors 'none', base-uri 'none', object-src 'none', form-action 'none': nothing
 *   embeds us, rebases our URLs, loads plugins or posts forms anywhere.
 */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Browser features the app never uses, switched off for it and anything it might embed. */
export const permissionsPolicy = [
  'camera=()',
  'microphone=()',
  'geolocation=()',
  'payment=()',
  'usb=()',
  'serial=()',
  'midi=()',
  'display-capture=()',
  'interest-cohort=()',
].join(', ');

export const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy': contentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // For browsers that predate frame-ancestors.
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': permissionsPolicy,
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Sets every security header on `res`; call before anything writes the head. */
export function applySecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
}

/**
 * The policy for `npm run dev` (signaling/vite-plugin.ts): the production policy, with no
 * allowance added, because Vite's dev client needs none beyond it — checked in Chromium on the
 * dev server by test/e2e/dev-server.test.ts (HMR connects, the node joins, no violation is
 * reported, an injected inline script is refused): its HMR socket is ws:/wss: to the dev server (connect-src ws: wss:), the client and
 * every transformed module are scripts of this origin ('self', no eval), CSS arrives as <style>
 * elements (style-src 'unsafe-inline'), and the error overlay is a custom element styled the
 * same way. Kept as its own name so a Vite that needs more gets it here, not in production.
 */
export const devContentSecurityPolicy: string = contentSecurityPolicy;

export const devSecurityHeaders: Readonly<Record<string, string>> = {
  ...securityHeaders,
  'Content-Security-Policy': devContentSecurityPolicy,
};
