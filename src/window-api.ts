// window.tabmesh: everything the UI can do, as methods, so browser tests and people in
// devtools can drive a tab. Names are public: extend, never rename (docs/reference.md documents them).
import type { MeshNode, NodeSnapshot } from './mesh-node.ts';
import type { StatusRecord } from './worker/services/status-record.ts';
import type { ByzantineMode } from './core/pbft/index.ts';
import type { Priority } from './core/steal/index.ts';
import type { MeshSettings } from './worker/services/settings-schema.ts';
import { applyAndRemember, restoreSettings } from './worker/services/settings-session.ts';
import { useRoomPassword } from './ui/room-password.ts';
import { debugApi, type TabmeshDebugApi } from './debug-api.ts';
import { createConsensus, type Consensus, type StateMachine } from './api/consensus.ts';
import { joinRoom, type JoinRoomOptions, type Room } from './api/index.ts';

/** A compute job: everything but `kind` has a default (the kind's own parameters, chunks, 'medium', 1). */
export interface JobRequest {
  /** 'mandelbrot' | 'primes' | 'monte-carlo-pi' | 'proof-of-work' (or a kind the app registered). */
  kind: string;
  params?: unknown;
  /** Tasks to split the job into (Mandelbrot: ignored, its tiles decide). */
  chunks?: number;
  priority?: Priority;
  /** 1, or 2–3 for verified mode: each task runs on that many distinct nodes that must agree. */
  redundancy?: number;
}

export interface TabmeshApi {
  /** This node's state as plain JSON (a fresh copy); null until the node has started. */
  snapshot(): NodeSnapshot | null;
  /** Resolves with the first snapshot once the node runs. */
  ready(): Promise<NodeSnapshot>;
  /** Sends a text message over the direct link to `peer`. */
  send(peer: string, text: string): Promise<true>;
  /** Sends a text message to every directly linked node; resolves with how many. */
  broadcast(text: string): Promise<number>;
  /** Reconnects to the signaling server now. */
  reconnectSignaling(): Promise<true>;
  /** This node's status record `swarm/mesh/topology`, as read back from its storage (IndexedDB). */
  statusRecord(): Promise<StatusRecord | null>;
  /** Breaks the direct link to `peer` as a network fault would (the mesh heals it): for demos and tests. */
  dropLink(peer: string): Promise<true>;
  /** Sets how many direct links this node keeps (live); refused with a reason when out of range. */
  setLinkBounds(minLinks: number, maxLinks: number): Promise<{ minLinks: number; maxLinks: number }>;
  /** Writes a key of the replicated memory (any JSON value up to 8 KiB); it spreads by gossip. */
  setMemory(key: string, value: unknown): Promise<true>;
  /** Deletes a key of the replicated memory (a tombstone spreads by gossip). */
  deleteMemory(key: string): Promise<true>;
  /** One key of the replicated memory as this tab holds it now (no snapshot is copied); undefined if absent. */
  getMemory(key: string): unknown;
  /** Calls `listener` with every memory change as it reaches this tab (a delete has no value); returns the unsubscribe function. */
  onMemory(listener: (change: { key: string; value?: unknown; origin: string; hlc: string }) => void): () => void;
  /**
   * Proposes an operation to the room's pBFT consensus: text or any JSON value (a decision), or
   * { kind: 'kv-set', key, value } / { kind: 'kv-del', key }. Resolves with the committed
   * sequence number once f+1 replicas replied alike; rejects with the reason otherwise.
   */
  propose(op: unknown): Promise<number>;
  /** Makes this node's consensus replica misbehave (the live demo), or honest again with null. */
  setByzantine(mode: ByzantineMode | null): Promise<true>;
  /**
   * Runs `machine` as the room's replicated state machine `name` (src/api/consensus.ts):
   * `propose(op)` resolves with the result of applying it once committed.
   */
  consensus<Op, Result, Snapshot>(name: string, machine: StateMachine<Op, Result, Snapshot>): Consensus<Op, Result>;
  /** Submits a compute job that the mesh shares out; resolves with its id (see snapshot().jobs). */
  submitJob(job: JobRequest): Promise<string>;
  /** The assembled result of a job of this node once it is done (Mandelbrot: { width, height, pixels }). */
  jobResult(id: string): Promise<unknown>;
  /** Cancels a queued or running job of this node. */
  cancelJob(id: string): Promise<true>;
  /**
   * Changes settings live (fanout, gossipCycleMs, minLinks, maxLinks, byzantine); any subset.
   * Remembered for this tab (sessionStorage) and re-applied after a reload. Resolves with the
   * settings in force; rejects with the reason when a value is out of range.
   */
  setSettings(change: Partial<MeshSettings>): Promise<MeshSettings>;
  /** The settings in force. */
  settings(): Promise<MeshSettings>;
  /**
   * Private rooms: remembers `password` for this tab's room (sessionStorage, never the URL) and
   * reloads the page, so the node starts again and joins with it; null forgets it. A password
   * under 8 characters rejects with the reason. snapshot().privateRoom and
   * snapshot().signalingNotice tell how it went (a password nobody in the room uses: 'password-mismatch').
   */
  setRoomPassword(password: string | null): Promise<void>;
  /** Fault injection and deep reads for the chaos run and devtools (flood, acceptedTasks): src/debug-api.ts. */
  debug: TabmeshDebugApi;
  /**
   * The library's joinRoom (src/api/index.ts), for devtools and tests: starts another node in
   * this page, in any room, beside the dashboard's own. Each has its own worker and slot.
   */
  joinRoom(options: JoinRoomOptions): Promise<Room>;
}

declare global {
  interface Window {
    tabmesh: TabmeshApi;
  }
}

export function installWindowApi(node: MeshNode): TabmeshApi {
  const api: TabmeshApi = {
    snapshot: () => {
      const latest = node.snapshot();
      return latest ? structuredClone(latest) : null;
    },
    getMemory: (key) => (typeof key === 'string' ? structuredClone(node.memory(key)?.value) : undefined),
    onMemory: (listener) =>
      // A reset (start, a worker restart) lists the whole memory: each key comes as a change.
      node.subscribeMemory((changes) => {
        for (const change of changes) listener(structuredClone(change));
      }),
    ready: () =>
      new Promise((resolve) => {
        const stop = node.subscribe((snapshot) => {
          queueMicrotask(() => stop());
          resolve(structuredClone(snapshot));
        });
      }),
    send: (peer, text) => node.command('send', peer, text) as Promise<true>,
    broadcast: (text) => node.command('broadcast', text) as Promise<number>,
    reconnectSignaling: () => node.command('reconnectSignaling') as Promise<true>,
    dropLink: (peer) => node.command('dropLink', peer) as Promise<true>,
    statusRecord: () => node.command('statusRecord') as Promise<StatusRecord | null>,
    setLinkBounds: (minLinks, maxLinks) => node.command('setLinkBounds', minLinks, maxLinks) as Promise<{ minLinks: number; maxLinks: number }>,
    setMemory: (key, value) => node.command('setMemory', key, value) as Promise<true>,
    deleteMemory: (key) => node.command('deleteMemory', key) as Promise<true>,
    propose: (op) => node.command('propose', op) as Promise<number>,
    setByzantine: (mode) => node.command('setByzantine', mode) as Promise<true>,
    consensus: (name, machine) => createConsensus(node, name, machine),
    submitJob: (job) => node.command('submitJob', job) as Promise<string>,
    jobResult: (id) => node.command('jobResult', id),
    cancelJob: (id) => node.command('cancelJob', id) as Promise<true>,
    setSettings: async (change) => applyAndRemember((name, ...args) => node.command(name, ...args), (node.snapshot() ?? (await api.ready())).room, change),
    settings: () => node.command('settings') as Promise<MeshSettings>,
    setRoomPassword: async (password) => useRoomPassword((node.snapshot() ?? (await api.ready())).room, password),
    debug: debugApi(node),
    joinRoom,
  };
  window.tabmesh = api;
  // Settings this tab had before a reload come back as soon as the node runs.
  void api.ready().then((first) => restoreSettings((name, ...args) => node.command(name, ...args), first.room));
  return api;
}
