// Small bounded metrics for the snapshot: a ring of latency samples and refusal counters.
import { latencySampleCount, maxRejectReasons } from './constants.ts';

export class LatencyRing {
  private readonly samples: number[] = [];
  private next = 0;

  add(ms: number): void {
    if (this.samples.length < latencySampleCount) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % latencySampleCount;
  }

  percentile(p: number): number | null {
    if (this.samples.length === 0) return null;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[index] as number;
  }
}

/** Counts by reason; reasons come from a fixed vocabulary, the cap only guards against a bug. */
export class Counters {
  private readonly counts = new Map<string, number>();

  add(reason: string, by = 1): void {
    const key = this.counts.has(reason) || this.counts.size < maxRejectReasons ? reason : 'other';
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  get(reason: string): number {
    return this.counts.get(reason) ?? 0;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
