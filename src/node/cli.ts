// The command line of `npx tabmesh-node` / `npm run node -- …`, parsed without side effects so
// its rules (what is required, how the address people open becomes the signaling endpoint,
// which input is refused and why) are tested without starting a process.
import * as v from 'valibot';
import { joinSchema, signalingPath } from '../../signaling/protocol.ts';
import { clientConfigPath, parseIceServers, parseIceTransportPolicy, type IceServerConfig, type IceTransportPolicy } from '../../signaling/ice-config.ts';
import { passwordProblem } from '../net/room-key.ts';
import { signalingUrlList } from '../net/signaling-urls.ts';

export const nodeUsage = `Usage: tabmesh-node --room NAME --signal URL[,URL…] [--data DIR] [--json] [--ice-servers JSON] [--ice-transport-policy all|relay] [--password-file FILE]

Joins a Tabmesh room as a full node, without a browser: it links to the room's tabs and other
Node peers over WebRTC and runs the same protocols as a tab. Stop it with Ctrl+C (or SIGTERM):
it leaves the room gracefully, as a closing tab does.

Options:
  --room NAME     the room to join: 1–64 letters, digits, dots, dashes or underscores
                  (in a browser it is the ?room= of the page address; the page's default is lobby)
  --signal URL    the address people open in a browser, e.g. http://192.168.1.20:8080
                  (its signaling endpoint ws://…${signalingPath} is derived; wss:// for https://).
                  A ws:// or wss:// URL is used as it is; a bare host:port means http://.
                  Several servers of one cluster, comma-separated: the node uses the first and,
                  when its connection closes or is refused, moves on to the next (with backoff)
  --data DIR      where this node keeps its identity and memory (default ~/.tabmesh-node).
                  One process per directory; copy it to move the node, keep it private
  --json          print JSON lines instead of readable log lines
  --ice-servers JSON
                  STUN/TURN servers as a JSON array of RTCIceServer objects (default: whatever
                  the server hands to pages at ${clientConfigPath}; none are needed on a LAN)
  --ice-transport-policy all|relay
                  relay: every link goes through a TURN relay and no address of this machine is
                  offered to peers (default: what the server hands to pages, else all)
  --password-file FILE
                  join a private room: its password is the first line of FILE (keep it mode 0600).
                  Or set the TABMESH_ROOM_PASSWORD environment variable. There is no --password
                  flag on purpose: a command line is visible to every user of the machine (ps)
  -h, --help      show this help

Exit codes: 0 after a graceful stop, 1 when the node cannot start, 2 for bad usage.
`;

export interface SignalEndpoints {
  /** The WebSocket URL of the signaling server. */
  signalingUrl: string;
  /** Where the server hands out its ICE servers, as pages read them. */
  configUrl: string;
  /** The web origin of the app (sent as the socket's Origin, as a page's browser would). */
  origin: string;
}

export interface NodeRunOptions {
  room: string;
  /** The first server given (its /config.json is read for ICE servers). */
  signal: SignalEndpoints;
  /** Every server given, in order, the first included: the signaling client fails over between them (default: `signal` alone). */
  signals?: SignalEndpoints[];
  /** What was given on the command line, for the log. */
  signalGiven: string;
  dataDir: string;
  json: boolean;
  /** From --ice-servers; null: read them from the server. */
  iceServers: IceServerConfig | null;
  /** From --ice-transport-policy; null (or absent): the server's, as its pages get it. */
  iceTransportPolicy?: IceTransportPolicy | null;
  /** A private room's password: where to read it (--password-file, else TABMESH_ROOM_PASSWORD); null for an open room. */
  password: PasswordSource | null;
}

export type PasswordSource = { from: 'file'; path: string } | { from: 'env'; value: string };

/** The environment variable that may hold a private room's password. */
export const passwordEnvName = 'TABMESH_ROOM_PASSWORD';

export type NodeCliCommand = { kind: 'run'; options: NodeRunOptions } | { kind: 'help' } | { kind: 'error'; message: string };

const valueFlags = ['--room', '--signal', '--data', '--ice-servers', '--ice-transport-policy', '--password-file'] as const;
type ValueFlag = (typeof valueFlags)[number];
const isValueFlag = (name: string): name is ValueFlag => (valueFlags as readonly string[]).includes(name);

/**
 * `defaultDataDir`: used when --data is not given (the caller knows the home directory).
 * `env`: the process environment (only TABMESH_ROOM_PASSWORD is read).
 */
export function parseNodeArgs(argv: readonly string[], defaultDataDir: string, env: Readonly<Record<string, string | undefined>> = {}): NodeCliCommand {
  const values = new Map<ValueFlag, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '--json') {
      json = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (!isValueFlag(name)) {
      if (name === '--json') return { kind: 'error', message: '--json takes no value' };
      if (name === '--password') {
        return {
          kind: 'error',
          message: `--password is not accepted: a command line is visible to every user of this machine (ps). Put the password in a file for --password-file FILE, or in ${passwordEnvName}`,
        };
      }
      return { kind: 'error', message: arg.startsWith('-') ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(arg)}` };
    }
    const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) return { kind: 'error', message: `${name} needs a value` };
    if (values.has(name)) return { kind: 'error', message: `${name} is given twice` };
    values.set(name, value);
  }

  const room = values.get('--room');
  if (room === undefined) return { kind: 'error', message: '--room is required: the room to join (as in the page address ?room=NAME)' };
  const roomCheck = v.safeParse(joinSchema.entries.room, room);
  if (!roomCheck.success) return { kind: 'error', message: `--room: ${roomCheck.issues[0].message}, got ${JSON.stringify(room)}` };

  const signalGiven = values.get('--signal');
  if (signalGiven === undefined) return { kind: 'error', message: '--signal is required: the address people open in a browser, e.g. http://192.168.1.20:8080' };
  const signals: SignalEndpoints[] = [];
  for (const item of signalingUrlList(signalGiven)) {
    const endpoints = signalEndpoints(item);
    if (!endpoints.ok) return { kind: 'error', message: `--signal: ${endpoints.error}` };
    signals.push(endpoints.value);
  }
  const signal = signals[0];
  if (signal === undefined) return { kind: 'error', message: '--signal names no server; give the address people open in a browser' };

  let iceServers: IceServerConfig | null = null;
  const iceText = values.get('--ice-servers');
  if (iceText !== undefined) {
    const ice = parseIceServers(iceText);
    if (!ice.ok) return { kind: 'error', message: `--ice-servers: ${ice.error}` };
    iceServers = ice.value;
  }

  let iceTransportPolicy: IceTransportPolicy | null = null;
  const policyText = values.get('--ice-transport-policy');
  if (policyText !== undefined) {
    const policy = parseIceTransportPolicy(policyText);
    if (!policy.ok) return { kind: 'error', message: `--ice-transport-policy: ${policy.error}` };
    iceTransportPolicy = policy.value;
  }

  const passwordFile = values.get('--password-file');
  const passwordEnv = env[passwordEnvName];
  let password: PasswordSource | null = null;
  if (passwordFile !== undefined) password = { from: 'file', path: passwordFile };
  else if (passwordEnv !== undefined && passwordEnv !== '') {
    const problem = passwordProblem(passwordEnv);
    if (problem) return { kind: 'error', message: `${passwordEnvName}: ${problem}` };
    password = { from: 'env', value: passwordEnv };
  }

  return { kind: 'run', options: { room, signal, signals, signalGiven, dataDir: values.get('--data') ?? defaultDataDir, json, iceServers, iceTransportPolicy, password } };
}

/**
 * The signaling endpoint and the config address for what a person would type: the page
 * address (http/https, any path: the app's signaling lives at the origin's /signal, as the
 * page derives it), a ws/wss URL used as it is, or a bare host[:port] taken as http.
 */
export function signalEndpoints(text: string): { ok: true; value: SignalEndpoints } | { ok: false; error: string } {
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, error: `${JSON.stringify(text)} is not a URL; give the address people open in a browser, e.g. http://192.168.1.20:8080` };
  }
  if (url.username || url.password) return { ok: false, error: 'the URL must not carry a user name or password' };
  if (url.hostname === '') return { ok: false, error: `${JSON.stringify(text)} names no host` };
  const web = url.protocol === 'ws:' ? 'http:' : url.protocol === 'wss:' ? 'https:' : url.protocol;
  if (web !== 'http:' && web !== 'https:') return { ok: false, error: `${url.protocol}// is not supported; use http://, https://, ws:// or wss://` };
  const origin = `${web}//${url.host}`;
  const signalingUrl = url.protocol === 'ws:' || url.protocol === 'wss:' ? url.href : `${web === 'https:' ? 'wss:' : 'ws:'}//${url.host}${signalingPath}`;
  return { ok: true, value: { signalingUrl, configUrl: `${origin}${clientConfigPath}`, origin } };
}
