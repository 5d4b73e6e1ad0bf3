// The command line of `npm start` / `npm run serve`, parsed without side effects so the rules
// (flags beat environment, bad input is named) are tested without starting a process.
import type { NetworkInterfaceInfo } from 'node:os';
import { defaultDataDir, defaultHost, defaultPort, hostForUrl } from './server.ts';
import { parseIceServers, parseIceTransportPolicy, type IceServerConfig, type IceTransportPolicy } from './ice-config.ts';
import { parseAllowedOrigins } from './origins.ts';
import { parseTrustedProxies, type TrustedProxies } from './client-address.ts';
import { parseAllowedHosts } from './host-allowlist.ts';
import {
  checkTurnSecret,
  defaultTurnCredentialTtlS,
  maxTurnCredentialTtlS,
  minTurnCredentialTtlS,
  parseTurnTtl,
  parseTurnUrls,
  type TurnRestConfig,
} from './turn-credentials.ts';

export const usage = `Usage: tsx signaling/main.ts [--port N] [--host ADDRESS] [--static DIR] [--ice-servers JSON]
                           [--data-dir DIR] [--tls-cert FILE --tls-key FILE | --no-tls]

Serves the built Tabmesh app and its signaling server (WebSocket at /signal, health at /healthz).

HTTP and HTTPS share the one port: a connection that starts with a TLS handshake gets HTTPS,
anything else plain HTTP. This machine opens http://localhost:PORT/ (a secure context already);
other devices open https://<this machine's address>:PORT/, because browsers give a plain-HTTP
page on any other host no WebCrypto and no Web Locks, and Tabmesh cannot start without them.
A plain-HTTP page request for a host other than localhost is redirected to https (signaling,
/config.json and /healthz answer on both, for programs such as tabmesh-node). Signaling runs
at /signal on the page's own origin: ws:// on http, wss:// on https.

Options:
  --port N        port to listen on (default ${defaultPort}; also the PORT environment variable; 0 picks a free port)
  --host ADDRESS  interface to listen on (default ${defaultHost}, every interface, so other devices
                  on your network can join; also the HOST environment variable)
  --static DIR    directory with the built app (default: the repository's dist/, made by npm run build)
  --ice-servers JSON
                  STUN/TURN servers for the pages, as a JSON array of RTCIceServer objects, e.g.
                  '[{"urls":"turn:turn.example.org:3478","username":"u","credential":"p"}]'
                  (default none, enough on one machine or a LAN; also the ICE_SERVERS variable)
  --ice-transport-policy all|relay
                  relay: pages connect through the TURN servers only (default all; also the
                  ICE_TRANSPORT_POLICY variable)
  --allowed-origins LIST
                  comma-separated origins whose pages may use signaling, e.g.
                  'https://mesh.example.org,https://lab.example.org', or * for any (default: pages
                  this server served, and pages on localhost; also ALLOWED_ORIGINS)
  --allowed-hosts LIST
                  comma-separated host names this server answers to besides this machine's own
                  names and addresses, e.g. 'mesh.example.org', or '.example.org' for a domain, or
                  * for any; requests for other names are refused, so DNS rebinding fails (also
                  TABMESH_ALLOWED_HOSTS)
  --trusted-proxies LIST
                  comma-separated addresses or CIDR ranges of load balancers or reverse proxies
                  whose X-Forwarded-For is believed, e.g. '10.0.0.0/8,127.0.0.1': the limits per
                  client address then count the client behind them (default none; also
                  TABMESH_TRUSTED_PROXIES)
  --turn-urls LIST
                  comma-separated turn:/turns: URLs of a TURN server run with coturn's
                  use-auth-secret, e.g. 'turn:turn.example.org:3478'; each page gets them in
                  /config.json with a fresh short-lived credential (also TABMESH_TURN_URLS)
  --turn-secret SECRET
                  the static-auth-secret shared with that TURN server. Prefer the
                  TABMESH_TURN_SECRET variable: a command line is visible to every user (ps)
  --turn-ttl SECONDS
                  how long an issued TURN credential is valid (default ${defaultTurnCredentialTtlS},
                  ${minTurnCredentialTtlS}–${maxTurnCredentialTtlS}; also TABMESH_TURN_TTL)
  --redis URL     make this server one member of a cluster that shares rooms over Redis, e.g.
                  redis://127.0.0.1:6379 (rediss:// for TLS; a password as redis://:PASS@host:port);
                  run several such servers behind a load balancer, see docs/deployment.md
                  (default: none, one process is the whole service; also TABMESH_REDIS_URL)
  --data-dir DIR  where the server keeps what it makes: the generated certificate, in DIR/tls/
                  (default: .tabmesh-data/ in the repository; also TABMESH_DATA_DIR)
  --tls-cert FILE, --tls-key FILE
                  serve this certificate (PEM; a full chain is fine) and its unencrypted private
                  key instead of the generated one, e.g. from mkcert or a public CA (also
                  TABMESH_TLS_CERT and TABMESH_TLS_KEY). Without them, a self-signed certificate
                  for localhost, this host name and every LAN address is made on first start,
                  kept in the data directory, and made again when it nears expiry or the
                  addresses change; its SHA-256 fingerprint is printed at start-up
  --no-tls        plain HTTP only (also TABMESH_NO_TLS=1): then only this machine's tabs can run
                  Tabmesh, unless a reverse proxy in front of it adds HTTPS
  -h, --help      show this help

Exit codes: 0 after a clean shutdown, 1 when the port cannot be opened, 2 for bad usage or a
certificate, key or data directory that cannot be used (the line names the file).
`;

/** Each option that takes a value, and the environment variable it falls back to (flags win). */
const envOfOption = new Map<string, string | undefined>([
  ['--port', 'PORT'],
  ['--host', 'HOST'],
  ['--static', undefined],
  ['--ice-servers', 'ICE_SERVERS'],
  ['--ice-transport-policy', 'ICE_TRANSPORT_POLICY'],
  ['--allowed-origins', 'ALLOWED_ORIGINS'],
  ['--allowed-hosts', 'TABMESH_ALLOWED_HOSTS'],
  ['--trusted-proxies', 'TABMESH_TRUSTED_PROXIES'],
  ['--turn-urls', 'TABMESH_TURN_URLS'],
  ['--turn-secret', 'TABMESH_TURN_SECRET'],
  ['--turn-ttl', 'TABMESH_TURN_TTL'],
  ['--redis', 'TABMESH_REDIS_URL'],
  ['--data-dir', 'TABMESH_DATA_DIR'],
  ['--tls-cert', 'TABMESH_TLS_CERT'],
  ['--tls-key', 'TABMESH_TLS_KEY'],
]);
/** Options that take no value. */
const switchNames = new Set(['--no-tls']);

/**
 * Every environment variable `parseCliArgs` reads: harnesses that start the server (tests,
 * benches) clear them, so the shell they run in cannot change the setup.
 */
export const serverEnvNames: readonly string[] = [...[...envOfOption.values()].filter((name): name is string => name !== undefined), 'TABMESH_NO_TLS'];

/** One setting's text and where it came from (a flag or an environment variable), for error messages. */
interface Setting {
  text: string | undefined;
  source: string;
}
/** The settings as given, by option name, before any is checked. */
interface Given {
  readonly settings: Map<string, Setting>;
  noTls: { on: boolean; source: string };
}
type Failure = { kind: 'error'; message: string };

/** How the server gets its certificate: made and kept in the data directory, given, or none. */
export type TlsChoice = { kind: 'generated' } | { kind: 'supplied'; certFile: string; keyFile: string } | { kind: 'off' };

export type CliCommand =
  | {
      kind: 'run';
      port: number;
      host: string;
      staticDir: string | undefined;
      iceServers: IceServerConfig;
      iceTransportPolicy: IceTransportPolicy;
      /** undefined: the default policy (own pages and localhost). */
      allowedOrigins: string[] | undefined;
      /** TURN servers with short-lived credentials (coturn use-auth-secret); null: none. */
      turnRest: TurnRestConfig | null;
      /** Extra host names served (host-allowlist.ts); undefined: this machine's own only. */
      allowedHostNames: string[] | undefined;
      /** Proxies whose X-Forwarded-For is believed; undefined: none. */
      trustedProxies: TrustedProxies | undefined;
      /** Where the generated certificate is kept. */
      dataDir: string;
      tls: TlsChoice;
      /** The cluster's Redis (redis:// or rediss://); undefined: a single process. */
      redisUrl: string | undefined;
    }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export function parseCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  const given = fromEnvironment(env);
  if ('kind' in given) return given;
  const problem = applyArgv(argv, given);
  if (problem) return problem;
  return settle(given);
}

/** The settings the environment gives; an empty variable counts as unset. */
function fromEnvironment(env: Readonly<Record<string, string | undefined>>): Given | Failure {
  const given: Given = { settings: new Map(), noTls: { on: false, source: '' } };
  for (const [option, name] of envOfOption) {
    const text = name !== undefined && env[name] !== '' ? env[name] : undefined;
    given.settings.set(option, { text, source: name ?? option });
  }
  const noTlsEnv = env.TABMESH_NO_TLS !== '' ? env.TABMESH_NO_TLS : undefined;
  if (noTlsEnv !== undefined) {
    if (/^(1|true|yes)$/i.test(noTlsEnv)) given.noTls = { on: true, source: 'TABMESH_NO_TLS' };
    else if (!/^(0|false|no)$/i.test(noTlsEnv)) return { kind: 'error', message: `TABMESH_NO_TLS must be 1 (TLS off) or 0, got "${noTlsEnv}"` };
  }
  return given;
}

/** Flags over the environment: `--name value` or `--name=value`; help or the first problem ends the reading. */
function applyArgv(argv: readonly string[], given: Given): CliCommand | null {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (switchNames.has(arg)) {
      given.noTls = { on: true, source: '--no-tls' };
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (switchNames.has(name)) return { kind: 'error', message: `${name} takes no value` };
    if (!envOfOption.has(name)) {
      return { kind: 'error', message: arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument ${arg}` };
    }
    let value: string | undefined;
    if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || value === '' || (value.startsWith('--') && eq < 0)) {
      return { kind: 'error', message: `${name} needs a value` };
    }
    given.settings.set(name, { text: value, source: name });
  }
  return null;
}

/** Each setting checked, in a fixed order so that the first problem named is always the same. */
function settle(given: Given): CliCommand {
  const setting = (option: string): Setting => given.settings.get(option) as Setting;
  const port = portOf(setting('--port'));
  if (typeof port !== 'number') return port;
  const iceServers = parsed(setting('--ice-servers'), parseIceServers, []);
  if ('kind' in iceServers) return iceServers;
  const iceTransportPolicy = parsed<IceTransportPolicy>(setting('--ice-transport-policy'), parseIceTransportPolicy, 'all');
  if (typeof iceTransportPolicy !== 'string') return iceTransportPolicy;
  const allowedOrigins = parsed(setting('--allowed-origins'), parseAllowedOrigins, undefined);
  if (allowedOrigins !== undefined && 'kind' in allowedOrigins) return allowedOrigins;
  const turnRest = turnRestOf(setting('--turn-urls'), setting('--turn-secret'), setting('--turn-ttl'));
  if (turnRest !== null && 'kind' in turnRest) return turnRest;
  const tls = tlsOf(setting('--tls-cert'), setting('--tls-key'), given.noTls);
  if (tls.kind === 'error') return tls;
  const allowedHostNames = parsed(setting('--allowed-hosts'), parseAllowedHosts, undefined);
  if (allowedHostNames !== undefined && 'kind' in allowedHostNames) return allowedHostNames;
  const trustedProxies = parsed(setting('--trusted-proxies'), parseTrustedProxies, undefined);
  if (trustedProxies !== undefined && 'kind' in trustedProxies) return trustedProxies;
  const redis = setting('--redis');
  const redisProblem = redis.text === undefined ? null : checkRedisUrl(redis.text);
  if (redisProblem) return { kind: 'error', message: `${redis.source}: ${redisProblem}` };
  return {
    kind: 'run',
    port,
    host: setting('--host').text ?? defaultHost,
    staticDir: setting('--static').text,
    iceServers,
    iceTransportPolicy,
    allowedOrigins,
    turnRest,
    dataDir: setting('--data-dir').text ?? defaultDataDir,
    tls,
    allowedHostNames,
    trustedProxies,
    redisUrl: redis.text,
  };
}

/** A setting through its parser, or `fallback` when it is not given; a refusal names its source. */
function parsed<T>(setting: Setting, parse: (text: string) => { ok: true; value: T } | { ok: false; error: string }, fallback: T): T | Failure {
  if (setting.text === undefined) return fallback;
  const result = parse(setting.text);
  return result.ok ? result.value : { kind: 'error', message: `${setting.source}: ${result.error}` };
}

function portOf(setting: Setting): number | Failure {
  if (setting.text === undefined) return defaultPort;
  if (!/^\d{1,5}$/.test(setting.text) || Number(setting.text) > 65_535) {
    return { kind: 'error', message: `${setting.source} must be a port number from 0 to 65535, got "${setting.text}"` };
  }
  return Number(setting.text);
}

/** TURN with short-lived credentials: URLs and secret together, the lifetime only with them. */
function turnRestOf(urls: Setting, secret: Setting, ttl: Setting): TurnRestConfig | null | Failure {
  if (urls.text === undefined && secret.text === undefined) {
    if (ttl.text === undefined) return null;
    return { kind: 'error', message: `${ttl.source} needs --turn-urls and --turn-secret: it is the lifetime of the credentials issued for them` };
  }
  if (urls.text === undefined)
    return { kind: 'error', message: `${secret.source} needs --turn-urls (or TABMESH_TURN_URLS): the TURN servers that share the secret` };
  if (secret.text === undefined)
    return { kind: 'error', message: `${urls.source} needs --turn-secret (or TABMESH_TURN_SECRET): the static-auth-secret of those TURN servers` };
  const parsedUrls = parsed(urls, parseTurnUrls, []);
  if ('kind' in parsedUrls) return parsedUrls;
  const secretProblem = checkTurnSecret(secret.text);
  if (secretProblem) return { kind: 'error', message: `${secret.source}: ${secretProblem}` };
  const ttlS = parsed(ttl, parseTurnTtl, defaultTurnCredentialTtlS);
  if (typeof ttlS !== 'number') return ttlS;
  return { urls: parsedUrls, secret: secret.text, ttlS };
}

/** A certificate given (both files), TLS off, or the generated certificate; never both of the first two. */
function tlsOf(cert: Setting, key: Setting, noTls: Given['noTls']): TlsChoice | Failure {
  if (cert.text === undefined && key.text === undefined) return noTls.on ? { kind: 'off' } : { kind: 'generated' };
  if (cert.text === undefined) return { kind: 'error', message: `${key.source} needs --tls-cert (or TABMESH_TLS_CERT): the certificate that key belongs to` };
  if (key.text === undefined) return { kind: 'error', message: `${cert.source} needs --tls-key (or TABMESH_TLS_KEY): the private key of that certificate` };
  if (noTls.on) return { kind: 'error', message: `${noTls.source} turns TLS off, but ${cert.source} gives a certificate: choose one` };
  return { kind: 'supplied', certFile: cert.text, keyFile: key.text };
}

/**
 * This machine's addresses other devices can reach it at (when listening on every interface):
 * IPv4 always, IPv6 too when listening on `::`, never loopback or link-local (a link-local
 * IPv6 address needs a zone id that browsers do not accept in URLs).
 */
export function lanAddresses(host: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const wildcardAny = host === '::' || host === '';
  if (host !== '0.0.0.0' && !wildcardAny) return [];
  const addresses: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4') addresses.push(info.address);
      else if (wildcardAny && !info.address.toLowerCase().startsWith('fe80:')) addresses.push(info.address);
    }
  }
  return addresses;
}

export interface OpenUrls {
  /** Where this machine opens the app (plain HTTP on loopback is a secure context). */
  local: string[];
  /** Where other devices open it: https when the server speaks TLS. */
  lan: string[];
}

/** The addresses a person can open: this machine first, then each address another device can use. */
export function openUrls(host: string, port: number, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, tls: boolean): OpenUrls {
  const lanScheme = tls ? 'https' : 'http';
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  if (!wildcard) {
    const url = hostForUrl(host);
    const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
    return loopback ? { local: [`http://${url}:${port}/`], lan: [] } : { local: [], lan: [`${lanScheme}://${url}:${port}/`] };
  }
  return {
    local: [`http://localhost:${port}/`],
    lan: lanAddresses(host, interfaces).map((address) => `${lanScheme}://${hostForUrl(address)}:${port}/`),
  };
}

/** Why a Redis URL will not do, or null. */
export function checkRedisUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text.slice(0, 64)}" is not a URL; give redis://HOST:PORT (or rediss:// for TLS)`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `the URL must start with redis:// or rediss://, got ${url.protocol}//`;
  if (url.hostname === '') return 'the URL names no host; give redis://HOST:PORT';
  return null;
}
