// Compute pools for scenario tests (RealRoom.add({ computePool })): the simulator's seeded pool
// (sim-compute.ts: the real kernels, answering after a virtual delay) with a fixed task time, a
// count of the kernels it ran, and optionally a lie in its answers or no answer at all (a node
// whose kernels hang). The service, the core and the kernels stay the real ones.
import { utilisationWindowMs } from '../../../src/compute/pool.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { Timers } from '../../../src/worker/clock.ts';
import type { ComputePoolLike } from '../../../src/worker/services/steal-pool.ts';
import { simComputePool } from './sim-compute.ts';

export interface ScenarioPoolOptions {
  /** Virtual ms each task occupies the node's one kernel worker (default 50). */
  taskMs?: number;
  /** Replaces the real kernel's answer (a lying node). */
  tamper?: (kind: string, task: unknown, result: unknown) => unknown;
  /** The kernels never answer. */
  hang?: boolean;
}

/** Kernel runs a node's pool started (what the test reads back). */
export interface KernelCount {
  runs: number;
}

export function scenarioPool(count: KernelCount, options: ScenarioPoolOptions = {}): (timers: Timers, rng: Rng) => ComputePoolLike {
  const taskMs = options.taskMs ?? 50;
  return (timers, rng) => {
    const inner = simComputePool(timers, rng, { min: taskMs, max: taskMs });
    let busyMs = 0;
    return {
      size: inner.size,
      run: async (kind, task, budgetMs) => {
        count.runs++;
        if (options.hang) return new Promise(() => {});
        const outcome = await inner.run(kind, task, budgetMs);
        busyMs += outcome.ms;
        return options.tamper && outcome.ok ? { ...outcome, result: options.tamper(kind, task, outcome.result) } : outcome;
      },
      // The share of a pool's 10 s window its worker was busy (counted from the start, which is
      // what a test reads in the first seconds of a job).
      stats: () => ({ ...inner.stats(), utilisation: Math.min(1, busyMs / utilisationWindowMs) }),
      close: () => inner.close(),
    };
  };
}
