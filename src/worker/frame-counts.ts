// Frames received over direct links, counted by protocol and message type: the idle message
// rate by kind (probes, pings, anti-entropy, adverts) is what an idle tab spends its CPU on, and
// `npm run bench:idle` reads it from snapshots. Types come from peers, so the table is bounded.

/** Distinct `protocol/type` rows kept; any further row counts as `other`. */
export const frameCountRows = 64;

export class FrameCounts {
  /** protocol → type → count: no key string is built per frame (every frame is counted). */
  private readonly counts = new Map<string, Map<string, number>>();
  private rows = 0;
  private overflow = 0;

  count(protocol: string, message: unknown): void {
    const raw = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
    const type = typeof raw === 'string' && raw.length <= 32 ? raw : 'other';
    let types = this.counts.get(protocol);
    const known = types?.get(type);
    if (known !== undefined) return void (types as Map<string, number>).set(type, known + 1);
    if (this.rows >= frameCountRows) return void this.overflow++;
    if (!types) this.counts.set(protocol, (types = new Map()));
    types.set(type, 1);
    this.rows++;
  }

  view(): Record<string, number> {
    const view: Record<string, number> = {};
    for (const [protocol, types] of this.counts) for (const [type, n] of types) view[`${protocol}/${type}`] = n;
    if (this.overflow > 0) view['other'] = this.overflow;
    return view;
  }
}
