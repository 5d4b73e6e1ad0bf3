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

const optionNames = new Set([
  '--port',
  '--host',
  '--static',
  '--ice-servers',
  '--ice-transport-policy',
  '--allowed-origins',
  '--allowed-hosts',
  '--trusted-proxies',
  '--turn-urls',
  '--turn-secret',
  '--turn-ttl',
  '--redis',
  '--data-dir',
  '--tls-cert',
  '--tls-key',
]);
/** Options that take no value. */
const switchNames = new Set(['--no-tls']);

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
  let portText = env.PORT !== undefined && env.PORT !== '' ? env.PORT : undefined;
  let portSource = 'PORT';
  let host = env.HOST !== undefined && env.HOST !== '' ? env.HOST : defaultHost;
  let staticDir: string | undefined;
  let iceText = env.ICE_SERVERS !== undefined && env.ICE_SERVERS !== '' ? env.ICE_SERVERS : undefined;
  let iceSource = 'ICE_SERVERS';
  let policyText = env.ICE_TRANSPORT_POLICY !== undefined && env.ICE_TRANSPORT_POLICY !== '' ? env.ICE_TRANSPORT_POLICY : undefined;
  let policySource = 'ICE_TRANSPORT_POLICY';
  let originsText = env.ALLOWED_ORIGINS !== undefined && env.ALLOWED_ORIGINS !== '' ? env.ALLOWED_ORIGINS : undefined;
  let originsSource = 'ALLOWED_ORIGINS';
  const fromEnv = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  const turn: Record<'urls' | 'secret' | 'ttl', { text: string | undefined; source: string }> = {
    urls: { text: fromEnv('TABMESH_TURN_URLS'), source: 'TABMESH_TURN_URLS' },
    secret: { text: fromEnv('TABMESH_TURN_SECRET'), source: 'TABMESH_TURN_SECRET' },
    ttl: { text: fromEnv('TABMESH_TURN_TTL'), source: 'TABMESH_TURN_TTL' },
  };
  const net: Record<'hosts' | 'proxies', { text: string | undefined; source: string }> = {
    hosts: { text: fromEnv('TABMESH_ALLOWED_HOSTS'), source: 'TABMESH_ALLOWED_HOSTS' },
    proxies: { text: fromEnv('TABMESH_TRUSTED_PROXIES'), source: 'TABMESH_TRUSTED_PROXIES' },
  };
  let dataDir = fromEnv('TABMESH_DATA_DIR') ?? defaultDataDir;
  let redis = { text: fromEnv('TABMESH_REDIS_URL'), source: 'TABMESH_REDIS_URL' };
  const tlsFiles: Record<'cert' | 'key', { text: string | undefined; source: string }> = {
    cert: { text: fromEnv('TABMESH_TLS_CERT'), source: 'TABMESH_TLS_CERT' },
    key: { text: fromEnv('TABMESH_TLS_KEY'), source: 'TABMESH_TLS_KEY' },
  };
  let noTls: { on: boolean; source: string } = { on: false, source: '' };
  const noTlsEnv = fromEnv('TABMESH_NO_TLS');
  if (noTlsEnv !== undefined) {
    if (/^(1|true|yes)$/i.test(noTlsEnv)) noTls = { on: true, source: 'TABMESH_NO_TLS' };
    else if (!/^(0|false|no)$/i.test(noTlsEnv)) return { kind: 'error', message: `TABMESH_NO_TLS must be 1 (TLS off) or 0, got "${noTlsEnv}"` };
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (switchNames.has(arg)) {
      noTls = { on: true, source: '--no-tls' };
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (switchNames.has(name)) return { kind: 'error', message: `${name} takes no value` };
    if (!optionNames.has(name)) {
      return { kind: 'error', message: arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument ${arg}` };
    }
    let value: string | undefined;
    if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined || value === '' || (value.startsWith('--') && eq < 0)) {
      return { kind: 'error', message: `${name} needs a value` };
    }
    if (name === '--port') {
      portText = value;
      portSource = '--port';
    } else if (name === '--host') host = value;
    else if (name === '--ice-servers') {
      iceText = value;
      iceSource = '--ice-servers';
    } else if (name === '--ice-transport-policy') {
      policyText = value;
      policySource = '--ice-transport-policy';
    } else if (name === '--allowed-origins') {
      originsText = value;
      originsSource = '--allowed-origins';
    } else if (name === '--allowed-hosts' || name === '--trusted-proxies') {
      net[name === '--allowed-hosts' ? 'hosts' : 'proxies'] = { text: value, source: name };
    } else if (name === '--turn-urls' || name === '--turn-secret' || name === '--turn-ttl') {
      turn[name.slice('--turn-'.length) as 'urls' | 'secret' | 'ttl'] = { text: value, source: name };
    } else if (name === '--tls-cert' || name === '--tls-key') {
      tlsFiles[name.slice('--tls-'.length) as 'cert' | 'key'] = { text: value, source: name };
    } else if (name === '--redis') redis = { text: value, source: '--redis' };
    else if (name === '--data-dir') dataDir = value;
    else staticDir = value;
  }

  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
      return { kind: 'error', message: `${portSource} must be a port number from 0 to 65535, got "${portText}"` };
    }
    port = Number(portText);
  }
  let iceServers: IceServerConfig = [];
  if (iceText !== undefined) {
    const ice = parseIceServers(iceText);
    if (!ice.ok) return { kind: 'error', message: `${iceSource}: ${ice.error}` };
    iceServers = ice.value;
  }
  let iceTransportPolicy: IceTransportPolicy = 'all';
  if (policyText !== undefined) {
    const policy = parseIceTransportPolicy(policyText);
    if (!policy.ok) return { kind: 'error', message: `${policySource}: ${policy.error}` };
    iceTransportPolicy = policy.value;
  }
  let allowedOrigins: string[] | undefined;
  if (originsText !== undefined) {
    const origins = parseAllowedOrigins(originsText);
    if (!origins.ok) return { kind: 'error', message: `${originsSource}: ${origins.error}` };
    allowedOrigins = origins.value;
  }
  let turnRest: TurnRestConfig | null = null;
  if (turn.urls.text !== undefined || turn.secret.text !== undefined) {
    if (turn.urls.text === undefined)
      return { kind: 'error', message: `${turn.secret.source} needs --turn-urls (or TABMESH_TURN_URLS): the TURN servers that share the secret` };
    if (turn.secret.text === undefined)
      return { kind: 'error', message: `${turn.urls.source} needs --turn-secret (or TABMESH_TURN_SECRET): the static-auth-secret of those TURN servers` };
    const urls = parseTurnUrls(turn.urls.text);
    if (!urls.ok) return { kind: 'error', message: `${turn.urls.source}: ${urls.error}` };
    const secretProblem = checkTurnSecret(turn.secret.text);
    if (secretProblem) return { kind: 'error', message: `${turn.secret.source}: ${secretProblem}` };
    let ttlS = defaultTurnCredentialTtlS;
    if (turn.ttl.text !== undefined) {
      const ttl = parseTurnTtl(turn.ttl.text);
      if (!ttl.ok) return { kind: 'error', message: `${turn.ttl.source}: ${ttl.error}` };
      ttlS = ttl.value;
    }
    turnRest = { urls: urls.value, secret: turn.secret.text, ttlS };
  } else if (turn.ttl.text !== undefined) {
    return { kind: 'error', message: `${turn.ttl.source} needs --turn-urls and --turn-secret: it is the lifetime of the credentials issued for them` };
  }
  let tls: TlsChoice = { kind: 'generated' };
  if (tlsFiles.cert.text !== undefined || tlsFiles.key.text !== undefined) {
    if (tlsFiles.cert.text === undefined)
      return { kind: 'error', message: `${tlsFiles.key.source} needs --tls-cert (or TABMESH_TLS_CERT): the certificate that key belongs to` };
    if (tlsFiles.key.text === undefined)
      return { kind: 'error', message: `${tlsFiles.cert.source} needs --tls-key (or TABMESH_TLS_KEY): the private key of that certificate` };
    if (noTls.on) return { kind: 'error', message: `${noTls.source} turns TLS off, but ${tlsFiles.cert.source} gives a certificate: choose one` };
    tls = { kind: 'supplied', certFile: tlsFiles.cert.text, keyFile: tlsFiles.key.text };
  } else if (noTls.on) tls = { kind: 'off' };
  let allowedHostNames: string[] | undefined;
  if (net.hosts.text !== undefined) {
    const hosts = parseAllowedHosts(net.hosts.text);
    if (!hosts.ok) return { kind: 'error', message: `${net.hosts.source}: ${hosts.error}` };
    allowedHostNames = hosts.value;
  }
  let trustedProxies: TrustedProxies | undefined;
  if (net.proxies.text !== undefined) {
    const proxies = parseTrustedProxies(net.proxies.text);
    if (!proxies.ok) return { kind: 'error', message: `${net.proxies.source}: ${proxies.error}` };
    trustedProxies = proxies.value;
  }
  let redisUrl: string | undefined;
  if (redis.text !== undefined) {
    const problem = checkRedisUrl(redis.text);
    if (problem) return { kind: 'error', message: `${redis.source}: ${problem}` };
    redisUrl = redis.text;
  }
  return {
    kind: 'run',
    port,
    host,
    staticDir,
    iceServers,
    iceTransportPolicy,
    allowedOrigins,
    turnRest,
    dataDir,
    tls,
    allowedHostNames,
    trustedProxies,
    redisUrl,
  };
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
