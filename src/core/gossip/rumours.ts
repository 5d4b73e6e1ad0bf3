// Rumour mongering's bookkeeping: fresh news waits here and rides along on outgoing messages,
// least-told first, until it has been told `limit` times (λ·log n in SWIM terms); then it goes
// quiet and anti-entropy is left to finish the job. Newer news about the same subject replaces
// the older (and starts its count again).

interface Rumour<T> {
  item: T;
  told: number;
  limit: number;
  /** Order of arrival: among equally-told rumours the newest goes first. */
  seq: number;
}

export class RumourQueue<T> {
  private readonly items = new Map<string, Rumour<T>>();
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
    this.items.set(subject, { item, told: 0, limit: Math.max(1, limit), seq: this.nextSeq++ });
  }

  delete(subject: string): void {
    this.items.delete(subject);
  }

  /**
   * Up to `max` rumours to send now, least-told first; each counts as told once. A rumour
   * about `first` (the recipient itself, in SWIM's buddy system) goes first whatever its count.
   * `fits` may refuse an item (e.g. over a byte budget).
   */
  take(max: number, first?: string, fits?: (item: T) => boolean): T[] {
    if (this.items.size === 0 || max <= 0) return [];
    const chosen: Array<[string, Rumour<T>]> = [];
    const head = first !== undefined ? this.items.get(first) : undefined;
    if (head && (!fits || fits(head.item))) chosen.push([first as string, head]);
    const rest = [...this.items.entries()].filter(([subject]) => subject !== first);
    if (rest.length > max - chosen.length) rest.sort((a, b) => a[1].told - b[1].told || b[1].seq - a[1].seq);
    for (const pair of rest) {
      if (chosen.length >= max) break;
      if (!fits || fits(pair[1].item)) chosen.push(pair);
    }
    for (const [subject, rumour] of chosen) {
      rumour.told++;
      if (rumour.told >= rumour.limit) this.items.delete(subject);
    }
    return chosen.map(([, rumour]) => rumour.item);
  }

  private evictMostTold(): void {
    let worst: [string, Rumour<T>] | undefined;
    for (const pair of this.items) {
      if (!worst || pair[1].told > worst[1].told || (pair[1].told === worst[1].told && pair[1].seq < worst[1].seq)) worst = pair;
    }
    if (worst) {
      this.items.delete(worst[0]);
      this.evicted++;
    }
  }
}
