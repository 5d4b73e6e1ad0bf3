// window.tabmesh: everything the UI can do, as methods, so browser tests and people in
// devtools can drive a tab. Names are public: extend, never rename (docs/reference.md documents them).
// Every method is a call on the dashboard's Room (the library API, src/api/): nothing here talks
// to the node any other way.
import type { NodeSnapshot } from './mesh-node.ts';
import type { StatusRecord } from './worker/services/status-record.ts';
import type { ByzantineMode } from './core/pbft/index.ts';
import type { MeshSettings } from './worker/services/settings-schema.ts';
import { applyAndRemember, restoreSettings } from './worker/services/settings-session.ts';
import { useRoomPassword } from './ui/room-password.ts';
import type { TabmeshDebugApi } from './debug-api.ts';
import type { Compute } from './api/compute.ts';
import type { Consensus, StateMachine } from './api/consensus.ts';
import { joinRoom, type JoinRoomOptions, type Room } from './api/index.ts';
import type { JobRequest } from './api/admin.ts';

export type { JobRequest };

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
  /** Compute with your own kernels (register, submit): the app API's `room.compute` for this tab's node (src/api/compute.ts). */
  compute: Compute;
  /**
   * The library's joinRoom (src/api/index.ts), for devtools and tests: starts another node in
   * this page, in any room, beside the dashboard's own. Each has its own worker and slot.
   */
  joinRoom(options: JoinRoomOptions): Promise<Room>;
  /** The dashboard's own node as a library Room (the same object the dashboard uses). */
  room: Room;
}

declare global {
  interface Window {
    tabmesh: TabmeshApi;
  }
}

/** Installs window.tabmesh over the dashboard's `room` and re-applies this tab's remembered settings. */
export function installWindowApi(room: Room): TabmeshApi {
  const { admin, memory } = room;
  /** Adapts the settings session helper (which speaks command names) to room.admin. */
  const settingsCommand = (_name: string, change: unknown) => admin.setSettings(change as Partial<MeshSettings>);
  const api: TabmeshApi = {
    snapshot: () => {
      const latest = room.closed ? null : room.snapshot();
      return latest ? structuredClone(latest) : null;
    },
    getMemory: (key) => (typeof key === 'string' && key !== '' && !room.closed ? memory.get(key) : undefined),
    onMemory: (listener) =>
      memory.on('change', ({ key, value, deleted, origin, hlc }) => listener(deleted ? { key, origin, hlc } : { key, value, origin, hlc })),
    ready: () =>
      new Promise((resolve) => {
        const now = room.snapshot();
        if (now) return resolve(structuredClone(now));
        const stop = room.on('snapshot', (snapshot) => {
          queueMicrotask(() => stop());
          resolve(structuredClone(snapshot));
        });
      }),
    send: async (peer, text) => {
      await admin.sendText(peer, text);
      return true;
    },
    broadcast: (text) => admin.broadcastText(text),
    reconnectSignaling: async () => {
      await admin.reconnectSignaling();
      return true;
    },
    dropLink: async (peer) => {
      await admin.dropLink(peer);
      return true;
    },
    statusRecord: () => admin.statusRecord(),
    setLinkBounds: (minLinks, maxLinks) => admin.setLinkBounds(minLinks, maxLinks),
    setMemory: async (key, value) => {
      await memory.set(key, value);
      return true;
    },
    deleteMemory: async (key) => {
      await memory.delete(key);
      return true;
    },
    propose: (op) => admin.propose(op),
    setByzantine: async (mode) => {
      await admin.setByzantine(mode);
      return true;
    },
    submitJob: (job) => admin.submitJob(job),
    jobResult: (id) => admin.jobResult(id),
    cancelJob: async (id) => {
      await admin.cancelJob(id);
      return true;
    },
    setSettings: (change) => applyAndRemember(settingsCommand, room.room, change),
    settings: () => admin.settings(),
    setRoomPassword: async (password) => useRoomPassword(room.room, password),
    debug: room.debug,
    consensus: (name, machine) => room.consensus(name, machine),
    compute: room.compute,
    joinRoom,
    room,
  };
  window.tabmesh = api;
  // Settings this tab had before a reload come back as soon as the node runs.
  void restoreSettings(settingsCommand, room.room);
  return api;
}

/**
 * window.tabmesh for a page whose node could not start (`error`): snapshot() is null, reads are
 * empty, every action rejects with that error, and joinRoom still works (for devtools and tests).
 */
export function installFailedWindowApi(error: Error): void {
  const refuse = () => Promise.reject(error);
  const debug: TabmeshDebugApi = { flood: refuse, acceptedTasks: refuse, crashWorker: refuse, hangWorker: refuse };
  window.tabmesh = {
    snapshot: () => null,
    ready: refuse,
    send: refuse,
    broadcast: refuse,
    reconnectSignaling: refuse,
    statusRecord: refuse,
    dropLink: refuse,
    setLinkBounds: refuse,
    setMemory: refuse,
    deleteMemory: refuse,
    getMemory: () => undefined,
    onMemory: () => () => {},
    propose: refuse,
    setByzantine: refuse,
    submitJob: refuse,
    jobResult: refuse,
    cancelJob: refuse,
    setSettings: refuse,
    settings: refuse,
    setRoomPassword: refuse,
    debug,
    consensus: () => {
      throw error;
    },
    get compute(): Compute {
      throw error;
    },
    joinRoom,
    // No node, so no Room: reading it throws the start error.
    get room(): Room {
      throw error;
    },
  };
}
