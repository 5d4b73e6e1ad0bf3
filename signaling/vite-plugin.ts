// `npm run dev` and `vite preview`: the same signaling code as `npm start`, attached to Vite's
// own HTTP server, so the page finds signaling at /signal on its own origin in every mode.
// Vite's HMR socket uses another path on the same server; hub.ts leaves its upgrades alone.
//
// The dev server is hardened like the production one: every response carries the security
// headers of headers.ts (with the dev policy: see devContentSecurityPolicy), and /signal
// upgrades pass the same origin check (origins.ts: own pages, localhost, or ALLOWED_ORIGINS).
// `npm run dev -- --host` puts the dev server on the LAN, so this is not only about localhost.
import type { Server as HttpServer } from 'node:http';
import type { Connect, Plugin } from 'vite';
import { attachSignaling, type SignalingHandle, type SignalingOptions } from './hub.ts';
import { healthPath } from './server.ts';
import { clientConfigBody, clientConfigPath, parseIceServers } from './ice-config.ts';
import { devSecurityHeaders } from './headers.ts';
import { originPolicy, parseAllowedOrigins } from './origins.ts';

export function signalingDevPlugin(options: SignalingOptions = {}): Plugin {
  const attach = (httpServer: HttpServer | null, middlewares: Connect.Server, warn: (msg: string) => void) => {
    // Headers first, so every answer of Vite's own middlewares (pages, modules, errors) has them.
    middlewares.use(securityHeadersMiddleware());
    // Middleware mode has no HTTP server of Vite's own; whoever embeds it must attach signaling.
    if (!httpServer) return;
    const signaling = attachSignaling(httpServer, { log: warn, ...options, allowedOrigins: devOriginPolicy(options.allowedOrigins) });
    httpServer.once('close', () => void signaling.close());
    middlewares.use(healthMiddleware(signaling));
    middlewares.use(clientConfigMiddleware());
  };
  return {
    name: 'tabmesh-signaling',
    configureServer(server) {
      attach(server.httpServer as HttpServer | null, server.middlewares, (msg) => server.config.logger.warn(msg));
    },
    configurePreviewServer(server) {
      attach(server.httpServer as HttpServer, server.middlewares, (msg) => server.config.logger.warn(msg));
    },
  };
}

/**
 * The production server's origin rule: a predicate passed in is used as it is; a list (or
 * ALLOWED_ORIGINS) names the origins; otherwise own pages, localhost and non-browser clients.
 */
function devOriginPolicy(given: SignalingOptions['allowedOrigins']): NonNullable<SignalingOptions['allowedOrigins']> {
  if (typeof given === 'function') return given;
  if (given !== undefined) return originPolicy(given);
  const fromEnv = process.env['ALLOWED_ORIGINS'] ? parseAllowedOrigins(process.env['ALLOWED_ORIGINS']) : null;
  if (fromEnv && !fromEnv.ok) throw new Error(`ALLOWED_ORIGINS: ${fromEnv.error}`);
  return originPolicy(fromEnv?.value);
}

function securityHeadersMiddleware(): Connect.NextHandleFunction {
  return (_req, res, next) => {
    for (const [name, value] of Object.entries(devSecurityHeaders)) res.setHeader(name, value);
    next();
  };
}

function healthMiddleware(signaling: SignalingHandle): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = req.url ?? '/';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    if (path !== healthPath || req.method !== 'GET') return next();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ ok: true, ...signaling.stats() }));
  };
}

/** The dev server hands out the same /config.json, with ICE servers from ICE_SERVERS if set. */
function clientConfigMiddleware(): Connect.NextHandleFunction {
  const fromEnv = process.env['ICE_SERVERS'] ? parseIceServers(process.env['ICE_SERVERS']) : null;
  if (fromEnv && !fromEnv.ok) throw new Error(`ICE_SERVERS: ${fromEnv.error}`);
  const body = clientConfigBody(fromEnv?.value ?? []);
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== clientConfigPath || req.method !== 'GET') return next();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  };
}
