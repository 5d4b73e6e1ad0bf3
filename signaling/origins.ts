// Which pages may open a signaling socket. A browser always sends the page's Origin with a
// WebSocket upgrade, and a page on another site could otherwise join rooms (and learn who is
// in them) from a visitor's browser. The check is for browsers only: a program that is not a
// browser can send any Origin it likes, so it is no authentication (signed joins are).
import type { IncomingMessage } from 'node:http';
import { decodeWith, type Decoded } from '../src/core/decode.ts';
import * as v from 'valibot';

/** Decides whether a socket from `origin` (undefined: the client sent none) may connect. */
export type OriginPolicy = (origin: string | undefined, req?: IncomingMessage) => boolean;

/** Most origins a list may name (a configuration typo should not grow without bound). */
export const maxAllowedOrigins = 64;

const originSchema = v.pipe(
  v.string(),
  v.check((text) => text === '*' || normalisedOrigin(text) !== null, 'an origin is scheme://host[:port] with no path, e.g. https://mesh.example.org'),
);
const originListSchema = v.pipe(
  v.array(originSchema),
  v.minLength(1, 'name at least one origin'),
  v.maxLength(maxAllowedOrigins, `at most ${maxAllowedOrigins} origins`),
);

/**
 * Parses the --allowed-origins flag / ALLOWED_ORIGINS variable: a comma-separated list of
 * origins, or `*` for any origin.
 */
export function parseAllowedOrigins(text: string): Decoded<string[]> {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const decoded = decodeWith(originListSchema, items);
  return decoded.ok ? { ok: true, value: decoded.value.map((item) => (item === '*' ? item : (normalisedOrigin(item) as string))) } : decoded;
}

/**
 * The policy for a list of origins (none given: the default). Always allowed: a client that
 * sends no Origin (not a browser: the Node peer, tools) and a page this server itself served
 * (Origin host equals the request's Host). By default also any page on this machine
 * (localhost, 127.0.0.0/8, [::1], any port), so development setups work; with a list, the
 * listed origins instead; with `*`, everyone.
 */
export function originPolicy(allowed?: readonly string[]): OriginPolicy {
  if (allowed?.includes('*')) return () => true;
  const listed = new Set((allowed ?? []).map((item) => item.toLowerCase()));
  return (origin, req) => {
    if (origin === undefined) return true;
    const normal = normalisedOrigin(origin);
    if (normal === null) return false; // "null" (sandboxed frames, file:) and garbage
    if (sameOrigin(normal, req)) return true;
    if (allowed === undefined) return isLoopbackOrigin(normal);
    return listed.has(normal);
  };
}

/** `scheme://host[:port]` in lower case, or null when `text` is not an http(s) origin. */
export function normalisedOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return null;
  if (url.pathname !== '/' || text.endsWith('/')) return null;
  return url.origin.toLowerCase();
}

function sameOrigin(origin: string, req: IncomingMessage | undefined): boolean {
  const host = req?.headers.host;
  if (host === undefined) return false;
  return new URL(origin).host === host.toLowerCase();
}

function isLoopbackOrigin(origin: string): boolean {
  return isLoopbackHostname(new URL(origin).hostname);
}

/** A URL hostname (IPv6 in brackets) that can only mean this machine. */
export function isLoopbackHostname(hostname: string): boolean {
  hostname = hostname.toLowerCase();
  return hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]';
}
