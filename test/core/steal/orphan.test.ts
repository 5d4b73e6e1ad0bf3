import { expect } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { simTest } from '../../sim/seed.ts';
import { StealScenario } from './scenario.ts';

simTest('when the home dies its peers show the job orphaned and stop working on it; when it returns the job completes', (seed) => {
  const s = new StealScenario({ seed, nodes: 4 });
  const [home, ...others] = s.ids as [NodeId, ...NodeId[]];
  const durations = Array.from({ length: 48 }, () => 1_000);
  const jobId = s.submit(home, durations);
  s.cluster.runFor(1_500);
  expect(
    others.some((id) =>
      s.cluster
        .node(id)
        .core.view()
        .jobs.some((j) => j.id === jobId && j.status === 'running'),
    ),
  ).toBe(true);

  s.cluster.crash(home);
  s.cluster.runFor(1_000);
  s.declare(home, 'dead');
  s.cluster.runFor(3_000); // tasks that were running finish; nothing new of the job starts
  for (const id of others) {
    const view = s.cluster.node(id).core.view();
    const job = view.jobs.find((j) => j.id === jobId);
    if (!job) continue;
    expect(job.status).toBe('orphaned');
    expect(job.error).toMatch(/home n0 is gone/);
    expect(view.running).toBe(0);
    expect(view.queued.medium).toBe(0);
  }
  expect(s.events.filter((e) => e.event.kind === 'job-orphaned').length).toBeGreaterThan(0);

  s.cluster.restart(home);
  s.declare(home, 'alive');
  const view = s.runUntilFinished(home, jobId, 120_000);
  expect(view?.status).toBe('done');
  s.expectExactlyOnce(home, jobId, durations);
  expect(s.events.filter((e) => e.event.kind === 'job-resumed').length).toBeGreaterThan(0);
});
