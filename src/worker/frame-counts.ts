// Frames received over direct links, counted by protocol and message type: the idle message
// rate by kind (probes, pings, anti-entropy, adverts) is what an idle tab spends its CPU on, and
// `npm run bench:idle` reads it from snapshots. Types come from peers, so the table is bounded.

/** Distinct `protocol/type` rows kept; any further row counts as `other`. */
export const frameCountRows = 64;

export class FrameCounts {
  private readonly counts = new Map<string, number>();

  count(protocol: string, message: unknown): void {
    const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
    let key = `${protocol}/${typeof type === 'string' && type.length <= 32 ? type : 'other'}`;
    if (!this.counts.has(key) && this.counts.size >= frameCountRows) key = 'other';
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  view(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
