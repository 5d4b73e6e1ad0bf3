import { expect } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { simTest } from '../../sim/seed.ts';
import { StealScenario, mixedDurations } from './scenario.ts';

simTest('every task completes exactly once under churn, loss, duplication, reordering and restarts', (seed) => {
  const s = new StealScenario({
    seed,
    nodes: 10,
    network: { lossRate: 0.05, duplicateRate: 0.03, reorderRate: 0.05 },
  });
  const home = s.ids[0] as NodeId;
  const durations = mixedDurations(200, seed);
  const jobId = s.submit(home, durations);
  // Crash a worker every 700 ms for 8 s; each is declared dead 2 s later and back after 3 s.
  s.churn({ everyMs: 700, untilMs: s.cluster.now + 8_000, detectMs: 2_000, downMs: 3_000, spare: [home] });
  // The home itself goes down for a second mid-job and comes back from its disk.
  s.cluster.at(s.cluster.now + 2_500, 'crash home', () => s.cluster.crash(home));
  s.cluster.at(s.cluster.now + 3_500, 'restart home', () => s.cluster.restart(home));
  const view = s.runUntilFinished(home, jobId, 180_000);
  expect(view?.status).toBe('done');
  s.expectExactlyOnce(home, jobId, durations);
  // Work really was lost and redone (the churn mattered), and no single node did it all.
  expect(s.events.some((e) => e.event.kind === 'task-retry')).toBe(true);
  expect(Object.keys(view!.shares).length).toBeGreaterThan(3);
});

simTest('a holder that falls silent (partitioned, never declared dead) loses its tasks to the lease', (seed) => {
  const s = new StealScenario({ seed, nodes: 4, config: { leaseMs: 5_000, leaseRenewIntervalMs: 1_000 } });
  const [home, , , cut] = s.ids as [NodeId, NodeId, NodeId, NodeId];
  const durations = Array.from({ length: 40 }, () => 800);
  const jobId = s.submit(home, durations);
  s.cluster.runFor(300);
  const held = () => s.cluster.node(cut).core.view();
  expect(held().running + held().queued.medium).toBeGreaterThan(0);
  s.cluster.network.partition([cut]);
  const view = s.runUntilFinished(home, jobId, 120_000);
  s.expectExactlyOnce(home, jobId, durations);
  const leaseRetries = s.events.filter((e) => e.event.kind === 'task-retry' && /lease of n3 ran out/.test(e.event.reason));
  expect(leaseRetries.length).toBeGreaterThan(0);
  expect(view!.shares[cut] ?? 0).toBeLessThan(40);
});

simTest('a task that keeps failing is reported failed with its error, and the job with it', (seed) => {
  const s = new StealScenario({ seed, nodes: 4, config: { maxAttempts: 3, retryBaseMs: 200 } });
  const home = s.ids[0] as NodeId;
  const jobId = s.submit(
    home,
    Array.from({ length: 12 }, () => 200),
    { fail: (i) => i === 5 },
  );
  const view = s.runUntilFinished(home, jobId, 60_000);
  expect(view?.status).toBe('failed');
  expect(view?.error).toMatch(/task 5 failed 3 times; last error: task 5 failed on purpose/);
  const retries = s.events.filter((e) => e.event.kind === 'task-retry' && e.event.index === 5).map((e) => (e.event as { delayMs: number }).delayMs);
  expect(retries).toEqual([200, 400]);
  expect(s.events.filter((e) => e.event.kind === 'task-failed')).toHaveLength(1);
});
