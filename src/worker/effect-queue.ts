// Carries out a core's effects in the order durability demands: the writes of a step are on
// disk before any message of that step leaves (a vote or a refutation must never outlive the
// state it depends on — the order raft documents on Ready). Steps are applied one after the
// other, so a later step's messages never overtake an earlier step's writes.
import type { Storage } from '../store/storage.ts';

export interface Durable {
  set: ReadonlyArray<readonly [string, unknown]>;
  del: readonly string[];
}

export class EffectQueue {
  private tail: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(
    private readonly storage: Storage,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Writes `durable` (if any), then runs `afterwards` (the step's sends and events). */
  run(durable: Durable | null, afterwards: () => void): void {
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

  get storageFailures(): number {
    return this.failures;
  }

  /** Resolves when everything queued so far has been carried out. */
  drained(): Promise<void> {
    return this.tail;
  }
}
