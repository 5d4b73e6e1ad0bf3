// A node's queued tasks: one list per priority (critical, high, medium, low), each ordered by
// cost estimate, largest first (LPT: long tasks start early so they do not end the makespan),
// ties in arrival order. Costs are normalised per job at submission (mean 1), so jobs of
// different kinds compare fairly. The owner takes from the front; a thief or shed target gets
// tasks packed onto its workers (takeFitting), long ones first but not more than it can start.
import { priorities, refKey, type Priority, type WorkItem } from './messages.ts';

interface Entry {
  item: WorkItem;
  key: string;
  seq: number;
  /** When it entered this queue (local time), so fresh arrivals are not passed straight on. */
  arrivedAt: number;
}

const before = (a: Entry, b: Entry): boolean => a.item.cost > b.item.cost || (a.item.cost === b.item.cost && a.seq < b.seq);

export class TaskQueues {
  private readonly levels: Entry[][] = priorities.map(() => []);
  private readonly byKey = new Map<string, Entry>();
  private arrivals = 0;
  private costSum = 0;

  get size(): number {
    return this.byKey.size;
  }

  /** Summed cost estimate of everything queued. */
  get totalCost(): number {
    return this.costSum;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): WorkItem | undefined {
    return this.byKey.get(key)?.item;
  }

  sizeOf(priority: Priority): number {
    return this.levels[priorities.indexOf(priority)]!.length;
  }

  /** Adds a task; false (and nothing changes) if the same attempt is already queued. */
  push(item: WorkItem, now = 0): boolean {
    const key = refKey(item);
    if (this.byKey.has(key)) return false;
    const entry: Entry = { item, key, seq: this.arrivals++, arrivedAt: now };
    const level = this.levels[priorities.indexOf(item.priority)]!;
    // Binary search for the first entry this one goes before.
    let lo = 0;
    let hi = level.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(level[mid]!, entry)) lo = mid + 1;
      else hi = mid;
    }
    level.splice(lo, 0, entry);
    this.byKey.set(key, entry);
    this.costSum += item.cost;
    return true;
  }

  /** The first task in run order that `runnable` accepts, removed; undefined if none. */
  takeNext(runnable: (item: WorkItem) => boolean): WorkItem | undefined {
    for (const level of this.levels) {
      for (let i = 0; i < level.length; i++) {
        const entry = level[i]!;
        if (!runnable(entry.item)) continue;
        level.splice(i, 1);
        this.forget(entry);
        return entry.item;
      }
    }
    return undefined;
  }

  /** Whether any queued task is one `runnable` accepts. */
  hasAny(runnable: (item: WorkItem) => boolean): boolean {
    for (const level of this.levels) for (const entry of level) if (runnable(entry.item)) return true;
    return false;
  }

  /**
   * Tasks for a thief or a shed target (the taker), at most `budget` of summed cost. Walking
   * the run order (largest first), each task goes to whichever side would start it sooner, on
   * a simple model of each side's workers as lanes that free up in turn (list scheduling, as
   * in LPT): here after `giver.work` plus what stays ahead of it, there after `taker.work` plus
   * what it was given — and only if it would also end there within the taker's horizon,
   * (taker.work + budget) ÷ taker.lanes. So a taker gets long tasks while it can start them
   * early, about one per worker, and fills up with short ones, while a giver keeps what it will
   * start soon. At most `maxTasks` tasks and `maxBytes` (by `sizeOf`) leave; with `atLeastOne`
   * the first eligible task goes whatever the arithmetic says (an idle thief must get something).
   */
  takeFitting(
    eligible: (item: WorkItem, arrivedAt: number) => boolean,
    budget: number,
    taker: { lanes: number; work: number },
    giver: { lanes: number; work: number },
    limits: { maxTasks: number; maxBytes: number; sizeOf: (item: WorkItem) => number; atLeastOne: boolean },
  ): WorkItem[] {
    const taken: Entry[] = [];
    const there = new Lanes(taker.lanes, taker.work);
    const here = new Lanes(giver.lanes, giver.work);
    const horizon = taker.lanes > 0 ? (taker.work + budget) / taker.lanes + 1e-9 : 0;
    let given = 0;
    let bytes = 0;
    let first: Entry | undefined;
    outer: for (const level of this.levels) {
      for (const entry of level) {
        if (!eligible(entry.item, entry.arrivedAt)) continue;
        first ??= entry;
        if (taken.length >= limits.maxTasks) break outer;
        const c = entry.item.cost;
        const startsThere = there.nextFree();
        if (given + c > budget || startsThere >= here.nextFree() || startsThere + c > horizon) {
          here.add(c);
          continue;
        }
        const size = limits.sizeOf(entry.item);
        if (taken.length > 0 && bytes + size > limits.maxBytes) break outer;
        taken.push(entry);
        there.add(c);
        given += c;
        bytes += size;
      }
    }
    if (taken.length === 0 && limits.atLeastOne && first) taken.push(first);
    this.removeEntries(taken);
    return taken.map((e) => e.item);
  }

  /** Summed cost and number of the tasks `eligible` accepts. */
  costOf(eligible: (item: WorkItem) => boolean): { cost: number; count: number } {
    let cost = 0;
    let count = 0;
    for (const level of this.levels) {
      for (const entry of level) {
        if (!eligible(entry.item)) continue;
        cost += Math.max(entry.item.cost, 1e-6);
        count++;
      }
    }
    return { cost, count };
  }

  /** Removes one attempt by key. */
  remove(key: string): WorkItem | undefined {
    const entry = this.byKey.get(key);
    if (!entry) return undefined;
    this.removeEntries([entry]);
    return entry.item;
  }

  /** Removes and returns every task `match` accepts. */
  removeWhere(match: (item: WorkItem) => boolean): WorkItem[] {
    const removed: WorkItem[] = [];
    for (const level of this.levels) {
      let write = 0;
      for (const entry of level) {
        if (match(entry.item)) {
          removed.push(entry.item);
          this.forget(entry);
        } else level[write++] = entry;
      }
      level.length = write;
    }
    return removed;
  }

  /** Every queued task, in run order. */
  items(): WorkItem[] {
    return this.levels.flatMap((level) => level.map((e) => e.item));
  }

  private removeEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const gone = new Set(entries);
    for (const level of this.levels) {
      if (!level.some((e) => gone.has(e))) continue;
      let write = 0;
      for (const entry of level) if (!gone.has(entry)) level[write++] = entry;
      level.length = write;
    }
    for (const entry of entries) this.forget(entry);
  }

  private forget(entry: Entry): void {
    this.byKey.delete(entry.key);
    this.costSum -= entry.item.cost;
    if (this.byKey.size === 0) this.costSum = 0; // no drift from float sums
  }
}

/** Most worker lanes modelled one by one; beyond, lanes are pooled (the estimate is coarse anyway). */
const maxModelledLanes = 64;

/** A node's workers as lanes that each free up after the work put on them (earliest first). */
class Lanes {
  private readonly free: number[];
  constructor(lanes: number, work: number) {
    const n = Math.min(Math.max(0, lanes), maxModelledLanes);
    const scale = lanes > 0 ? lanes / Math.max(1, n) : 1;
    this.scale = scale;
    // Work already there is spread evenly: its real split is unknown.
    this.free = Array.from({ length: n }, () => (n > 0 ? work / lanes : 0));
  }
  private readonly scale: number;

  /** When the earliest lane frees up (never, with no lanes). */
  nextFree(): number {
    if (this.free.length === 0) return Number.POSITIVE_INFINITY;
    let min = this.free[0] as number;
    for (const f of this.free) if (f < min) min = f;
    return min;
  }

  add(cost: number): void {
    if (this.free.length === 0) return;
    let at = 0;
    for (let i = 1; i < this.free.length; i++) if ((this.free[i] as number) < (this.free[at] as number)) at = i;
    this.free[at] = (this.free[at] as number) + cost / this.scale;
  }
}
