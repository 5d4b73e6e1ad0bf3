// The stealing service's part of a node's snapshot: `jobs` (this node's jobs and the others'
// it works on) and `compute` (its scheduler and pool). Plain JSON; the names are public API
// (docs/reference.md, window.tabmesh.snapshot()): extend, never rename.
import type { PoolStats } from '../../compute/pool.ts';
import type { JobStatus, Priority, StealCounters, StealView } from '../../core/steal/index.ts';
import type { Millis } from '../../core/types.ts';

export interface JobSnapshot {
  id: string;
  kind: string;
  /** The node the job was submitted to: it tracks every task and assembles the result. */
  home: string;
  /** true on the home; elsewhere the job is one this node computed tasks of. */
  mine: boolean;
  /**
   * On the home: queued → running → done | failed | cancelled. On other nodes: 'running' while
   * the home lives (only the home knows when a job ends; this node forgets it a minute after it
   * last held a task of it), or 'orphaned' once gossip declares the home dead.
   */
  status: JobStatus;
  priority: Priority;
  /** 1, or 2–3 in verified mode (that many distinct nodes must agree on each result). */
  redundancy: number;
  /** Tasks accepted, of `total`. On other nodes: tasks computed here. */
  done: number;
  total: number;
  /** Tasks computed per node id (in verified mode each agreeing node counts). */
  shares: Record<string, number>;
  /** Wall-clock ms since the epoch (null for other nodes' jobs). */
  createdAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Time left at the pace so far, in ms; null when unknown (nothing done yet) or finished. */
  etaMs: number | null;
}

export interface PeerLoadSnapshot {
  node: string;
  workers: number;
  running: number;
  queued: number;
  /** How old this node's latest advert of that peer's load is. */
  ageMs: number;
  /** Task kinds it runs (built-in, and kernels its app registered): only these go to it. */
  kinds: string[];
}

export interface ComputeSnapshot {
  /** Task kinds this node runs and advertises: the built-ins and the kernels its app registered. */
  kinds: string[];
  /** The kernels this node's app registered (room.compute.register), a subset of `kinds`. */
  appKinds: string[];
  /** Kernel workers in this node's pool (0: it hands work out but computes none). */
  poolSize: number;
  /** Why there is no pool, if there is none. */
  poolError: string | null;
  /** Workers the scheduler may fill: the pool's size less those still finishing an aborted task. */
  workers: number;
  busyWorkers: number;
  /** Share of worker time spent in kernels over the last 10 s, 0…1 (measured, not estimated). */
  utilisation: number;
  /** Tasks waiting here, by priority. */
  queued: Record<Priority, number>;
  /** Tasks taken from peers by stealing / given to thieves. */
  stealsIn: number;
  stealsOut: number;
  /** Tasks that moved here / away (steals, sheds, returns). */
  migrations: { in: number; out: number };
  /** Attempts queued again (failed, lost holder, disputed). */
  retries: number;
  /** Variance of queued + running work per worker across this node and the peers it hears from. */
  loadVariance: number;
  /** The peers whose load this node knows (from their adverts). */
  peers: PeerLoadSnapshot[];
  /** Nodes that returned wrong results: no longer given work, their results refused. */
  blocklist: string[];
  counters: StealCounters;
  /** Input refused (from peers, the page and the store), by reason. */
  refused: Record<string, number>;
  lastRefusal: { reason: string; detail: string; from: string | null; at: number } | null;
  /** Steal frames sent over the mesh because there was no direct link to their addressee. */
  routed: number;
  pool: { completed: number; failed: number; workersReplaced: number } | null;
}

export interface ServiceRefusals {
  counts: Record<string, number>;
  last: ComputeSnapshot['lastRefusal'];
}

/** `snapshot().jobs`: the newest first (other nodes' jobs, which carry no dates, last). */
export function jobsSnapshot(view: StealView, now: Millis): JobSnapshot[] {
  return view.jobs
    .map((j) => ({
      id: j.id,
      kind: j.kind,
      home: j.home,
      mine: j.mine,
      status: j.status,
      priority: j.priority,
      redundancy: j.redundancy,
      done: j.done,
      total: j.total,
      shares: { ...j.shares },
      createdAt: j.createdAt,
      finishedAt: j.finishedAt,
      error: j.error,
      etaMs: etaMs(j.mine, j.status, j.done, j.total, j.createdAt, now),
    }))
    .sort((a, b) => (b.createdAt ?? Number.NEGATIVE_INFINITY) - (a.createdAt ?? Number.NEGATIVE_INFINITY));
}

function etaMs(mine: boolean, status: JobStatus, done: number, total: number, createdAt: number | null, now: Millis): number | null {
  if (!mine || createdAt === null || done === 0 || (status !== 'running' && status !== 'queued')) return null;
  const elapsed = Math.max(0, now - createdAt);
  return Math.round((elapsed / done) * (total - done));
}

export function computeSnapshot(
  view: StealView,
  pool: { size: number; stats: PoolStats | null; error: string | null },
  service: ServiceRefusals,
  routed: number,
  appKinds: readonly string[] = [],
): ComputeSnapshot {
  const refused: Record<string, number> = { ...service.counts };
  for (const [reason, count] of Object.entries(view.refusals)) refused[reason] = (refused[reason] ?? 0) + (count ?? 0);
  const coreLast = view.lastRefusal;
  const last = coreLast && (!service.last || coreLast.at >= service.last.at) ? { ...coreLast } : service.last;
  return {
    kinds: [...view.kinds],
    appKinds: [...appKinds],
    poolSize: pool.size,
    poolError: pool.error,
    workers: view.workers,
    busyWorkers: pool.stats?.busy ?? 0,
    utilisation: Math.round((pool.stats?.utilisation ?? 0) * 1000) / 1000,
    queued: { ...view.queued },
    stealsIn: view.counters.tasksStolenIn,
    stealsOut: view.counters.tasksStolenOut,
    migrations: { in: view.counters.migrationsIn, out: view.counters.migrationsOut },
    retries: view.counters.retries,
    loadVariance: Math.round(view.loadVariance * 1000) / 1000,
    peers: view.peers.map((p) => ({ node: p.node, workers: p.workers, running: p.running, queued: p.queued, ageMs: Math.round(p.ageMs), kinds: [...p.kinds] })),
    blocklist: [...view.blocklist],
    counters: { ...view.counters },
    refused,
    lastRefusal: last,
    routed,
    pool: pool.stats ? { completed: pool.stats.completed, failed: pool.stats.failed, workersReplaced: pool.stats.workersReplaced } : null,
  };
}
