// `tabmesh/server`: the signaling server as a library. Either a whole server (signaling at
// /signal, ICE settings at /config.json, /healthz, and optionally an app's built files), or
// signaling attached to an HTTP/HTTPS server the app already runs. `npm start` (main.ts) is
// built on this entry too.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { attachSignaling as attachToServer, type SignalingHandle, type SignalingOptions } from './hub.ts';
import { createTabmeshServer, type TabmeshServer, type TabmeshServerOptions } from './server.ts';

export { signalingPath } from './protocol.ts';
export { clientConfigPath, type IceServerConfig, type IceTransportPolicy } from './ice-config.ts';
export { defaultHost, defaultPort, healthPath, type ListeningAddress, type TabmeshServer, type TlsStats } from './server.ts';
export type { SignalingHandle, SignalingOptions, SignalingStats } from './hub.ts';
export type { TurnRestConfig } from './turn-credentials.ts';

/** What a call to this entry refused, in `SignalingServerError.code`. */
export type SignalingServerErrorCode = 'invalid-options' | 'invalid-port' | 'invalid-host' | 'invalid-static-dir' | 'invalid-server';

/** An argument of `createSignalingServer` or `attachSignaling` that will not do; `code` says which, the message what to pass instead. */
export class SignalingServerError extends Error {
  /** Which argument was refused. */
  readonly code: SignalingServerErrorCode;
  constructor(code: SignalingServerErrorCode, message: string) {
    super(message);
    this.name = 'SignalingServerError';
    this.code = code;
  }
}

/** Seams the tests of this repository use; not part of the public options. */
type TestSeams =
  'wallClockMs' | 'tlsHandshakeTimeoutMs' | 'firstByteDeadlineMs' | 'clusterHeartbeatMs' | 'clusterMemberTtlMs' | 'now' | 'seed' | 'quotaStore' | 'cluster';

/**
 * Options of `createSignalingServer`: where to listen, what to serve, ICE servers for pages,
 * TLS, allowed origins and hosts, a Redis cluster, and the abuse limits of `SignalingOptions`.
 */
export type SignalingServerOptions = Omit<TabmeshServerOptions, TestSeams | 'staticDir'> & {
  /**
   * A directory of built files to serve beside signaling (with a fallback to its index.html
   * for client-side routes), e.g. your app's `dist/`. Default: none — only /signal,
   * /config.json and /healthz are served.
   */
  staticDir?: string;
};

/**
 * Creates a complete Tabmesh server: WebSocket signaling at `/signal`, the pages' ICE settings
 * at `/config.json`, `/healthz`, and your built app when `staticDir` is given. Nothing listens
 * until `listen()`; `close()` stops it.
 *
 * ```ts
 * import { createSignalingServer } from 'tabmesh/server';
 * const server = createSignalingServer({ port: 8080, staticDir: 'dist' });
 * const { url } = await server.listen();
 * ```
 * @throws SignalingServerError when an option will not do (its `code` says which).
 */
export function createSignalingServer(options: SignalingServerOptions = {}): TabmeshServer {
  if (typeof options !== 'object' || options === null)
    throw new SignalingServerError('invalid-options', 'createSignalingServer takes an options object (or nothing), e.g. { port: 8080 }');
  const { port, host, staticDir } = options;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new SignalingServerError('invalid-port', `port must be an integer from 0 (any free port) to 65535, got ${String(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === ''))
    throw new SignalingServerError('invalid-host', `host must be an address or name to listen on such as '127.0.0.1' or '0.0.0.0', got ${String(host)}`);
  if (staticDir !== undefined && (typeof staticDir !== 'string' || staticDir === '')) {
    throw new SignalingServerError(
      'invalid-static-dir',
      `staticDir must be the path of a directory of built files (leave it out to serve none), got ${String(staticDir)}`,
    );
  }
  return createTabmeshServer({ ...options, staticDir: staticDir ?? null });
}

/**
 * Adds Tabmesh signaling to an HTTP or HTTPS server you already run: WebSocket upgrades at
 * `/signal` are taken; every other request and upgrade is left to your server. Pages then join
 * with their default signaling URL (their own origin). Without `/config.json` they use no
 * STUN/TURN servers unless `joinRoom` is given some.
 *
 * ```ts
 * import { createServer } from 'node:http';
 * import { attachSignaling } from 'tabmesh/server';
 * const http = createServer(app);
 * const signaling = attachSignaling(http);
 * http.listen(8080);
 * ```
 * @returns a handle with `stats()` and `close()` (closes the signaling sockets; your server stays).
 * @throws SignalingServerError when `server` is not a Node HTTP/HTTPS server.
 */
export function attachSignaling(server: HttpServer | HttpsServer, options: SignalingOptions = {}): SignalingHandle {
  const candidate = server as unknown as { on?: unknown; off?: unknown } | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.on !== 'function' || typeof candidate.off !== 'function') {
    throw new SignalingServerError('invalid-server', 'attachSignaling takes a Node http.Server or https.Server (from http.createServer or https.createServer)');
  }
  if (typeof options !== 'object' || options === null)
    throw new SignalingServerError('invalid-options', 'attachSignaling takes an options object (or nothing) as its second argument');
  return attachToServer(server, options);
}
