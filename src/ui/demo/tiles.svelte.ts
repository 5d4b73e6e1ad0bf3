/* eslint-disable svelte/prefer-svelte-reactivity -- the Maps and Sets here are private buffers that nothing renders, or built afresh and handed whole to a $state.raw field (never changed in place), as snapshots are. */
// Work stealing on the demo view: the tiles of a job this screen started, each drawn flying to
// the node whose result for it was accepted (jobTiles, in the order results were accepted).
import type { NodeBackend } from '../../api/backend.ts';
import type { TilesPage } from '../../worker/services/steal-results.ts';

/** How often the job's accepted tiles are read. */
export const tilePollMs = 300;
/** A tile is drawn flying for this long. */
export const tileFlightMs = 1_200;
/** Tiles drawn at once at most (the rest are counted). */
export const maxTilesDrawn = 32;
/** Stop reading after this long (a job that stalls does not poll forever). */
export const tileWatchMaxMs = 5 * 60_000;

export interface TileFlight {
  index: number;
  node: string;
  at: number;
}

export class TileWatch {
  flights = $state.raw<TileFlight[]>([]);
  perNode = $state.raw<ReadonlyMap<string, number>>(new Map());
  jobId = $state<string | null>(null);
  done = $state(0);
  private after = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private startedAt = 0;
  private busy = false;

  constructor(private readonly node: NodeBackend) {}

  watch(jobId: string): void {
    this.stop();
    this.jobId = jobId;
    this.after = 0;
    this.done = 0;
    this.perNode = new Map();
    this.flights = [];
    this.startedAt = performance.now();
    this.timer = setInterval(() => void this.poll(), tilePollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.busy || !this.jobId) return;
    const now = performance.now();
    if (now - this.startedAt > tileWatchMaxMs) return this.stop();
    this.busy = true;
    try {
      const page = (await this.node.command('jobTiles', this.jobId, this.after)) as TilesPage;
      const fresh: TileFlight[] = [];
      const counts = new Map(this.perNode);
      for (const tile of page.tiles) {
        for (const node of tile.nodes) {
          counts.set(node, (counts.get(node) ?? 0) + 1);
          fresh.push({ index: tile.index, node, at: now });
        }
      }
      this.after = Math.max(this.after, page.next);
      this.done += page.tiles.length;
      this.perNode = counts;
      this.flights = [...this.flights.filter((t) => now - t.at < tileFlightMs), ...fresh].slice(-maxTilesDrawn);
    } catch {
      this.stop();
    } finally {
      this.busy = false;
    }
  }
}
