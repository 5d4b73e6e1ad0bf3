// A kernel's outcome comes back into the stealing service through the runtime's dispatch
// (TaskRunnerOptions.reenter, which the service wires to ServiceContext.reenter), like a
// signature: a throw while the core takes it is caught and counted there, never left as an
// unhandled rejection of the pool's promise. docs/architecture.md, "Effects".
import { describe, expect, it } from 'vitest';
import type { JobId, TaskOutcome, WorkItem } from '../../../src/core/steal/index.ts';
import type { NodeId } from '../../../src/core/types.ts';
import type { TaskResult } from '../../../src/compute/pool.ts';
import type { ComputePoolLike } from '../../../src/worker/services/steal-pool.ts';
import { TaskRunner } from '../../../src/worker/services/steal-runner.ts';

const task: WorkItem = {
  jobId: 'job-1' as JobId,
  index: 0,
  total: 1,
  home: 'n-home' as NodeId,
  kind: 'primes',
  priority: 'medium',
  params: { from: 0, to: 100 },
  cost: 1,
  replica: 0,
  attempt: 1,
  ticket: 't-1',
  exclude: [],
  hops: 0,
};

/** A one-worker pool whose runs end when the test says, with the answer it gives. */
function pendingPool() {
  const runs: Array<{ resolve: (r: TaskResult) => void; reject: (e: unknown) => void }> = [];
  const pool: ComputePoolLike = {
    size: 1,
    run: () => new Promise<TaskResult>((resolve, reject) => runs.push({ resolve, reject })),
    stats: () => ({ size: 1, busy: runs.length, queued: 0, utilisation: 0, completed: 0, failed: 0, workersReplaced: 0 }),
    close: () => {},
  };
  return { pool, runs };
}

/** The runtime's dispatch as the service sees it: a throw is caught and counted, the node goes on. */
function dispatch() {
  const counted: string[] = [];
  let calls = 0;
  const reenter = (fn: () => void) => {
    calls++;
    try {
      fn();
    } catch (error) {
      counted.push(error instanceof Error ? error.message : String(error));
    }
  };
  return { reenter, counted, calls: () => calls };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('kernel results re-enter through the runtime', () => {
  it('a core that throws on a kernel result: counted by the dispatch, no unhandled rejection, the runner goes on', async () => {
    const { pool, runs } = pendingPool();
    const d = dispatch();
    const finished: Array<[string, TaskOutcome]> = [];
    const runner = new TaskRunner({
      pool,
      budgetMs: () => 1_000,
      check: () => null,
      reenter: d.reenter,
      finished: (key, outcome) => {
        finished.push([key, outcome]);
        if (finished.length === 1) throw new Error('core invariant broken on task-finished');
      },
      capacityChanged: () => {},
    });
    runner.start('a', task);
    runner.start('b', task);
    runs[0]!.resolve({ ok: true, result: 25, bytes: 2, ms: 3 });
    await settle();
    expect(d.counted).toEqual(['core invariant broken on task-finished']);
    // The next result is taken as usual.
    runs[1]!.reject(new Error('worker crashed'));
    await settle();
    expect(finished).toEqual([
      ['a', { ok: true, value: 25 }],
      ['b', { ok: false, error: 'the compute pool failed: worker crashed' }],
    ]);
    expect(d.calls()).toBe(2);
    expect(runner.running).toBe(0);
  });

  it('a refused task fails through the dispatch too, and a result of an aborted run only frees its worker', async () => {
    const { pool, runs } = pendingPool();
    const d = dispatch();
    const finished: string[] = [];
    const capacity: number[] = [];
    const runner = new TaskRunner({
      pool,
      budgetMs: () => 1_000,
      check: (kind) => (kind === 'primes' ? null : 'unknown kind'),
      reenter: d.reenter,
      finished: (key, outcome) => finished.push(`${key} ${outcome.ok ? 'ok' : outcome.error}`),
      capacityChanged: (workers) => capacity.push(workers),
    });
    runner.start('bad', { ...task, kind: 'nope' });
    runner.start('slow', task);
    runner.abort('slow');
    expect(capacity).toEqual([0]);
    await settle();
    expect(finished).toEqual(['bad task refused: unknown kind']);
    runs[0]!.resolve({ ok: true, result: 1, bytes: 1, ms: 1 });
    await settle();
    expect(finished).toHaveLength(1);
    expect(capacity).toEqual([0, 1]);
    expect(d.calls()).toBe(2);
  });
});
