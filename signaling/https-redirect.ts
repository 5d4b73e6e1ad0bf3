// Plain HTTP from another device is a dead end: the page would load but, not being a secure
// context, find no crypto.subtle and no Web Locks. So when the server also speaks TLS, a plain
// request for any host but this machine's loopback names goes to the same host and port over
// https (the port tells TLS from HTTP by the first byte: tls-front.ts). Loopback stays plain:
// http://localhost is a secure context already. /config.json and /healthz stay plain too, for
// programs (the Node peer with --signal ws://…, probes) that need no secure context and may not
// trust the self-signed certificate.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackHostname } from './origins.ts';

/** Where a plain request should go instead, or null to serve it as it is. */
export function httpsRedirectTarget(req: IncomingMessage, exemptPaths: ReadonlySet<string>): string | null | 'bad-host' {
  const host = req.headers.host;
  if (host === undefined || host === '') return null; // not a browser (every browser sends Host)
  let parsed: URL;
  try {
    parsed = new URL(`http://${host}`);
  } catch {
    return 'bad-host';
  }
  // A Host header is host[:port] and nothing else; anything more is not ours to send people to.
  if (parsed.host !== host.toLowerCase() && `${parsed.hostname}:80` !== host.toLowerCase()) return 'bad-host';
  if (isLoopbackHostname(parsed.hostname)) return null;
  const url = req.url ?? '/';
  const path = url.startsWith('/') ? url : '/';
  const pathname = path.split('?')[0] as string;
  if (exemptPaths.has(pathname)) return null;
  return `https://${host}${path}`;
}

/** 308 keeps the method; the body is for a person whose client shows it. */
export function sendHttpsRedirect(res: ServerResponse, target: string): void {
  const safe = target.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(308, { Location: target, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><title>Use HTTPS</title><p>Tabmesh needs a secure connection on other devices: open <a href="${safe}">${safe}</a>.</p>\n`);
}

export function sendBadHost(res: ServerResponse): void {
  res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('Bad Host header.\n');
}
