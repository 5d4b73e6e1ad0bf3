// A node's disk in the simulator. Writes are pending until flushed; a crash throws pending
// writes away (all of them, or — with an Rng — all but a random prefix, as a disk that had
// written some batches in order). Each batch lands whole or not at all, like one IndexedDB
// transaction. The API is synchronous because the simulator is: a runtime awaits the real
// Storage; here a "flush" is the moment that await would have resolved.
import type { Rng } from '../../src/core/rng.ts';
import type { Storage } from '../../src/store/storage.ts';

export type WriteOp = { kind: 'set'; key: string; value: unknown } | { kind: 'del'; key: string };

export interface StorageStats {
  batchesWritten: number;
  batchesLost: number;
}

export class SimStorage {
  private readonly durable = new Map<string, unknown>();
  private pending: WriteOp[][] = [];
  readonly stats: StorageStats = { batchesWritten: 0, batchesLost: 0 };

  /** The latest value, pending writes included (what the running node sees). */
  get(key: string): unknown {
    for (let b = this.pending.length - 1; b >= 0; b--) {
      const batch = this.pending[b] as WriteOp[];
      for (let i = batch.length - 1; i >= 0; i--) {
        const op = batch[i] as WriteOp;
        if (op.key === key) return op.kind === 'set' ? structuredClone(op.value) : undefined;
      }
    }
    const value = this.durable.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  set(key: string, value: unknown): void {
    this.write([{ kind: 'set', key, value }]);
  }

  del(key: string): void {
    this.write([{ kind: 'del', key }]);
  }

  /** One atomic batch. Values are copied now, so later mutation by the caller changes nothing. */
  write(ops: readonly WriteOp[]): void {
    if (ops.length === 0) return;
    this.pending.push(ops.map((op) => (op.kind === 'set' ? { ...op, value: structuredClone(op.value) } : op)));
  }

  /** Keys with their latest values (pending included), optionally only under `prefix`, sorted. */
  entries(prefix = ''): Array<[string, unknown]> {
    const view = new Map(this.durable);
    for (const batch of this.pending) {
      for (const op of batch) {
        if (op.kind === 'set') view.set(op.key, op.value);
        else view.delete(op.key);
      }
    }
    return [...view.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => [key, structuredClone(value)]);
  }

  /** Only what has been flushed: what a restarted node will find. Sorted by key. */
  durableEntries(prefix = ''): Array<[string, unknown]> {
    return [...this.durable.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => [key, structuredClone(value)]);
  }

  get pendingBatches(): number {
    return this.pending.length;
  }

  /** Makes pending batches durable, in order: all of them, or only the first `count`. */
  flush(count = this.pending.length): void {
    const done = this.pending.slice(0, count);
    this.pending = this.pending.slice(count);
    for (const batch of done) this.apply(batch);
  }

  /**
   * Loses unsaved writes. Without an Rng every pending batch is lost; with one, a random
   * prefix of the pending batches (possibly none, possibly all) had reached the disk.
   */
  crash(rng?: Rng): void {
    const survivors = rng ? rng.int(this.pending.length + 1) : 0;
    for (const batch of this.pending.slice(0, survivors)) this.apply(batch);
    this.stats.batchesLost += this.pending.length - survivors;
    this.pending = [];
  }

  /** Wipes the disk (a user clearing site data). */
  wipe(): void {
    this.durable.clear();
    this.pending = [];
  }

  private apply(batch: readonly WriteOp[]): void {
    for (const op of batch) {
      if (op.kind === 'set') this.durable.set(op.key, op.value);
      else this.durable.delete(op.key);
    }
    this.stats.batchesWritten++;
  }

  /**
   * The same disk behind the async `Storage` interface of src/store, for code that takes a
   * Storage (a runtime under test). Writes through it are pending until `flush`, like any other.
   */
  asStorage(): Storage {
    return {
      get: async (key) => this.get(key),
      set: async (key, value) => this.set(key, value),
      setMany: async (entries) => this.write(entries.map(([key, value]) => ({ kind: 'set', key, value }))),
      del: async (key) => this.del(key),
      keys: async (prefix = '') => this.entries(prefix).map(([key]) => key),
      clear: async () => this.write(this.entries().map(([key]) => ({ kind: 'del', key }))),
    };
  }
}
