// Where the stealing service runs its tasks: a compute pool of kernel workers (Web Workers in a
// tab, worker_threads in the Node peer), injected, so the service itself touches no DOM API.
import type { PoolStats, TaskResult } from '../../compute/pool.ts';
import { createWebComputePool } from '../../compute/web-pool.ts';

/** What the service needs of a pool (`ComputePool` in src/compute/pool.ts has this shape). */
export interface ComputePoolLike {
  /** Kernel workers: how many tasks run at once. */
  readonly size: number;
  /** Runs one task; resolves with its outcome (a failed attempt is an outcome, not a throw). */
  run(kind: string, task: unknown, budgetMs: number): Promise<TaskResult>;
  stats(): PoolStats;
  close(): void;
}

/** Makes the pool when the service starts; null (or a throw) leaves the node without workers. */
export type ComputePoolFactory = () => ComputePoolLike | null;

/**
 * A tab's pool: kernel Web Workers spawned from the protocol worker. Where there is no `Worker`
 * (Node), there is no default pool: the Node peer passes its worker_threads pool instead, and a
 * node without one still submits jobs and hands their tasks out; it just computes none itself.
 */
export const defaultComputePool: ComputePoolFactory = () => (typeof Worker === 'function' ? createWebComputePool() : null);
