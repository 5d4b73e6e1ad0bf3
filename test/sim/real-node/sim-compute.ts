// A node's compute pool in the simulator: one kernel slot that runs the real kernel (the same
// registry a kernel worker uses) and answers after a seeded virtual delay, on the node's timers,
// so a crash loses the running task as it would in a tab.
import { createKindRegistry } from '../../../src/compute/kernels/index.ts';
import { noDeadline } from '../../../src/compute/kernels/registry.ts';
import type { TaskResult } from '../../../src/compute/pool.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { Timers } from '../../../src/worker/clock.ts';
import type { ComputePoolLike } from '../../../src/worker/services/steal-pool.ts';

const registry = createKindRegistry();

export function simComputePool(timers: Timers, rng: Rng, runMs: { min: number; max: number }): ComputePoolLike {
  let busy = 0;
  let completed = 0;
  let failed = 0;
  let closed = false;
  return {
    size: 1,
    run(kind, task, _budgetMs): Promise<TaskResult> {
      busy++;
      const ms = runMs.min + rng.int(runMs.max - runMs.min + 1);
      return new Promise((resolve) => {
        timers.setTimeout(() => {
          busy--;
          if (closed) return;
          const outcome = registry.runTask(kind, task, noDeadline);
          if (outcome.ok) completed++;
          else failed++;
          resolve(outcome.ok ? { ok: true, result: outcome.result, bytes: outcome.bytes, ms } : { ok: false, error: outcome.error, ms });
        }, ms);
      });
    },
    stats: () => ({ size: 1, busy, queued: 0, utilisation: 0, completed, failed, workersReplaced: 0 }),
    close: () => {
      closed = true;
    },
  };
}
