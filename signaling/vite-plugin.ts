// `npm run dev` and `vite preview`: the same signaling code as `npm start`, attached to Vite's
// own HTTP server, so the page finds signaling at /signal on its own origin in every mode.
// Vite's HMR socket uses another path on the same server; hub.ts leaves its upgrades alone.
//
// The dev server is hardened like the production one: every response carries the security
// headers of headers.ts (with the dev policy: see devContentSecurityPolicy), and /signal
// upgrades pass the same origin check (origins.ts: own pages, localhost, or ALLOWED_ORIGINS).
// `npm run dev -- --host` puts the dev server on the LAN, so this is not only about localhost.
// It reads the production server's environment variables by the same rules (cli.ts):
// ICE_SERVERS, ICE_TRANSPORT_POLICY, ALLOWED_ORIGINS and TABMESH_TURN_* (short-lived TURN
// credentials); flags are Vite's, so only the variables apply.
//
// HTTPS for phones and laptops in development: `TABMESH_DEV_HTTPS=1 npm run dev -- --host`
// serves the dev server over https with the certificate `npm start` uses — the generated one in
// the data directory (TABMESH_DATA_DIR, default .tabmesh-data/), or TABMESH_TLS_CERT and
// TABMESH_TLS_KEY — so a device that accepted it once is not asked again. Vite's own port then
// speaks HTTPS only (it has no first-byte switch); open https://localhost:5173/ on this machine.
import type { Server as HttpServer } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { Connect, Plugin, ServerOptions } from 'vite';
import { attachSignaling, type SignalingHandle, type SignalingOptions } from './hub.ts';
import { healthPath } from './server.ts';
import { clientConfigBody, clientConfigPath } from './ice-config.ts';
import { devSecurityHeaders } from './headers.ts';
import { originPolicy } from './origins.ts';
import { parseCliArgs } from './cli.ts';
import { iceServersForPage } from './turn-credentials.ts';
import { certificateNames, prepareTls, type PreparedTls } from './tls-setup.ts';
import { certificateLines } from './startup-lines.ts';

/** The environment variables of the production server that mean the same in dev. */
const sharedEnvNames = ['ICE_SERVERS', 'ICE_TRANSPORT_POLICY', 'ALLOWED_ORIGINS', 'TABMESH_TURN_URLS', 'TABMESH_TURN_SECRET', 'TABMESH_TURN_TTL'] as const;

type DevConfig = Extract<ReturnType<typeof parseCliArgs>, { kind: 'run' }>;

/** The shared variables, checked by the production server's rules; a bad one stops the dev server with its reason. */
function devConfigFromEnv(env: NodeJS.ProcessEnv): DevConfig {
  const shared = Object.fromEntries(sharedEnvNames.map((name) => [name, env[name]]));
  const parsed = parseCliArgs([], shared);
  if (parsed.kind === 'error') throw new Error(parsed.message);
  if (parsed.kind !== 'run') throw new Error('unexpected help request from the environment');
  return parsed;
}

/**
 * The dev server's HTTPS options when TABMESH_DEV_HTTPS=1, from the same certificate as
 * `npm start`; undefined when off. A certificate that will not do stops the dev server with
 * the same line `npm start` prints (the file and the problem).
 */
export async function devHttpsFromEnv(env: NodeJS.ProcessEnv): Promise<(ServerOptions['https'] & { tls: PreparedTls }) | undefined> {
  const on = env['TABMESH_DEV_HTTPS'];
  if (on === undefined || on === '' || /^(0|false|no)$/i.test(on)) return undefined;
  if (!/^(1|true|yes)$/i.test(on)) throw new Error(`TABMESH_DEV_HTTPS must be 1 (HTTPS on) or 0, got "${on}"`);
  const names = ['TABMESH_DATA_DIR', 'TABMESH_TLS_CERT', 'TABMESH_TLS_KEY'] as const;
  const parsed = parseCliArgs([], Object.fromEntries(names.map((name) => [name, env[name]])));
  if (parsed.kind !== 'run') throw new Error(parsed.kind === 'error' ? parsed.message : 'unexpected help request from the environment');
  // Named for every interface, as npm start names it, so both reuse the one stored certificate.
  const tls = await prepareTls(parsed.tls, resolve(parsed.dataDir), certificateNames('0.0.0.0', networkInterfaces(), hostname()), Date.now());
  if (!tls) return undefined;
  return { cert: tls.material.cert, key: tls.material.key, tls };
}

export function signalingDevPlugin(options: SignalingOptions & { env?: NodeJS.ProcessEnv } = {}): Plugin {
  const { env = process.env, ...signalingOptions } = options;
  /** What other devices open (Vite's Network URLs), for /config.json; known once Vite listens. */
  let lanUrls: () => readonly string[] = () => [];
  /** The certificate when TABMESH_DEV_HTTPS=1 turned HTTPS on (set by the config hook). */
  let devTls: PreparedTls | null = null;
  const attach = (httpServer: HttpServer | null, middlewares: Connect.Server, warn: (msg: string) => void) => {
    const config = devConfigFromEnv(env);
    // Headers first, so every answer of Vite's own middlewares (pages, modules, errors) has them.
    middlewares.use(securityHeadersMiddleware());
    // Middleware mode has no HTTP server of Vite's own; whoever embeds it must attach signaling.
    if (!httpServer) return;
    const signaling = attachSignaling(httpServer, { log: warn, ...signalingOptions, allowedOrigins: devOriginPolicy(signalingOptions.allowedOrigins, config) });
    httpServer.once('close', () => void signaling.close());
    middlewares.use(healthMiddleware(signaling));
    middlewares.use(clientConfigMiddleware(config, () => lanUrls()));
  };
  return {
    name: 'tabmesh-signaling',
    async config() {
      const prepared = await devHttpsFromEnv(env);
      if (!prepared) return {};
      const { tls, ...https } = prepared;
      devTls = tls;
      return { server: { https }, preview: { https } };
    },
    configureServer(server) {
      lanUrls = () => server.resolvedUrls?.network ?? [];
      // Vite prints the https URLs; the fingerprint to compare with a device's warning is ours to print.
      const tls = devTls;
      if (tls) server.httpServer?.once('listening', () => server.config.logger.info(certificateLines(tls).join('\n')));
      attach(server.httpServer as HttpServer | null, server.middlewares, (msg) => server.config.logger.warn(msg));
    },
    configurePreviewServer(server) {
      lanUrls = () => server.resolvedUrls?.network ?? [];
      attach(server.httpServer as HttpServer, server.middlewares, (msg) => server.config.logger.warn(msg));
    },
  };
}

/**
 * The production server's origin rule: a predicate passed in is used as it is; a list (or
 * ALLOWED_ORIGINS) names the origins; otherwise own pages, localhost and non-browser clients.
 */
function devOriginPolicy(given: SignalingOptions['allowedOrigins'], config: DevConfig): NonNullable<SignalingOptions['allowedOrigins']> {
  if (typeof given === 'function') return given;
  return originPolicy(given ?? config.allowedOrigins);
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

/** The dev server hands out the same /config.json: ICE servers, the policy, fresh TURN credentials. */
function clientConfigMiddleware(config: DevConfig, lanUrls: () => readonly string[]): Connect.NextHandleFunction {
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== clientConfigPath || req.method !== 'GET') return next();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(clientConfigBody(iceServersForPage(config.iceServers, config.turnRest, Date.now()), config.iceTransportPolicy, { lanUrls: lanUrls() }));
  };
}
