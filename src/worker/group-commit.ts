// The effect driver's write policy (docs/architecture.md, "Effects"). A core asks for writes
// before the messages that depend on them (a vote, a refutation must never outlive its record),
// so a node under load would wait for one IndexedDB transaction per step, one after the other.
// Here, while one batch is being written, every write asked for meanwhile is merged into the
// next batch (the last write or delete of a key wins), and the sends and events asked for after
// those writes wait for that batch: a burst of 2,000 memory writes costs a few transactions.
// Order is kept: an action never runs before a write asked for ahead of it, batches land one
// after the other, and what depended on a failed batch never runs.
//
// With `deletesWhenIdle` (pbft), deletes are garbage collection (slots below a stable
// checkpoint, a finished view change's record): no message depends on them, and a record they
// miss after a crash is one the core ignores on restart (and deletes then). Storage deletes one
// key per transaction, so a stable checkpoint's eight deletes used to hold the next vote for
// eight transactions. They wait until nothing else is pending and go one at a time, so a vote
// waits for one delete at most; a later write of the same key cancels its delete.
import type { Storage } from '../store/storage.ts';

/** Write-time samples kept for the snapshot's p50/p99. */
export const writeSamples = 256;
/** Deletes waiting for an idle moment (`deletesWhenIdle`); beyond this they go with the next batch. */
export const maxGarbageKeys = 256;

export interface DurableStats {
  /** Transactions written, and persist requests merged into them. */
  batches: number;
  requests: number;
  /** Time from a batch being handed to storage to it being durable. */
  writeMs: { p50: number | null; p99: number | null };
}

export interface GroupCommitOptions {
  /** Milliseconds, for the write-time samples. */
  now(): number;
  /** A batch could not be written (its actions are dropped). */
  failed(error: unknown): void;
  /**
   * true (the default): writes asked for while a batch is on its way share the next batch.
   * false: every persist request is a transaction of its own (still in order).
   */
  grouped?: boolean;
  /** Deletes wait for an idle moment and hold back no action (see the header). */
  deletesWhenIdle?: boolean;
}

/** key → value to write, or null to delete (one op per key: the last word wins). */
type Batch = Map<string, { value: unknown } | null>;

export class GroupCommit {
  /** Batches asked for and not yet handed to storage (grouped: at most one). */
  private readonly queued: Batch[] = [];
  /** Actions in the order asked, each with the batch whose writes it must wait for. */
  private readonly actions: Array<{ after: number; run: () => void }> = [];
  /** Batches handed to storage, and batches known durable (or failed). */
  private started = 0;
  private finished = 0;
  private writing = false;
  private waiters: Array<() => void> = [];
  private batches = 0;
  private requests = 0;
  private failures = 0;
  private readonly samples: number[] = [];
  private nextSample = 0;
  private readonly grouped: boolean;
  /** Keys to delete once nothing is pending (`deletesWhenIdle`). */
  private readonly garbage = new Set<string>();
  private deleting = false;
  private deleteWithNextBatch = false;

  constructor(
    private readonly storage: Storage,
    private readonly options: GroupCommitOptions,
  ) {
    this.grouped = options.grouped ?? true;
  }

  /** Writes these keys and deletes those, before any action asked for after this call. */
  persist(writes: ReadonlyArray<readonly [string, unknown]>, deletes: readonly string[]): void {
    if (writes.length === 0 && deletes.length === 0) return;
    if (this.options.deletesWhenIdle) return this.persistDeferringDeletes(writes, deletes);
    let batch = this.grouped ? this.queued[this.queued.length - 1] : undefined;
    if (!batch) this.queued.push((batch = new Map()));
    for (const [key, value] of writes) batch.set(key, { value });
    for (const key of deletes) batch.set(key, null);
    this.requests++;
    this.flush();
  }

  private persistDeferringDeletes(writes: ReadonlyArray<readonly [string, unknown]>, deletes: readonly string[]): void {
    const queued = this.queued[this.queued.length - 1];
    for (const key of deletes) {
      queued?.delete(key);
      this.garbage.add(key);
    }
    if (writes.length > 0) {
      let batch = this.grouped ? queued : undefined;
      if (!batch) this.queued.push((batch = new Map()));
      for (const [key, value] of writes) {
        batch.set(key, { value });
        this.garbage.delete(key);
      }
    }
    // A backlog that never finds an idle moment goes with the next batch (bounded memory).
    if (this.garbage.size > maxGarbageKeys) this.deleteWithNextBatch = true;
    this.requests++;
    this.flush();
  }

  /** Runs `action` once every write asked for so far is durable; never, if one of them failed. */
  after(action: () => void): void {
    const after = this.started + this.queued.length;
    // Nothing to wait for and nothing waiting ahead: now, in the caller's turn.
    if (after <= this.finished && this.actions.length === 0) return action();
    this.actions.push({ after, run: action });
    if (after <= this.finished) queueMicrotask(() => this.runDue());
  }

  /** Actions waiting for writes (a driver stops taking input when too many wait: a slow disk must not grow memory). */
  get backlog(): number {
    return this.actions.length;
  }

  /** Batches that could not be written. */
  get storageFailures(): number {
    return this.failures;
  }

  /** Resolves when nothing is waiting to be written or run. */
  idle(): Promise<void> {
    if (this.quiet()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stats(): DurableStats {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (p: number) =>
      sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
    return { batches: this.batches, requests: this.requests, writeMs: { p50: at(50), p99: at(99) } };
  }

  private quiet(): boolean {
    return !this.writing && !this.deleting && this.garbage.size === 0 && this.queued.length === 0 && this.actions.length === 0;
  }

  /** Hands the next batch to storage, unless one is on its way already. */
  private flush(): void {
    if (this.writing || this.deleting) return;
    const next = this.queued.shift() ?? (this.deleteWithNextBatch ? new Map() : undefined);
    if (!next) return this.collectGarbage();
    const set: Array<[string, unknown]> = [];
    const del: string[] = [];
    for (const [key, write] of next) {
      if (write) set.push([key, write.value]);
      else del.push(key);
    }
    if (this.deleteWithNextBatch) {
      del.push(...this.garbage);
      this.garbage.clear();
      this.deleteWithNextBatch = false;
    }
    this.writing = true;
    const batch = ++this.started;
    this.batches++;
    void this.write(set, del).then((ok) => {
      this.writing = false;
      this.finished = batch;
      // What depended on a failed write must not happen (a vote must not outlive its record).
      if (!ok) while (this.actions.length > 0 && (this.actions[0] as { after: number }).after <= batch) this.actions.shift();
      this.runDue();
      this.flush();
    });
  }

  /** One delete while nothing else is pending; the next batch waits for this one transaction at most. */
  private collectGarbage(): void {
    const key = this.garbage.values().next().value;
    if (key === undefined) {
      if (this.quiet()) for (const resolve of this.waiters.splice(0)) resolve();
      return;
    }
    this.garbage.delete(key);
    this.deleting = true;
    void this.storage
      .del(key)
      .catch((error: unknown) => {
        this.failures++;
        this.options.failed(error);
      })
      .then(() => {
        this.deleting = false;
        this.flush();
      });
  }

  /** One batch: true once durable, false (reported) when storage failed. */
  private async write(set: Array<[string, unknown]>, del: string[]): Promise<boolean> {
    const began = this.options.now();
    try {
      if (set.length > 0) await this.storage.setMany(set);
      for (const key of del) await this.storage.del(key);
    } catch (error) {
      this.failures++;
      this.options.failed(error);
      return false;
    }
    this.sample(this.options.now() - began);
    return true;
  }

  private runDue(): void {
    while (this.actions.length > 0 && (this.actions[0] as { after: number }).after <= this.finished) (this.actions.shift() as { run: () => void }).run();
    if (this.quiet()) for (const resolve of this.waiters.splice(0)) resolve();
  }

  private sample(ms: number): void {
    if (this.samples.length < writeSamples) this.samples.push(ms);
    else this.samples[this.nextSample] = ms;
    this.nextSample = (this.nextSample + 1) % writeSamples;
  }
}
