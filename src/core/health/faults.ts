// Faults of the last minute, from counters that only ever grow (refused inputs, view changes,
// suspicions raised). The services keep totals since start; the score wants a rate, so this
// keeps a few timed samples of the totals and subtracts the oldest one inside the window.
import type { Millis } from '../types.ts';
import type { RecentFaults } from './score.ts';

/** How far back "recent" faults reach. */
export const faultWindowMs: Millis = 60_000;
/** Most samples kept; when full the oldest goes (the health service samples every 2 s: 30 a minute). */
export const maxFaultSamples = 128;

interface Sample {
  at: Millis;
  totals: RecentFaults;
}

export class FaultWindow {
  private readonly samples: Sample[] = [];

  /** Records the current totals. Time never runs backwards here: an earlier `now` is ignored. */
  record(now: Millis, totals: RecentFaults): void {
    const last = this.samples.at(-1);
    if (!Number.isFinite(now) || (last && now < last.at)) return;
    this.samples.push({ at: now, totals: { ...totals } });
    // Keep one sample at or before the window's start, so the window is measured in full.
    while (this.samples.length > 1 && (this.samples[1] as Sample).at <= now - faultWindowMs) this.samples.shift();
    while (this.samples.length > maxFaultSamples) this.samples.shift();
  }

  /** Counts since the oldest sample of the window; a counter that went down (a restart) counts as 0. */
  recent(): RecentFaults {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return { refused: 0, viewChanges: 0, suspicions: 0 };
    const delta = (key: keyof RecentFaults): number => Math.max(0, last.totals[key] - first.totals[key]);
    return { refused: delta('refused'), viewChanges: delta('viewChanges'), suspicions: delta('suspicions') };
  }

  get size(): number {
    return this.samples.length;
  }
}
