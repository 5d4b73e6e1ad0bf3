// `npm run dev` and `vite preview`: the same signaling code as `npm start`, attached to Vite's
// own HTTP server, so the page finds signaling at /signal on its own origin in every mode.
// Vite's HMR socket uses another path on the same server; hub.ts leaves its upgrades alone.
import type { Server as HttpServer } from 'node:http';
import type { Connect, Plugin } from 'vite';
import { attachSignaling, type SignalingHandle, type SignalingOptions } from './hub.ts';
import { healthPath } from './server.ts';
import { clientConfigBody, clientConfigPath, parseIceServers } from './ice-config.ts';

export function signalingDevPlugin(options: SignalingOptions = {}): Plugin {
  const attach = (httpServer: HttpServer | null, middlewares: Connect.Server, warn: (msg: string) => void) => {
    // Middleware mode has no HTTP server of Vite's own; whoever embeds it must attach signaling.
    if (!httpServer) return;
    const signaling = attachSignaling(httpServer, { log: warn, ...options });
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
