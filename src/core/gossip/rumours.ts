// Rumour mongering's bookkeeping: fresh news waits here and rides along on outgoing messages,
// least-told first, until it has been told `limit` times (λ·log n in SWIM terms); then it goes
// quiet and anti-entropy is left to finish the job. Newer news about the same subject replaces
// the older (and starts its count again).
//
// take() costs O(what it returns), not O(what is queued): after a burst of 2,000 writes every
// sync used to copy and sort the whole queue and measure every entry's JSON, the largest
// function of an idle tab 20 s later (bench:idle, docs/benchmarks.md "Idle cost, profiled").
// Rumours sit in one bucket per times told, each bucket ordered by arrival (seq); a rumour told
// or replaced leaves a stale slot behind, skipped and swept out when they pile up.

interface Rumour<T> {
  subject: string;
  item: T;
  told: number;
  limit: number;
  /** Order of arrival: among equally-told rumours the newest goes first. */
  seq: number;
}

/** take() gives up after this many items in a row that `fits` refused (the budget is spent). */
export const maxRefusedInARow = 16;
/** A bucket is swept when it holds more stale slots than this and than live ones. */
const sweepAtStale = 32;

class Bucket<T> {
  /** Ascending seq; slots whose rumour moved on or was replaced are stale. */
  slots: Array<Rumour<T>> = [];
  stale = 0;

  /** Inserts by seq (a told rumour is usually the newest here: a push). */
  insert(rumour: Rumour<T>): void {
    const slots = this.slots;
    let lo = slots.length;
    if (lo > 0 && (slots[lo - 1] as Rumour<T>).seq > rumour.seq) {
      let low = 0;
      let high = slots.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((slots[mid] as Rumour<T>).seq < rumour.seq) low = mid + 1;
        else high = mid;
      }
      lo = low;
    }
    slots.splice(lo, 0, rumour);
  }

  left(isLive: (r: Rumour<T>) => boolean): void {
    this.stale++;
    if (this.stale > sweepAtStale && this.stale * 2 > this.slots.length) {
      this.slots = this.slots.filter(isLive);
      this.stale = 0;
    }
  }
}

export class RumourQueue<T> {
  private readonly items = new Map<string, Rumour<T>>();
  /** buckets[t]: rumours told t times. */
  private readonly buckets: Array<Bucket<T>> = [];
  private nextSeq = 0;
  /** Rumours pushed out because the queue was full (counted in metrics). */
  evicted = 0;

  /** @param capacity most rumours held; when full, the most-told one is dropped. */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.size;
  }

  put(subject: string, item: T, limit: number): void {
    if (!this.items.has(subject) && this.items.size >= this.capacity) this.evictMostTold();
    this.remove(subject);
    const rumour: Rumour<T> = { subject, item, told: 0, limit: Math.max(1, limit), seq: this.nextSeq++ };
    this.items.set(subject, rumour);
    this.bucket(0).slots.push(rumour);
  }

  delete(subject: string): void {
    this.remove(subject);
  }

  /**
   * Up to `max` rumours to send now, least-told first; each counts as told once. A rumour
   * about `first` (the recipient itself, in SWIM's buddy system) goes first whatever its count.
   * `fits` may refuse an item (e.g. over a byte budget); after maxRefusedInARow refusals in a
   * row the rest are not offered.
   */
  take(max: number, first?: string, fits?: (item: T) => boolean): T[] {
    if (this.items.size === 0 || max <= 0) return [];
    const chosen: Array<Rumour<T>> = [];
    const head = first !== undefined ? this.items.get(first) : undefined;
    if (head && (!fits || fits(head.item))) chosen.push(head);
    let refused = 0;
    scan: for (let t = 0; t < this.buckets.length; t++) {
      const slots = this.buckets[t]?.slots ?? [];
      for (let i = slots.length - 1; i >= 0; i--) {
        if (chosen.length >= max) break scan;
        const rumour = slots[i] as Rumour<T>;
        if (!this.isLive(rumour, t) || rumour.subject === first) continue;
        if (fits && !fits(rumour.item)) {
          if (++refused >= maxRefusedInARow) break scan;
          continue;
        }
        refused = 0;
        chosen.push(rumour);
      }
    }
    for (const rumour of chosen) this.told(rumour);
    return chosen.map((rumour) => rumour.item);
  }

  private told(rumour: Rumour<T>): void {
    const was = rumour.told;
    rumour.told++;
    this.bucket(was).left((r) => this.isLive(r, was));
    if (rumour.told >= rumour.limit) this.items.delete(rumour.subject);
    else this.bucket(rumour.told).insert(rumour);
  }

  private remove(subject: string): void {
    const rumour = this.items.get(subject);
    if (!rumour) return;
    this.items.delete(subject);
    const told = rumour.told;
    this.bucket(told).left((r) => this.isLive(r, told));
  }

  private isLive(rumour: Rumour<T>, told: number): boolean {
    return rumour.told === told && this.items.get(rumour.subject) === rumour;
  }

  private bucket(told: number): Bucket<T> {
    while (this.buckets.length <= told) this.buckets.push(new Bucket<T>());
    return this.buckets[told] as Bucket<T>;
  }

  /** The most-told rumour goes (the oldest among equals). */
  private evictMostTold(): void {
    for (let t = this.buckets.length - 1; t >= 0; t--) {
      const worst = this.buckets[t]?.slots.find((r) => this.isLive(r, t));
      if (worst) {
        this.remove(worst.subject);
        this.evicted++;
        return;
      }
    }
  }
}
