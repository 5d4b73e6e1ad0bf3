// The embeddable entry point: createMeshNode() starts a node in this page (a protocol worker,
// the WebRTC host, a slot of IndexedDB) without any UI. The dashboard is built on it, and
// another web app can use it the same way.
import { claimSlot } from './net/slot.ts';
import { PeerHost } from './net/peer-host.ts';
import { decodeWorkerToPage, type PageToWorker } from './worker/protocol.ts';
import type { NodeSnapshot } from './worker/snapshot.ts';
import type { IceServer } from './net/transport.ts';
import { decodeWith } from './core/decode.ts';
import { passwordProblem } from './net/room-key.ts';
import { startIceRefresh } from './net/ice-refresh.ts';
import { clientConfigPath, clientConfigSchema, type IceTransportPolicy } from '../signaling/ice-config.ts';

export type { NodeSnapshot };

export interface MeshNodeOptions {
  /** Room to join; nodes only ever see nodes of their own room. */
  room: string;
  /** WebSocket URL of the signaling server; default: /signal on this page's origin. */
  signalingUrl?: string;
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
  /** Runs a node command in the worker; rejects with the node's explanation on refusal. */
  command(name: string, ...args: unknown[]): Promise<unknown>;
  /** A fatal start-up problem, if any. */
  readonly error: string | null;
  /** Leaves gracefully: tells peers and the room, closes every link, stops the worker. */
  close(): void;
}

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

export async function createMeshNode(options: MeshNodeOptions): Promise<MeshNode> {
  const passwordRefusal = options.password !== undefined ? passwordProblem(options.password) : null;
  if (passwordRefusal) throw new Error(passwordRefusal);
  const needConfig = options.iceServers === undefined || options.iceTransportPolicy === undefined;
  const [slot, configured] = await Promise.all([claimSlot(), needConfig ? configuredIce() : null]);
  const iceServers = options.iceServers ?? configured?.iceServers ?? [];
  const iceTransportPolicy = options.iceTransportPolicy ?? configured?.iceTransportPolicy ?? 'all';
  const worker = new Worker(new URL('./worker/node.worker.ts', import.meta.url), { type: 'module', name: `tabmesh-node-${slot}` });
  const toWorker = (message: PageToWorker, transfer?: Transferable[]) => worker.postMessage(message, transfer ?? []);
  // ICE servers from /config.json may carry short-lived TURN credentials: keep them fresh.
  const iceRefresh = options.iceServers === undefined ? startIceRefresh(iceServers) : null;
  const host = new PeerHost(toWorker, { iceTransportPolicy, ...(iceRefresh ? { iceServers: () => iceRefresh.current } : {}) });
  const listeners = new Set<(snapshot: NodeSnapshot) => void>();
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let latest: NodeSnapshot | null = null;
  let error: string | null = null;
  let nextCommandId = 1;
  let closed = false;

  worker.addEventListener('message', (event: MessageEvent) => {
    const decoded = decodeWorkerToPage(event.data);
    if (!decoded.ok) {
      console.warn(`tabmesh: refused a message from the worker (${decoded.error})`);
      return;
    }
    const message = decoded.value;
    switch (message.type) {
      case 'snapshot':
        latest = message.snapshot as unknown as NodeSnapshot;
        for (const listener of listeners) listener(latest);
        return;
      case 'reply': {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(message.error ?? 'the node refused the command'));
        return;
      }
      case 'last-words':
        host.setLastWords(message.frames);
        return;
      case 'fatal':
        error = message.message;
        console.error(`tabmesh: ${message.message}`);
        return;
      default:
        host.handle(message);
    }
  });
  worker.addEventListener('error', (event) => {
    error = `the protocol worker failed: ${event.message}`;
  });

  const close = () => {
    if (closed) return;
    closed = true;
    iceRefresh?.stop();
    toWorker({ type: 'shutdown' });
    // Closing our side of every connection lets peers notice at once, even if the worker
    // is torn down before it can say goodbye.
    host.destroyAll();
  };
  addEventListener('pagehide', close);

  toWorker({
    type: 'init',
    slot,
    room: options.room,
    signalingUrl: options.signalingUrl ?? defaultSignalingUrl(location),
    iceServers,
    ...(options.password !== undefined ? { password: options.password } : {}),
  });

  return {
    slot,
    snapshot: () => latest,
    subscribe(listener) {
      listeners.add(listener);
      if (latest) listener(latest);
      return () => listeners.delete(listener);
    },
    command(name, ...args) {
      if (closed) return Promise.reject(new Error('this node has been closed'));
      const id = nextCommandId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        toWorker({ type: 'command', id, name, args });
      });
    },
    get error() {
      return error;
    },
    close,
  };
}
