// Guards for the HTTP side of the server (server.ts), each a check plus the answer that says
// what was wrong: a request for a Host this server is not known by (DNS rebinding, see
// host-allowlist.ts), and a method other than GET or HEAD on a read-only resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostPolicy } from './host-allowlist.ts';

/**
 * Answers 421 Misdirected Request and returns true when the request's Host is not allowed;
 * returns false (and writes nothing) when it is.
 */
export function refuseMisdirectedHost(policy: HostPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  if (policy(req.headers.host)) return false;
  res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end('This server does not answer to that host name. Open it under its own address, or add the name with --allowed-hosts.\n');
  return true;
}

/**
 * Answers 405 with `Allow: GET, HEAD` and returns true for any other method; returns false
 * (and writes nothing) for GET and HEAD.
 */
export function refuseUnlessReadOnly(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('Only GET and HEAD are allowed here.\n');
  return true;
}
