// A node's disk in the simulator: IndexedDB's semantics on the virtual clock. A write is seen by
// later reads at once (transactions on one store run in order) but is durable only when its
// commit comes, a few virtual milliseconds later, and its promise resolves then. A crash loses
// the writes not yet committed, or, torn, keeps a random subset of them (each transaction stays
// all-or-nothing, as in IndexedDB); the next life of the node opens what was durable.
import type { Rng } from '../../../src/core/rng.ts';
import type { Storage } from '../../../src/store/storage.ts';
import type { VirtualScheduler } from './scheduler.ts';

type Write = Array<readonly [string, unknown]>;
/** A deletion inside a write. */
const deleted = Symbol('deleted');

/** What survives between lives: the committed entries. */
export class SimDisk {
  readonly durable = new Map<string, unknown>();
  /** Crashes that tore the pending writes (kept some, lost others). */
  tornCrashes = 0;
  writesLost = 0;
}

export class SimStorage implements Storage {
  private readonly visible: Map<string, unknown>;
  private readonly pending: Array<{ write: Write; done: () => void }> = [];
  private dead = false;

  constructor(
    private readonly disk: SimDisk,
    private readonly scheduler: VirtualScheduler,
    private readonly rng: Rng,
    /** Virtual ms from a write to its commit. */
    private readonly commitDelayMs: () => number,
  ) {
    this.visible = new Map([...disk.durable].map(([k, v]) => [k, structuredClone(v)]));
  }

  async get(key: string): Promise<unknown> {
    const value = this.visible.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }
  set(key: string, value: unknown): Promise<void> {
    return this.write([[key, structuredClone(value)]]);
  }
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    return this.write(entries.map(([k, v]) => [k, structuredClone(v)] as const));
  }
  del(key: string): Promise<void> {
    return this.write([[key, deleted]]);
  }
  async keys(prefix = ''): Promise<string[]> {
    return [...this.visible.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  clear(): Promise<void> {
    return this.write([...this.visible.keys()].map((k) => [k, deleted] as const));
  }

  /**
   * The node crashed: writes not yet committed are lost, or with `torn` each survives or not
   * on a coin toss. This storage is dead afterwards (its pending promises never resolve).
   */
  crash(torn: boolean): void {
    if (this.dead) return;
    this.dead = true;
    let lost = 0;
    for (const { write } of this.pending.splice(0)) {
      if (torn && this.rng.next() < 0.5) apply(this.disk.durable, write);
      else lost++;
    }
    if (torn && lost > 0) this.disk.tornCrashes++;
    this.disk.writesLost += lost;
  }

  private write(write: Write): Promise<void> {
    if (this.dead) return new Promise(() => {});
    apply(this.visible, write);
    return new Promise((resolve) => {
      const entry = { write, done: resolve };
      this.pending.push(entry);
      this.scheduler.after(this.commitDelayMs(), () => {
        if (this.dead) return;
        // Commits land in the order the writes were made.
        const index = this.pending.indexOf(entry);
        for (const earlier of this.pending.splice(0, index + 1)) {
          apply(this.disk.durable, earlier.write);
          earlier.done();
        }
      });
    });
  }
}

function apply(into: Map<string, unknown>, write: Write): void {
  for (const [key, value] of write) {
    if (value === deleted) into.delete(key);
    else into.set(key, value);
  }
}
