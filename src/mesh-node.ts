// The embeddable entry point: createMeshNode() starts a node in this page (a protocol worker,
// the WebRTC host, a slot of IndexedDB) without any UI. The dashboard is built on it, and
// another web app can use it the same way.
import { claimSlot, type SlotClaim } from './net/slot.ts';
import type { MemoryChange, PageToWorker } from './worker/protocol.ts';
import type { MemoryEntryView } from './core/gossip/index.ts';
import type { NodeSnapshot } from './worker/snapshot.ts';
import type { IceServer } from './net/transport.ts';
import type { RecoveryView } from './worker-supervisor.ts';
import { EarlyWorker } from './early-worker.ts';
import { PageNode, leaveTimeoutMs, startWorker, type NodeStart } from './page-node.ts';
import { decodeWith } from './core/decode.ts';
import { passwordProblem } from './net/room-key.ts';
import { signalingUrlList } from './net/signaling-urls.ts';
import { clientConfigPath, clientConfigSchema, type IceTransportPolicy } from '../signaling/ice-config.ts';
import { requireCapabilities } from './capability-probes.ts';

export type { NodeSnapshot, MemoryChange, MemoryEntryView };
// What createMeshNode rejects with when the browser lacks something Tabmesh needs, and the
// check itself, for apps that want to ask before they start a node.
export { CapabilityError, capabilityCodes, supportedBrowsers, type CapabilityCode, type MissingCapability } from './capabilities.ts';
export { requireCapabilities };

export interface MeshNodeOptions {
  /** Room to join; nodes only ever see nodes of their own room. */
  room: string;
  /**
   * WebSocket URL of the signaling server, or several (servers of one cluster): the node uses
   * the first and moves on to the next when a connection closes or is refused, with backoff.
   * Default: /signal on this page's origin.
   */
  signalingUrl?: string | string[];
  /** STUN/TURN servers; default: what the serving origin's /config.json says, else none. */
  iceServers?: IceServer[];
  /** 'relay': connect through TURN relays only. Default: what /config.json says, else 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /**
   * A private room's password (at least 8 characters): the worker derives the room key from it
   * (src/net/room-key.ts); joins without it, or with another, are refused. Never sent anywhere.
   */
  password?: string;
}

export interface MeshNode {
  /** The slot of this browser's IndexedDB the node lives in (one per open tab). */
  readonly slot: number;
  /** The latest snapshot, or null before the worker has posted one. */
  snapshot(): NodeSnapshot | null;
  /** Calls `listener` with every new snapshot; returns the unsubscribe function. */
  subscribe(listener: (snapshot: NodeSnapshot) => void): () => void;
  /**
   * Calls `listener` with each change of the replicated memory as it reaches this page (key,
   * value — absent for a delete —, origin, hlc); `reset` means the list is the whole memory
   * (at start and after a worker restart). Returns the unsubscribe function.
   */
  subscribeMemory(listener: (changes: readonly MemoryChange[], reset: boolean) => void): () => void;
  /** One key of the replicated memory as this page holds it now (cheap: no snapshot is built). */
  memory(key: string): MemoryEntryView | undefined;
  /**
   * Calls `listener` with the payload of every app event `name` the worker posts (a service's
   * ServiceContext.publishEvent). Payloads are unchecked: the listener decodes them. Returns
   * the unsubscribe function.
   */
  onEvent(name: string, listener: (payload: unknown) => void): () => void;
  /**
   * Runs a node command in the worker; rejects with the node's explanation on refusal (an
   * Error whose `code` is set when the worker gave one).
   */
  command(name: string, ...args: unknown[]): Promise<unknown>;
  /** A fatal start-up problem, or why the protocol worker was given up on after crashing again and again. */
  readonly error: string | null;
  /** Calls `listener` once if the node fails for good (the `error` above); returns the unsubscribe. */
  onFailure(listener: (message: string) => void): () => void;
  /** Restarts of the protocol worker so far (also snapshot().recovery). */
  readonly recovery: RecoveryView;
  /**
   * Leaves gracefully: the worker says goodbye to its peers and leaves the room, then it is
   * stopped, every link closed and the slot given back. Resolves when that is done (at most
   * leaveTimeoutMs); idempotent.
   */
  close(): Promise<void>;
}

export { leaveTimeoutMs };

export function defaultSignalingUrl(location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/signal`;
}

interface IceConfig {
  iceServers: IceServer[];
  iceTransportPolicy: IceTransportPolicy;
}

/** ICE settings the serving origin configures (GET /config.json); defaults if it has no such file. */
async function configuredIce(): Promise<IceConfig> {
  const none: IceConfig = { iceServers: [], iceTransportPolicy: 'all' };
  try {
    const response = await fetch(clientConfigPath, { cache: 'no-store' });
    if (!response.ok) return none;
    const decoded = decodeWith(clientConfigSchema, await response.json());
    if (!decoded.ok) console.warn(`tabmesh: ignoring ${clientConfigPath}: ${decoded.error}`);
    return decoded.ok ? decoded.value : none;
  } catch {
    return none;
  }
}

/** Checks the options and the browser, claims a slot and fetches /config.json while the first worker loads. */
async function prepareStart(options: MeshNodeOptions): Promise<NodeStart> {
  const passwordRefusal = options.password !== undefined ? passwordProblem(options.password) : null;
  if (passwordRefusal) throw new Error(passwordRefusal);
  const needConfig = options.iceServers === undefined || options.iceTransportPolicy === undefined;
  // /config.json is fetched while the browser is checked (configuredIce never rejects).
  const configuring = needConfig ? configuredIce() : null;
  const checkStart = performance.now();
  await requireCapabilities();
  // How long the check held up the start, for devtools' performance panel.
  performance.measure('tabmesh: capability check', { start: checkStart });
  // The worker's script loads while the slot is claimed and /config.json arrives (the init
  // message waits for both); the supervisor takes this worker as its first.
  const firstWorker = new EarlyWorker(startWorker());
  let claim: SlotClaim;
  let configured: IceConfig | null;
  try {
    [claim, configured] = await Promise.all([claimSlot(), configuring]);
  } catch (error) {
    firstWorker.terminate();
    throw error;
  }
  const slot = claim.slot;
  const iceServers = options.iceServers ?? configured?.iceServers ?? [];
  const iceTransportPolicy = options.iceTransportPolicy ?? configured?.iceTransportPolicy ?? 'all';
  const initMessage: PageToWorker = {
    type: 'init',
    slot,
    room: options.room,
    signalingUrl:
      options.signalingUrl !== undefined && signalingUrlList(options.signalingUrl).length > 0
        ? signalingUrlList(options.signalingUrl)
        : defaultSignalingUrl(location),
    iceServers,
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  return { firstWorker, claim, iceServers, iceServersGiven: options.iceServers !== undefined, iceTransportPolicy, initMessage };
}

/**
 * Starts a node in this page. Rejects with a CapabilityError (its `code` and `missing` say what
 * and what to do) when the browser lacks something Tabmesh needs — checked before any worker
 * starts, so a browser that cannot run it never gets a worker to restart.
 */
export async function createMeshNode(options: MeshNodeOptions): Promise<MeshNode> {
  return asMeshNode(new PageNode(await prepareStart(options)));
}

/** The node as apps hold it: plain functions, safe to pass around unbound, over the PageNode. */
function asMeshNode(node: PageNode): MeshNode {
  return {
    slot: node.slot,
    snapshot: () => node.snapshot(),
    subscribe: (listener) => node.subscribe(listener),
    subscribeMemory: (listener) => node.subscribeMemory(listener),
    memory: (key) => node.memory(key),
    onEvent: (name, listener) => node.onEvent(name, listener),
    command: (name, ...args) => node.command(name, ...args),
    get error() {
      return node.error;
    },
    onFailure: (listener) => node.onFailure(listener),
    get recovery() {
      return node.recovery;
    },
    close: () => node.close(),
  };
}
