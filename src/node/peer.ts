// A headless Node peer: the tab's NodeRuntime and the same list of services, on Node edges —
// a file-backed store and identity in the data directory, WebRTC links on node-datachannel's
// RTCPeerConnection polyfill in-process, `ws` for signaling. Nothing of the protocol is here; only the wiring differs.
import { WebSocket } from 'ws';
import type { NodeId } from '../core/types.ts';
import type { SocketLike } from '../net/signaling-client.ts';
import type { IceServer } from '../net/transport.ts';
import type { IceTransportPolicy } from '../../signaling/ice-config.ts';
import { createDefaultServices } from '../worker/default-services.ts';
import { createThreadComputePool } from './thread-pool.ts';
import { NodeRuntime } from '../worker/runtime.ts';
import { realClock, realTimers } from '../worker/real-clock.ts';
import type { BaseSnapshot } from '../worker/snapshot.ts';
import type { MemoryMessage } from '../worker/protocol.ts';
import { passwordEnvName, type NodeRunOptions, type SignalEndpoints } from './cli.ts';
import { loadRoomPassword } from './room-password.ts';
import { iceRefreshDelayMs } from '../net/ice-refresh.ts';
import { claimDataDir } from './data-dir.ts';
import { FileStorage } from './file-storage.ts';
import { configRetryBaseMs, configRetryMaxMs, fetchIceServers } from './ice-servers.ts';
import { loadOrCreateFileIdentity } from './identity-file.ts';
import { NodeLinkHost, type PeerFactory } from './link-host.ts';
import { SnapshotLog, statusEvent, type LogEvent } from './log-events.ts';
import { certificateProblemNote } from './tls-trust-note.ts';

/** How often a summary line is logged, so a quiet node still shows that it lives. */
export const statusIntervalMs = 60_000;
/**
 * How long the last words get to be read before the node leaves the room. The server tells
 * the room at once, and a tab that hears it drops the link — along with frames still on
 * their way from its page to its worker.
 */
export const leaveLingerMs = 300;

export interface NodePeer {
  readonly id: NodeId;
  /** The latest snapshot the runtime published (null before the first). */
  snapshot(): (BaseSnapshot & Record<string, unknown>) | null;
  /** Graceful leave, as a closing tab: last words to peers, leave the room, close links. */
  stop(reason: string): Promise<void>;
  /** Runs a service command (setMemory, propose, …) as window.tabmesh does in a tab; unknown names throw. */
  command(name: string, args: unknown[]): unknown;
}

/** Seams for tests and embedders: how each WebRTC connection is made (default: NativePeer on node-datachannel's polyfill). */
export interface NodePeerHooks {
  createPeer?: PeerFactory;
  /** Where services' app events go (the library's NodeBackend, src/api/node.ts); absent: dropped. */
  publishEvent?(name: string, payload: unknown): void;
  /** Where memory changes go as they happen; given, snapshots leave the memory out (the embedder keeps its copy). */
  publishMemory?(message: MemoryMessage): void;
  /** Also called with every snapshot the runtime publishes (besides the log's use of it). */
  publishSnapshot?(snapshot: BaseSnapshot & Record<string, unknown>): void;
}

export async function startNodePeer(options: NodeRunOptions, log: (event: LogEvent) => void, hooks: NodePeerHooks = {}): Promise<NodePeer> {
  log({
    event: 'starting',
    room: options.room,
    signal: options.signalGiven,
    signalingUrl: serversOf(options)
      .map((s) => s.signalingUrl)
      .join(', '),
    dataDir: options.dataDir,
  });
  const dataDir = await claimDataDir(options.dataDir);
  try {
    return await startOnDataDir(options, dataDir, log, hooks);
  } catch (error) {
    await dataDir.release();
    throw error;
  }
}

async function startOnDataDir(
  options: NodeRunOptions,
  dataDir: Awaited<ReturnType<typeof claimDataDir>>,
  log: (event: LogEvent) => void,
  hooks: NodePeerHooks,
): Promise<NodePeer> {
  const storage = new FileStorage(dataDir.storePath, { onProblem: (message) => log({ event: 'storage-problem', message }) });
  // The runtime reads this array each time it opens a link, so servers learned later still count.
  const iceServers: IceServer[] = [];
  // --ice-transport-policy wins; else the server's, learned with its ICE servers.
  const policy = { current: options.iceTransportPolicy ?? ('all' as IceTransportPolicy) };
  const ice = await startIceServers(options, iceServers, log, (serverPolicy) => {
    policy.current = options.iceTransportPolicy ?? serverPolicy;
  });
  if (policy.current === 'relay') log({ event: 'note', message: 'relay only: every link goes through a TURN relay, and no address of this machine is offered to peers' });
  const host = new NodeLinkHost(hooks.createPeer, () => policy.current);
  // Kernels run on worker threads: a headless machine computes for the mesh like a tab.
  const services = createDefaultServices({ computePool: () => createThreadComputePool() });
  const snapshotLog = new SnapshotLog();
  const roomPassword = options.password ? await loadRoomPassword(options.password) : null;
  if (roomPassword) {
    for (const message of roomPassword.notes) log({ event: 'note', message });
    log({
      event: 'note',
      message: `private room: deriving its key from the password (${options.password?.from === 'file' ? options.password.path : passwordEnvName})`,
    });
  }
  let latest: (BaseSnapshot & Record<string, unknown>) | null = null;
  const certificateNotes = new Set<string>();

  const runtime = await NodeRuntime.start({
    room: options.room,
    // Tabs number their IndexedDB slots; a Node peer has its data directory instead.
    slot: 0,
    signalingUrl: serversOf(options).map((s) => s.signalingUrl),
    storage,
    // A browser sends its page's origin with the socket; the Node peer sends the app's own.
    // (Each server of a failover list gets its own app origin, as a page of that server would send.)
    createSocket: (url) => {
      const socket = new WebSocket(url, { origin: (serversOf(options).find((s) => s.signalingUrl === url) ?? options.signal).origin });
      // Said once per server and problem: the client retries, and the reason does not change.
      socket.on('error', (error) => {
        const note = certificateProblemNote(error, url);
        if (note && !certificateNotes.has(note)) {
          certificateNotes.add(note);
          log({ event: 'note', message: note });
        }
      });
      return socket as unknown as SocketLike;
    },
    linkHost: host,
    clock: realClock,
    timers: realTimers,
    iceServers,
    services,
    ...(roomPassword ? { password: roomPassword.password } : {}),
    ...(hooks.publishEvent ? { publishEvent: hooks.publishEvent } : {}),
    ...(hooks.publishMemory ? { publishMemory: hooks.publishMemory } : {}),
    loadIdentity: async () => {
      const loaded = await loadOrCreateFileIdentity(dataDir.path, Date.now());
      for (const message of loaded.notes) log({ event: 'note', message });
      return loaded;
    },
    publishSnapshot: (snapshot) => {
      latest = snapshot;
      hooks.publishSnapshot?.(snapshot);
      for (const event of snapshotLog.next(snapshot)) log(event);
    },
  });
  host.attach(runtime);
  const first = runtime.snapshot();
  log({ event: 'ready', id: runtime.nodeId, room: options.room, identity: first.identity, services: services.map((s) => s.protocol) });
  // Stored records that did not decode at this start were set aside (src/store/set-aside.ts): say which and why.
  for (const record of first.setAside.records.filter((r) => r.at >= first.startedAt)) {
    log({ event: 'storage-problem', message: `stored record ${record.key} set aside as ${record.movedTo}: ${record.reason}` });
  }
  const statusTimer = setInterval(() => {
    if (latest) log(statusEvent(latest));
  }, statusIntervalMs);

  let stopping: Promise<void> | null = null;
  const stop = async (reason: string): Promise<void> => {
    log({ event: 'leaving', reason });
    clearInterval(statusTimer);
    ice.stop();
    // The runtime lets the services speak (gossip's leave, after its durable write), flushes
    // the links, lingers so the words are read, and only then leaves the room.
    await runtime.shutdown(reason, leaveLingerMs);
    await host.settled();
    await storage.idle();
    await dataDir.release();
  };
  return {
    id: runtime.nodeId,
    snapshot: () => latest,
    stop: (reason) => (stopping ??= stop(reason)),
    command: (name, args) => {
      const result = runtime.runServiceCommand(name, args);
      if (!result.found) throw new Error(`no command ${JSON.stringify(name)}; there are ${runtime.serviceCommandNames().join(', ')}`);
      return result.value;
    },
  };
}

/**
 * Fills `into` from --ice-servers or the server's /config.json, retrying the latter while it is
 * unreachable; `onPolicy` gets the server's ICE transport policy each time it answers.
 */
async function startIceServers(
  options: NodeRunOptions,
  into: IceServer[],
  log: (event: LogEvent) => void,
  onPolicy: (policy: IceTransportPolicy) => void,
): Promise<{ stop(): void }> {
  if (options.iceServers) {
    into.push(...options.iceServers);
    log({ event: 'ice-servers', source: options.iceServers.length > 0 ? 'flag' : 'none', count: options.iceServers.length, detail: '--ice-servers' });
    return { stop: () => {} };
  }
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let failures = 0;
  const attempt = async (): Promise<void> => {
    const result = await fetchIceServers(options.signal.configUrl);
    if (stopped) return;
    if (result.ok) {
      into.splice(0, into.length, ...result.servers);
      onPolicy(result.policy);
      const count = result.servers.length;
      log({
        event: 'ice-servers',
        source: count > 0 ? 'server' : 'none',
        count,
        detail: count > 0 ? options.signal.configUrl : 'the server configures none; fine on one machine or a LAN',
      });
      // Short-lived TURN credentials (the server's --turn-secret): ask again before they expire.
      const refreshMs = iceRefreshDelayMs(result.servers, Date.now());
      failures = 0;
      if (refreshMs !== null) timer = setTimeout(() => void attempt(), refreshMs);
      return;
    }
    if (!result.retry) {
      log({ event: 'ice-servers', source: 'none', count: 0, detail: result.error });
      return;
    }
    const delay = Math.min(configRetryMaxMs, configRetryBaseMs * 2 ** failures++);
    // Said once: the signaling log line already reports the server as unreachable on each try.
    if (failures === 1) log({ event: 'note', message: `${result.error}; asking again for its ICE servers until it answers` });
    timer = setTimeout(() => void attempt(), delay);
  };
  await attempt();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** The signaling servers to fail over between, in order (the one `signal` when no list was given). */
function serversOf(options: NodeRunOptions): SignalEndpoints[] {
  return options.signals && options.signals.length > 0 ? options.signals : [options.signal];
}
