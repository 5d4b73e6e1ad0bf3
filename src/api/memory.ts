// room.memory: the room's replicated memory (gossip, last writer wins by hybrid logical clock).
// Reads are local and instant; writes spread to every node within seconds; 'change' tells of
// every change as it reaches this node, whoever made it.
import { maxKeyChars, maxValueBytes } from '../core/gossip/config.ts';
import { jsonProblem } from '../core/gossip/json.ts';
import type { NodeBackend } from './backend.ts';
import { InvalidArgumentError, fromNodeError } from './errors.ts';
import { TypedEmitter, type Unsubscribe } from './events.ts';
import type { MemoryChange } from '../worker/protocol.ts';

/** One key of the memory as this node holds it. */
export interface MemoryEntry {
  /** The key. */
  key: string;
  /** Its JSON value. */
  value: unknown;
  /** The node that wrote this value. */
  origin: string;
  /** When, as a hybrid logical clock stamp (orders writes across nodes; newest wins). */
  hlc: string;
}

/** A change of one key, as it reached this node. */
export interface MemoryChangeEvent {
  /** The key that changed. */
  key: string;
  /** The new value; undefined when the key was deleted. */
  value: unknown;
  /** True when the key was deleted. */
  deleted: boolean;
  /** The node that made the change (this node's id for its own writes). */
  origin: string;
  /** The change's hybrid logical clock stamp. */
  hlc: string;
}

/** The events of room.memory. */
export interface MemoryEvents {
  [event: string]: unknown[];
  /** A key was set or deleted, here or anywhere in the room. */
  change: [change: MemoryChangeEvent];
}

/** The room's replicated memory: JSON values under string keys, shared by every node of the room. */
export interface RoomMemory {
  /** The value of `key` as this node holds it now (a copy), or undefined if there is none. */
  get(key: string): unknown;
  /** Whether `key` has a value here now. */
  has(key: string): boolean;
  /**
   * Writes `value` (any JSON value, at most 8 KiB as JSON) under `key` (1–256 characters). It is
   * visible here at once and spreads to the room by gossip. Rejects with an InvalidArgumentError
   * for a bad key or value.
   */
  set(key: string, value: unknown): Promise<void>;
  /** Deletes `key` everywhere (a tombstone spreads); resolves true if it had a value here, false if there was nothing to delete. */
  delete(key: string): Promise<boolean>;
  /** Every key with a value, sorted by key (copies). */
  entries(): MemoryEntry[];
  /** Calls `listener` on every change; returns the unsubscribe. */
  on(event: 'change', listener: (change: MemoryChangeEvent) => void): Unsubscribe;
  /** Stops calling `listener`. */
  off(event: 'change', listener: (change: MemoryChangeEvent) => void): void;
}

/** What the memory needs from the room: its node, and a guard that throws once the room is left. */
export interface MemoryHost {
  backend: NodeBackend;
  ensureOpen(): void;
}

const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

function checkKey(key: unknown, call: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyChars)
    throw new InvalidArgumentError(`${call}: key`, `must be a string of 1–${maxKeyChars} characters`);
  return key;
}

/** The room's memory over `host.backend` (the room calls `dispose` when it is left). */
export class BackendMemory implements RoomMemory {
  private readonly events = new TypedEmitter<MemoryEvents>();
  /** Stamp of each key as last told to listeners: a reset (worker restart) only tells what differs. */
  private readonly told = new Map<string, string>();
  private readonly stop: Unsubscribe;

  constructor(private readonly host: MemoryHost) {
    for (const entry of this.entries()) this.told.set(entry.key, entry.hlc);
    this.stop = host.backend.subscribeMemory((changes, reset) => this.receive(changes, reset));
  }

  get(key: string): unknown {
    this.host.ensureOpen();
    checkKey(key, 'memory.get');
    return copy(this.host.backend.memory(key)?.value);
  }

  has(key: string): boolean {
    this.host.ensureOpen();
    checkKey(key, 'memory.has');
    return this.host.backend.memory(key) !== undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    this.host.ensureOpen();
    checkKey(key, 'memory.set');
    if (value === undefined) throw new InvalidArgumentError('memory.set: value', 'is missing; to remove a key use memory.delete(key)');
    const problem = jsonProblem(value);
    if (problem) throw new InvalidArgumentError('memory.set: value', `must be JSON: ${problem}`);
    const size = JSON.stringify(value).length;
    if (size > maxValueBytes) throw new InvalidArgumentError('memory.set: value', `is ${size} characters of JSON; the limit is ${maxValueBytes}`);
    try {
      await this.host.backend.command('setMemory', key, value);
    } catch (error) {
      throw fromNodeError(error);
    }
  }

  async delete(key: string): Promise<boolean> {
    this.host.ensureOpen();
    checkKey(key, 'memory.delete');
    if (this.host.backend.memory(key) === undefined) return false;
    try {
      await this.host.backend.command('deleteMemory', key);
      return true;
    } catch (error) {
      // Deleted meanwhile (by another node): nothing was left to delete.
      if (this.host.backend.memory(key) === undefined) return false;
      throw fromNodeError(error);
    }
  }

  entries(): MemoryEntry[] {
    this.host.ensureOpen();
    const list = (this.host.backend.snapshot()?.memoryEntries ?? []) as MemoryEntry[];
    return list.map((e) => ({ key: e.key, value: copy(e.value), origin: e.origin, hlc: e.hlc }));
  }

  on(event: 'change', listener: (change: MemoryChangeEvent) => void): Unsubscribe {
    if (event !== 'change') throw new InvalidArgumentError('memory.on: event', `must be 'change'`);
    if (typeof listener !== 'function') throw new InvalidArgumentError('memory.on: listener', 'must be a function');
    return this.events.on('change', listener);
  }

  off(event: 'change', listener: (change: MemoryChangeEvent) => void): void {
    this.events.off(event, listener);
  }

  /** Stops listening to the node and drops every listener. */
  dispose(): void {
    this.stop();
    this.events.clear();
  }

  private receive(changes: readonly MemoryChange[], reset: boolean): void {
    if (reset) {
      // The whole memory again (start, a restarted worker): tell only what differs from before.
      const now = new Set(changes.map((c) => c.key));
      for (const [key, hlc] of [...this.told]) {
        if (!now.has(key)) {
          this.told.delete(key);
          this.events.emit('change', { key, value: undefined, deleted: true, origin: '', hlc });
        }
      }
    }
    for (const change of changes) {
      const deleted = change.value === undefined;
      if (reset && this.told.get(change.key) === change.hlc) continue;
      if (deleted) this.told.delete(change.key);
      else this.told.set(change.key, change.hlc);
      if (this.events.listenerCount('change') > 0)
        this.events.emit('change', { key: change.key, value: copy(change.value), deleted, origin: change.origin, hlc: change.hlc });
    }
  }
}
