// Group commit for the core's writes. The core asks for a write before every vote it sends, so
// under load a replica would otherwise wait for one IndexedDB transaction per vote, one after
// the other. Here, while one batch is being written, everything the core persists meanwhile is
// merged into the next batch (the last write or delete of a key wins), and the sends and events
// that came after those writes wait for that batch. Order is kept: an action never runs before a
// write the core asked for ahead of it, and batches land in order (EffectQueue).
//
// Deletes are garbage collection (slots below a stable checkpoint, a finished view change's
// record, epoch records beyond the cap): no vote depends on them, and a record they miss after
// a crash is one the core ignores on restart (and deletes then). Storage deletes one key per
// transaction, so a stable checkpoint's eight deletes used to hold the next vote for eight
// IndexedDB transactions. They now wait until no write is pending and go one at a time, so a
// vote waits for one at most; a later write of the same key cancels its delete.
import type { EffectQueue } from '../effect-queue.ts';
import type { Millis } from '../../core/types.ts';

/** Write-time samples kept for the snapshot's p50/p99. */
export const writeSamples = 256;
/** Deletes waiting for an idle moment; beyond this they go with the next write. */
export const maxGarbageKeys = 256;

export interface DurableStats {
  /** Transactions written, and persist requests of the core merged into them. */
  batches: number;
  requests: number;
  /** Time from a batch being handed to storage to it being durable. */
  writeMs: { p50: number | null; p99: number | null };
}

export class GroupCommit {
  /** key → value to write (the last word wins). */
  private pending = new Map<string, unknown>();
  /** Keys to delete once nothing is pending (a later write of a key takes it out). */
  private readonly garbage = new Set<string>();
  private deleting = false;
  /** Actions in the order asked, each with the batch whose writes it must wait for. */
  private readonly actions: Array<{ after: number; run: () => void }> = [];
  /** Batches handed to storage, and batches known durable (or failed). */
  private started = 0;
  private finished = 0;
  private writing = false;
  private deleteWithNextWrite = false;
  private waiters: Array<() => void> = [];
  private batches = 0;
  private requests = 0;
  private readonly samples: number[] = [];
  private nextSample = 0;

  constructor(
    private readonly effects: EffectQueue,
    private readonly now: () => Millis,
  ) {}

  /** Writes these keys and deletes those, before any action asked for after this call. */
  persist(writes: ReadonlyArray<readonly [string, unknown]>, deletes: readonly string[]): void {
    for (const [key, value] of writes) {
      this.pending.set(key, value);
      this.garbage.delete(key);
    }
    for (const key of deletes) {
      this.pending.delete(key);
      this.garbage.add(key);
    }
    // A backlog that never finds an idle moment is deleted with the writes (bounded memory).
    if (this.garbage.size > maxGarbageKeys) this.deleteWithNextWrite = true;
    this.requests++;
    this.flush();
  }

  /** Runs `action` once every write asked for so far is durable; never, if one of them failed. */
  after(action: () => void): void {
    // Writes not handed to storage yet go in the next batch; otherwise the last one started.
    const after = this.pending.size > 0 ? this.started + 1 : this.started;
    this.actions.push({ after, run: action });
    if (after <= this.finished) queueMicrotask(() => this.runDue());
  }

  /** Actions waiting for writes (the driver stops stepping when too many wait: a slow disk must not grow memory). */
  get backlog(): number {
    return this.actions.length;
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
    return !this.writing && !this.deleting && this.pending.size === 0 && this.garbage.size === 0 && this.actions.length === 0;
  }

  /** Hands the pending writes to storage as one batch, unless a batch is on its way already. */
  private flush(): void {
    if (this.writing) return;
    if (this.pending.size === 0 && !this.deleteWithNextWrite) return this.collectGarbage();
    const set: Array<[string, unknown]> = [...this.pending];
    const del: string[] = this.deleteWithNextWrite ? [...this.garbage] : [];
    if (this.deleteWithNextWrite) this.garbage.clear();
    this.deleteWithNextWrite = false;
    this.pending = new Map();
    this.writing = true;
    const batch = ++this.started;
    this.batches++;
    const began = this.now();
    let ok = false;
    this.effects.run({ set, del }, () => {
      ok = true;
      this.sample(this.now() - began);
    });
    // drained() settles whether the write succeeded or failed (EffectQueue reports failures).
    void this.effects.drained().then(() => {
      this.writing = false;
      this.finished = batch;
      // What depended on a failed write must not happen (a vote must not outlive its record).
      if (!ok) while (this.actions.length > 0 && (this.actions[0] as { after: number }).after <= batch) this.actions.shift();
      this.runDue();
      this.flush();
    });
  }

  /** One delete while nothing is pending; the next write waits for this one transaction at most. */
  private collectGarbage(): void {
    if (this.deleting || this.garbage.size === 0) {
      if (this.quiet()) for (const resolve of this.waiters.splice(0)) resolve();
      return;
    }
    const key = this.garbage.values().next().value as string;
    this.garbage.delete(key);
    this.deleting = true;
    this.effects.run({ set: [], del: [key] }, () => {});
    void this.effects.drained().then(() => {
      this.deleting = false;
      this.flush();
    });
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
