// Carries out a core's effects in the order durability demands: the writes of a step are on
// disk before any message of that step leaves (a vote or a refutation must never outlive the
// state it depends on — the order raft documents on Ready). Steps are applied one after the
// other, so a later step's messages never overtake an earlier step's writes.
import type { Storage } from '../store/storage.ts';

export interface Durable {
  set: ReadonlyArray<readonly [string, unknown]>;
  del: readonly string[];
}

/**
 * With `grouped`, the steps that come while a write is on its way are merged into one batch,
 * written as one transaction (the last write or delete of a key wins), and their actions run in
 * order once it is durable (group commit). A burst of 2,000 memory writes then costs a few
 * IndexedDB transactions instead of 2,000 one after the other. If a batch fails, none of its
 * steps' actions run.
 */
interface Batch {
  set: Map<string, unknown>;
  del: Set<string>;
  after: Array<() => void>;
}

export class EffectQueue {
  private tail: Promise<void> = Promise.resolve();
  private failures = 0;
  /** The grouped batch still taking steps (not yet handed to storage). */
  private open: Batch | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly onError: (error: unknown) => void,
    private readonly options: { grouped?: boolean } = {},
  ) {}

  /** Writes `durable` (if any), then runs `afterwards` (the step's sends and events). */
  run(durable: Durable | null, afterwards: () => void): void {
    if (this.options.grouped) return this.runGrouped(durable, afterwards);
    if (!durable || (durable.set.length === 0 && durable.del.length === 0)) {
      // Nothing to wait for, but keep order with writes still in flight.
      this.tail = this.tail.then(afterwards, afterwards);
      return;
    }
    this.tail = this.tail
      .then(async () => {
        if (durable.set.length > 0) await this.storage.setMany(durable.set);
        for (const key of durable.del) await this.storage.del(key);
      })
      .then(afterwards, (error: unknown) => {
        // Storage failed: the step's messages must not go out (they may depend on it).
        this.failures++;
        this.onError(error);
      });
  }

  private runGrouped(durable: Durable | null, afterwards: () => void): void {
    const batch = this.open;
    if (batch) {
      for (const [key, value] of durable?.set ?? []) {
        batch.del.delete(key);
        batch.set.set(key, value);
      }
      for (const key of durable?.del ?? []) {
        batch.set.delete(key);
        batch.del.add(key);
      }
      batch.after.push(afterwards);
      return;
    }
    if (!durable || (durable.set.length === 0 && durable.del.length === 0)) {
      this.tail = this.tail.then(afterwards, afterwards);
      return;
    }
    const next: Batch = { set: new Map(durable.set), del: new Set(durable.del), after: [afterwards] };
    this.open = next;
    const runAll = () => {
      for (const action of next.after) action();
    };
    this.tail = this.tail
      .then(async () => {
        // From here on, new steps start the next batch.
        if (this.open === next) this.open = null;
        if (next.set.size > 0) await this.storage.setMany([...next.set]);
        for (const key of next.del) await this.storage.del(key);
      })
      .then(runAll, (error: unknown) => {
        this.failures++;
        this.onError(error);
      });
  }

  get storageFailures(): number {
    return this.failures;
  }

  /** Resolves when everything queued so far has been carried out. */
  drained(): Promise<void> {
    return this.tail;
  }
}
