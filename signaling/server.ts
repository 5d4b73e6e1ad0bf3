// One process serves everything `npm start` needs: the built app, signaling at /signal, and
// /healthz for people and probes. The signaling logic itself lives in hub.ts so the Vite dev
// server can attach the very same code (vite-plugin.ts).
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { attachSignaling, type SignalingOptions, type SignalingStats } from './hub.ts';
import { createStaticHandler } from './static.ts';
import { signalingPath } from './protocol.ts';
import { clientConfigBody, clientConfigPath, type IceServerConfig, type IceTransportPolicy } from './ice-config.ts';
import { applySecurityHeaders } from './headers.ts';
import { originPolicy } from './origins.ts';
import { iceServersForPage, type TurnRestConfig } from './turn-credentials.ts';
import { createProtocolFront, firstByteDeadlineMs, type FrontCounters } from './tls-front.ts';
import { httpsRedirectTarget, sendBadHost, sendHttpsRedirect } from './https-redirect.ts';
import { hostname, networkInterfaces } from 'node:os';
import { hostPolicy } from './host-allowlist.ts';
import { refuseMisdirectedHost, refuseUnlessReadOnly } from './http-guards.ts';
import { RedisCluster } from './cluster/redis-cluster.ts';
import * as limits from './limits.ts';

export { attachSignaling, type SignalingHandle, type SignalingOptions, type SignalingStats } from './hub.ts';

export const defaultPort = 8080;
/** Every interface, so other devices on the LAN can open the app too. */
export const defaultHost = '0.0.0.0';
/**
 * The repository's dist/, wherever the process was started from. Also right from the compiled
 * lib/*.js (scripts/build-lib.mjs keeps every output file one level below the package root).
 */
export const defaultStaticDir = fileURLToPath(new URL('../dist/', import.meta.url));
export const healthPath = '/healthz';
/**
 * What the server makes and keeps (the generated TLS certificate): .tabmesh-data/ in the
 * repository, beside dist/ and ignored by git, so a checkout keeps its certificate — and the
 * fingerprint people accepted — across restarts.
 */
export const defaultDataDir = fileURLToPath(new URL('../.tabmesh-data/', import.meta.url));

export interface TabmeshServerOptions extends SignalingOptions {
  /** 0 picks a free port (tests). Default 8080. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** The built app. Default: the repository's dist/. null: no files, only signaling, /config.json and /healthz. */
  staticDir?: string | null;
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
  /**
   * A certificate and key (PEM): the port then speaks HTTPS too (tls-front.ts tells the two
   * apart by the first byte), and plain requests for hosts other than loopback are redirected
   * to https (https-redirect.ts). Default: plain HTTP only.
   */
  tls?: { cert: string; key: string };
  /** Tests shorten the deadlines for a half TLS handshake and for a connection that sends nothing. */
  tlsHandshakeTimeoutMs?: number;
  firstByteDeadlineMs?: number;
  /** The URLs other devices open (as printed at start-up); pages read them in /config.json for the welcome card's link and QR code. */
  lanUrls?: readonly string[];
  /** SHA-256 fingerprint of a self-signed certificate, for the welcome card (people compare it with the browser's warning). */
  certFingerprint?: string;
  /** Host names served besides this machine's own names and addresses (host-allowlist.ts); `*` for any. */
  allowedHostNames?: string[];
  /**
   * `redis://…`: this server becomes one member of a cluster sharing rooms over that Redis
   * (cluster/redis-cluster.ts, docs/deployment.md). Default: none, a single process.
   */
  redisUrl?: string;
  /** Tests shorten the cluster's heartbeat and member TTL (cluster/redis-cluster.ts). */
  clusterHeartbeatMs?: number;
  clusterMemberTtlMs?: number;
}

/** A TLS handshake that has not finished after this long is dropped (a scanner's half hello). */
export const tlsHandshakeTimeoutMs = 10_000;

/** What the TLS side refused, in /healthz: bad input is counted, never fatal. */
export interface TlsStats extends FrontCounters {
  /** Handshakes that failed: garbage after 0x16, a truncated hello, a client that refused our certificate. */
  handshakeFailures: number;
  /** Plain-HTTP requests sent on to https. */
  redirectsToHttps: number;
}

export interface ListeningAddress {
  port: number;
  host: string;
  /** Where a browser on this machine opens the app. */
  url: string;
}

export interface TabmeshServer {
  /** Every request and WebSocket upgrade passes through it, also those that arrived over TLS. */
  httpServer: HttpServer;
  /** The TLS side, when `tls` was given. */
  httpsServer: HttpsServer | null;
  listen(): Promise<ListeningAddress>;
  close(): Promise<void>;
  stats(): SignalingStats;
}

export function createTabmeshServer(options: TabmeshServerOptions = {}): TabmeshServer {
  const port = options.port ?? defaultPort;
  const host = options.host ?? defaultHost;
  const serveStatic = options.staticDir === null ? noStaticFiles : createStaticHandler(options.staticDir ?? defaultStaticDir);
  const log = options.log ?? (() => {});
  // DNS rebinding: only Hosts this server is known by (host-allowlist.ts); the LAN URLs are known after listening.
  const allowedHosts =
    options.allowedHosts ??
    hostPolicy({
      listenHost: host,
      interfaces: networkInterfaces,
      allowed: [...(options.allowedHostNames ?? []), hostname(), `${hostname()}.local`],
      laterNames: () => (options.lanUrls ?? []).map((url) => new URL(url).hostname),
    });

  const tlsStats: TlsStats = { silentConnections: 0, handshakeFailures: 0, redirectsToHttps: 0 };
  const redirectExempt = new Set([healthPath, clientConfigPath]);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    applySecurityHeaders(res);
    try {
      if (options.tls && !(req.socket as TLSSocket).encrypted) {
        const target = httpsRedirectTarget(req, redirectExempt);
        if (target === 'bad-host') return sendBadHost(res);
        if (target !== null) {
          tlsStats.redirectsToHttps++;
          return sendHttpsRedirect(res, target);
        }
      }
      if (refuseMisdirectedHost(allowedHosts, req, res)) return;
      if (pathOf(req) === healthPath) return health(req, res);
      if (pathOf(req) === clientConfigPath) return refuseUnlessReadOnly(req, res) ? undefined : clientConfig(res);
      serveStatic(req, res);
    } catch (err) {
      log(`http: internal error for ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal error.\n');
    }
  };
  const httpServer = createServer(onRequest);
  const httpsServer = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: options.tlsHandshakeTimeoutMs ?? tlsHandshakeTimeoutMs }, onRequest)
    : null;
  if (httpsServer) {
    // One hub for both: upgrades that arrived over TLS go where the plain ones go.
    httpsServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => httpServer.emit('upgrade', req, socket, head));
    // Node closes the socket after a failed handshake; all that is left is to count it.
    httpsServer.on('tlsClientError', () => {
      tlsStats.handshakeFailures++;
    });
  }
  // With TLS, a front takes the port and hands each socket to one of the two; without, the HTTP server listens itself.
  const front = httpsServer ? createProtocolFront(httpServer, httpsServer, tlsStats, options.firstByteDeadlineMs ?? firstByteDeadlineMs) : null;
  const listener: NetServer = front ? front.server : httpServer;
  // Stricter than the hub's own default: this server's pages, this machine, or the listed origins.
  const allowedOrigins = typeof options.allowedOrigins === 'function' ? options.allowedOrigins : originPolicy(options.allowedOrigins);
  const cluster = options.cluster ?? (options.redisUrl ? clusterFor(options.redisUrl, options, log) : undefined);
  const signaling = attachSignaling(httpServer, { ...options, allowedOrigins, allowedHosts, ...(cluster ? { cluster } : {}) });
  // attachSignaling leaves other upgrades alone (they may be Vite's); here nobody else wants them.
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if (pathOf(req) === signalingPath) return;
    socket.on('error', () => {});
    socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nWebSockets are served at ${signalingPath} only.\n`);
  });

  function clientConfig(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    const iceServers = iceServersForPage(options.iceServers ?? [], options.turnRest ?? null, (options.wallClockMs ?? Date.now)());
    const share = { lanUrls: options.lanUrls ?? [], ...(options.certFingerprint ? { certFingerprint: options.certFingerprint } : {}) };
    res.end(clientConfigBody(iceServers, options.iceTransportPolicy ?? 'all', share));
  }

  function health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const body = JSON.stringify({ ok: true, ...signaling.stats(), ...(httpsServer ? { tls: tlsStats } : {}) });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  }

  return {
    httpServer,
    httpsServer,
    stats: () => signaling.stats(),
    listen: () =>
      new Promise<ListeningAddress>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        listener.once('error', onError);
        listener.listen(port, host, () => {
          listener.off('error', onError);
          if (front) {
            // The two servers never listen themselves, but their header and request timeouts
            // (slow clients) start on 'listening': start them with the front.
            httpServer.emit('listening');
            httpsServer?.emit('listening');
          }
          const address = listener.address() as AddressInfo;
          cluster?.setAddress(`http://${hostForUrl(host)}:${address.port}/`);
          resolve({ port: address.port, host, url: `http://${hostForUrl(host)}:${address.port}/` });
        });
      }),
    close: async () => {
      await signaling.close();
      if (!listener.listening) return;
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        httpServer.closeAllConnections();
        if (front) {
          // Not listening, so close() only stops their timers (and reports "not running").
          httpServer.close(() => {});
          httpsServer?.close(() => {});
          front.destroyAll();
        }
      });
    },
  };
}

function clusterFor(url: string, options: TabmeshServerOptions, log: (line: string) => void): RedisCluster {
  return new RedisCluster({
    url,
    log,
    caps: {
      maxNodesPerRoom: options.maxNodesPerRoom ?? limits.maxNodesPerRoom,
      maxSeatsPerAddressPerRoom: options.maxSeatsPerAddressPerRoom ?? limits.maxSeatsPerAddressPerRoom,
      maxRoomsPerAddress: options.maxRoomsPerAddress ?? limits.maxRoomsPerAddress,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? limits.maxConnectionsPerAddress,
    },
    ...(options.clusterHeartbeatMs !== undefined ? { heartbeatMs: options.clusterHeartbeatMs } : {}),
    ...(options.clusterMemberTtlMs !== undefined ? { ttlMs: options.clusterMemberTtlMs } : {}),
  });
}

/** A host as it goes in a URL a person can open: wildcards mean this machine. */
export function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** A server given `staticDir: null` serves no files: the app is served by someone else. */
function noStaticFiles(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`Not found. This Tabmesh server serves signaling at ${signalingPath}, ${clientConfigPath} and ${healthPath} only.\n`);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
