// One process serves everything `npm start` needs: the built app, signaling at /signal, and
// /healthz for people and probes. The signaling logic itself lives in hub.ts so the Vite dev
// server can attach the very same code (vite-plugin.ts).
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { attachSignaling, type SignalingOptions, type SignalingStats } from './hub.ts';
import { createStaticHandler } from './static.ts';
import { signalingPath } from './protocol.ts';
import { clientConfigBody, clientConfigPath, type IceServerConfig, type IceTransportPolicy } from './ice-config.ts';
import { applySecurityHeaders } from './headers.ts';
import { originPolicy } from './origins.ts';
import { iceServersForPage, type TurnRestConfig } from './turn-credentials.ts';

export { attachSignaling, type SignalingHandle, type SignalingOptions, type SignalingStats } from './hub.ts';

export const defaultPort = 8080;
/** Every interface, so other devices on the LAN can open the app too. */
export const defaultHost = '0.0.0.0';
/** The repository's dist/, wherever the process was started from. */
export const defaultStaticDir = fileURLToPath(new URL('../dist/', import.meta.url));
export const healthPath = '/healthz';

export interface TabmeshServerOptions extends SignalingOptions {
  /** 0 picks a free port (tests). Default 8080. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** The built app. Default: the repository's dist/. */
  staticDir?: string;
  /** STUN/TURN servers handed to pages at /config.json. Default none. */
  iceServers?: IceServerConfig;
  /** 'relay' makes pages use TURN relays only (tests, or to hide addresses). Default 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /**
   * TURN servers that share a secret with this server (coturn `use-auth-secret`): every
   * /config.json gets them with a fresh short-lived credential (turn-credentials.ts).
   */
  turnRest?: TurnRestConfig;
  /** Wall-clock milliseconds for credential expiry (default Date.now); tests move it. */
  wallClockMs?: () => number;
}

export interface ListeningAddress {
  port: number;
  host: string;
  /** Where a browser on this machine opens the app. */
  url: string;
}

export interface TabmeshServer {
  httpServer: HttpServer;
  listen(): Promise<ListeningAddress>;
  close(): Promise<void>;
  stats(): SignalingStats;
}

export function createTabmeshServer(options: TabmeshServerOptions = {}): TabmeshServer {
  const port = options.port ?? defaultPort;
  const host = options.host ?? defaultHost;
  const serveStatic = createStaticHandler(options.staticDir ?? defaultStaticDir);
  const log = options.log ?? (() => {});

  const httpServer = createServer((req, res) => {
    applySecurityHeaders(res);
    try {
      if (pathOf(req) === healthPath) return health(req, res);
      if (pathOf(req) === clientConfigPath) return clientConfig(res);
      serveStatic(req, res);
    } catch (err) {
      log(`http: internal error for ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal error.\n');
    }
  });
  // Stricter than the hub's own default: this server's pages, this machine, or the listed origins.
  const allowedOrigins = typeof options.allowedOrigins === 'function' ? options.allowedOrigins : originPolicy(options.allowedOrigins);
  const signaling = attachSignaling(httpServer, { ...options, allowedOrigins });
  // attachSignaling leaves other upgrades alone (they may be Vite's); here nobody else wants them.
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if (pathOf(req) === signalingPath) return;
    socket.on('error', () => {});
    socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nWebSockets are served at ${signalingPath} only.\n`);
  });

  function clientConfig(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    const iceServers = iceServersForPage(options.iceServers ?? [], options.turnRest ?? null, (options.wallClockMs ?? Date.now)());
    res.end(clientConfigBody(iceServers, options.iceTransportPolicy ?? 'all'));
  }

  function health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const body = JSON.stringify({ ok: true, ...signaling.stats() });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  }

  return {
    httpServer,
    stats: () => signaling.stats(),
    listen: () =>
      new Promise<ListeningAddress>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        httpServer.once('error', onError);
        httpServer.listen(port, host, () => {
          httpServer.off('error', onError);
          const address = httpServer.address() as AddressInfo;
          resolve({ port: address.port, host, url: `http://${hostForUrl(host)}:${address.port}/` });
        });
      }),
    close: async () => {
      await signaling.close();
      if (!httpServer.listening) return;
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

/** A host as it goes in a URL a person can open: wildcards mean this machine. */
export function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
