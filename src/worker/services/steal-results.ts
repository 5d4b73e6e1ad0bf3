// The results of this node's jobs in the order they were accepted, with the nodes that computed
// each: what lets the UI draw a Mandelbrot image tile by tile while the job runs, tinted by who
// computed each tile. The core only hands out a job's results once it is done, so the values of
// a running job are taken from the core's own `persist` effects (each accepted result is written
// under `steal/result/<job>/<index>` just before its `task-accepted` event) and kept here until
// the job ends; after that, a done job's values come from the core (`jobOutput`).
import type { JsonValue } from '../../core/steal/json.ts';
import type { RestoredJob, StealEffect } from '../../core/steal/index.ts';

/** Jobs remembered (the core keeps at most 64 active and 32 finished); the oldest finished go first. */
export const maxLoggedJobs = 128;
/** Most results handed to the page in one `jobTiles` call (a 128² tile is about 87 KB). */
export const maxTilesPerCall = 32;

const resultKeyPattern = /^steal\/result\/(.+)\/(\d+)$/;

interface LoggedJob {
  kind: string;
  params: JsonValue;
  /** Task indices in the order their results were accepted. */
  order: number[];
  nodes: Map<number, string[]>;
  /** Accepted values while the job runs; null once it has ended. */
  values: Map<number, JsonValue> | null;
  /** A result written but not yet announced (the write comes just before its event). */
  pending: Map<number, JsonValue>;
  ended: boolean;
}

export interface TileEntry {
  index: number;
  /** Nodes whose results were accepted for this task (one, or r agreeing in verified mode). */
  nodes: string[];
  /** The task's result (for Mandelbrot a tile `{ x, y, w, h, rgba }`); null if no longer kept. */
  result: JsonValue | null;
}

export interface TilesPage {
  jobId: string;
  kind: string;
  /** The job's parameters as submitted, defaults filled in (Mandelbrot: width, height, …). */
  params: JsonValue;
  tiles: TileEntry[];
  /** Pass as `after` to get the next entries; equals the number of accepted results so far when caught up. */
  next: number;
}

export class AcceptedResults {
  private readonly jobs = new Map<string, LoggedJob>();

  /** A job this node is home of (just submitted). */
  open(jobId: string, kind: string, params: JsonValue): void {
    if (this.jobs.has(jobId)) return;
    this.jobs.set(jobId, { kind, params, order: [], nodes: new Map(), values: new Map(), pending: new Map(), ended: false });
    this.evict();
  }

  /** Jobs read back after a restart: their accepted results, in task order. */
  restore(restored: readonly RestoredJob[]): void {
    for (const r of restored) {
      const running = r.job.status === 'queued' || r.job.status === 'running';
      const job: LoggedJob = {
        kind: r.job.kind,
        params: r.job.params,
        order: [],
        nodes: new Map(),
        values: running ? new Map() : null,
        pending: new Map(),
        ended: !running,
      };
      r.tasks.forEach((task, index) => {
        if (task.status !== 'done' || !task.accepted) return;
        job.order.push(index);
        job.nodes.set(index, [...task.accepted.nodes]);
        const value = r.results.get(index);
        if (job.values && value !== undefined) job.values.set(index, value);
      });
      this.jobs.set(r.job.id, job);
    }
    this.evict();
  }

  /** Follows one effect of the core (in order). */
  note(effect: StealEffect): void {
    if (effect.type === 'persist') {
      for (const [key, value] of effect.writes) {
        const match = resultKeyPattern.exec(key);
        const job = match ? this.jobs.get(match[1] as string) : undefined;
        if (job?.values) job.pending.set(Number((match as RegExpExecArray)[2]), value as JsonValue);
      }
      return;
    }
    if (effect.type !== 'event') return;
    const e = effect.event;
    if (e.kind === 'task-accepted') {
      const job = this.jobs.get(e.jobId);
      if (!job || job.nodes.has(e.index)) return;
      job.order.push(e.index);
      job.nodes.set(e.index, [...e.nodes]);
      const value = job.pending.get(e.index);
      job.pending.delete(e.index);
      if (job.values && value !== undefined) job.values.set(e.index, value);
    } else if (e.kind === 'job-done' || e.kind === 'job-failed' || e.kind === 'job-cancelled') {
      const job = this.jobs.get(e.jobId);
      if (!job) return;
      job.ended = true;
      job.values = null;
      job.pending.clear();
      this.evict();
    }
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /**
   * Accepted results from position `after` on, at most `limit`. `doneResults` gives a finished
   * job's values (from the core); a failed or cancelled job's values are gone (nodes remain).
   */
  page(jobId: string, after: number, limit: number, doneResults: JsonValue[] | null): TilesPage | null {
    const job = this.jobs.get(jobId);
    if (!job) return null;
    const from = Math.max(0, Math.min(after, job.order.length));
    const tiles = job.order.slice(from, from + Math.max(1, Math.min(limit, maxTilesPerCall))).map((index) => ({
      index,
      nodes: job.nodes.get(index) ?? [],
      result: job.values?.get(index) ?? doneResults?.[index] ?? null,
    }));
    return { jobId, kind: job.kind, params: job.params, tiles, next: from + tiles.length };
  }

  private evict(): void {
    if (this.jobs.size <= maxLoggedJobs) return;
    // Map order is insertion order: the first ended job is the oldest one.
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= maxLoggedJobs) return;
      if (job.ended) this.jobs.delete(id);
    }
    // All running (the core would refuse that many): drop the oldest anyway, keeping the cap.
    for (const id of this.jobs.keys()) {
      if (this.jobs.size <= maxLoggedJobs) return;
      this.jobs.delete(id);
    }
  }
}
