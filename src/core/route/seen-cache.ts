// A bounded set of recently seen message keys, for deduplication. Entries leave after `ttlMs`,
// or, when the cache is full, oldest first (a Map iterates in insertion order, which here is
// also age order). A key evicted early can at worst let a late duplicate through once; the
// hop bound still stops it from circulating.
import type { Millis } from '../types.ts';

export class SeenCache {
  private readonly entries = new Map<string, Millis>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: Millis,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: string, now: Millis): boolean {
    const at = this.entries.get(key);
    return at !== undefined && now - at < this.ttlMs;
  }

  /** Records the key; returns false if it was already there (a duplicate). */
  add(key: string, now: Millis): boolean {
    if (this.has(key, now)) return false;
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, now);
    return true;
  }

  /** Drops expired keys (they are at the front). */
  expire(now: Millis): void {
    for (const [key, at] of this.entries) {
      if (now - at < this.ttlMs) break;
      this.entries.delete(key);
    }
  }
}
