// A Node peer for the NAT lab, run inside a home's namespace (`ip netns exec … node`): the real
// headless peer (src/node/peer.ts, NativePeer on node-datachannel's polyfill) with two test seams. Every
// connection it makes is kept, so the test can ask node-datachannel which candidate pair each
// link uses (getSelectedCandidatePair); and it takes commands on stdin, one JSON object a line:
//   {"n":1,"cmd":"snapshot"}                       → the runtime's latest snapshot
//   {"n":2,"cmd":"pairs"}                          → the selected pair of every connected link
//   {"n":3,"cmd":"run","name":"propose","args":[…]} → a service command, as window.tabmesh runs it
// Answers are JSON lines {"reply":n,"ok":true,"value":…} or {"reply":n,"ok":false,"error":"…"};
// the peer's own log events are JSON lines too ({"event":…}, as `tabmesh-node --json` prints).
import { createInterface } from 'node:readline';
import { signalEndpoints } from '../../src/node/cli.ts';
import { defaultPeerFactory } from '../../src/node/link-host.ts';
import { startNodePeer } from '../../src/node/peer.ts';
import type { IceServerConfig } from '../../signaling/ice-config.ts';

interface Args {
  room: string;
  signal: string;
  dataDir: string;
  /** null: ask the server (/config.json), as the CLI does without --ice-servers. */
  iceServers: IceServerConfig | null;
}

/** What the lab reads of a link's connection: node-datachannel's polyfill RTCPeerConnection. */
interface PolyfillConnection {
  connectionState: string;
  /** libdatachannel's own pair (the polyfill's RTCIceTransport wraps it into candidate lines). */
  selectedCandidatePair(): { local: { type: string; address: string; port: number }; remote: { type: string; address: string; port: number } } | null;
}

/** Connections kept for asking; the oldest go first (a lab run makes a few dozen). */
const maxKeptConnections = 64;

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const endpoints = signalEndpoints(args.signal);
if (!endpoints.ok) throw new Error(endpoints.error);
const write = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const connections: PolyfillConnection[] = [];
const peer = await startNodePeer(
  { room: args.room, signal: endpoints.value, signalGiven: args.signal, dataDir: args.dataDir, json: true, iceServers: args.iceServers, password: null },
  (event) => write({ time: new Date().toISOString(), ...event }),
  {
    createPeer: (options) => {
      const made = defaultPeerFactory(options);
      const pc = (made as unknown as { connection?: PolyfillConnection }).connection;
      if (pc) connections.push(pc);
      if (connections.length > maxKeptConnections) connections.shift();
      return made;
    },
  },
);

function pairs(): Array<{ local: string; remote: string; localAddress: string; remoteAddress: string }> {
  const out = [];
  for (const pc of connections) {
    if (pc.connectionState !== 'connected') continue;
    const pair = pc.selectedCandidatePair();
    if (!pair) continue;
    out.push({
      local: pair.local.type,
      remote: pair.remote.type,
      localAddress: `${pair.local.address}:${pair.local.port}`,
      remoteAddress: `${pair.remote.address}:${pair.remote.port}`,
    });
  }
  return out;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let request: { n: number; cmd: string; name?: string; args?: unknown[] };
  try {
    request = JSON.parse(line);
  } catch {
    write({ reply: -1, ok: false, error: 'not JSON' });
    return;
  }
  const answer = async (): Promise<unknown> => {
    if (request.cmd === 'snapshot') return peer.snapshot();
    if (request.cmd === 'pairs') return pairs();
    if (request.cmd === 'run') return await peer.command(request.name ?? '', request.args ?? []);
    throw new Error(`unknown command ${request.cmd}`);
  };
  answer().then(
    (value) => write({ reply: request.n, ok: true, value }),
    (error: unknown) => write({ reply: request.n, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

const stop = (reason: string) => void peer.stop(reason).finally(() => process.exit(0));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
