import { describe, expect, it } from 'vitest';
import { decodePersistedJobs, jobKey, resultKey, taskKey } from '../../../src/core/steal/persist.ts';
import { Harness, job } from './harness.ts';

describe('a home that restarts from its store', () => {
  it('keeps accepted results, requeues unfinished tasks, and accepts nothing twice', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1, config: { leaseMs: 3_000, leaseRenewIntervalMs: 1_000 } });
    h.step(a, job(5));
    h.finish(h.runs[0]!);
    h.finish(h.runs[0]!);
    const jobId = h.core(a).view().jobs[0]!.id;
    expect(h.core(a).view().jobs[0]!.done).toBe(2);
    // Crash: the core and its running task are gone; its disk stays.
    h.cores.delete(a);
    h.runs.length = 0;
    h.add('a', { workers: 1, config: { leaseMs: 3_000, leaseRenewIntervalMs: 1_000 } });
    const restored = h.core(a).view().jobs[0]!;
    expect(restored).toMatchObject({ id: jobId, status: 'running', done: 2, total: 5 });
    // Unfinished tasks come back once nobody has renewed their lease.
    h.advance(4_000);
    h.finishAll();
    h.advance(100);
    h.finishAll();
    expect(h.core(a).view().jobs[0]!.status).toBe('done');
    const accepted = h
      .eventsOf('task-accepted')
      .map((e) => e.index)
      .sort();
    expect(accepted).toEqual([0, 1, 2, 3, 4]);
    expect(h.core(a).jobOutput(jobId)?.results).toEqual([0, 1, 2, 3, 4].map((i) => ({ value: 2 * i })));
  });

  it('keeps finished jobs with their results, up to the cap, and deletes the records of the oldest', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 4, config: { maxFinishedJobs: 2 } });
    for (let j = 0; j < 3; j++) {
      h.step(a, job(2));
      h.finishAll();
      h.advance(10);
    }
    const jobs = h.core(a).view().jobs;
    expect(jobs).toHaveLength(2);
    const disk = h.disks.get(a)!;
    expect([...disk.keys()].filter((k) => k.startsWith('steal/job/'))).toHaveLength(2);
    h.cores.delete(a);
    h.add('a');
    expect(
      h
        .core(a)
        .view()
        .jobs.map((j) => [j.id, j.status]),
    ).toEqual(jobs.map((j) => [j.id, 'done']));
    expect(h.core(a).jobOutput(jobs[1]!.id)?.results).toEqual([{ value: 0 }, { value: 2 }]);
  });
});

describe('decoding persisted records', () => {
  const header = {
    v: 1,
    id: 'j1',
    kind: 'sim-work',
    params: null,
    priority: 'medium',
    redundancy: 1,
    total: 2,
    createdAt: 0,
    status: 'running',
    finishedAt: null,
    error: null,
  };
  const task = (status: string) => ({
    v: 1,
    params: { ms: 1, value: 0 },
    cost: 1,
    status,
    failures: 0,
    losses: 0,
    lastError: null,
    replicas: [
      { attempt: 1, tickets: ['t'], status: status === 'done' ? 'done' : 'out', vote: status === 'done' ? { node: 'a', digest: 'd' } : null, exclude: [] },
    ],
    accepted: status === 'done' ? { digest: 'd', nodes: ['a'] } : null,
  });

  it('skips damaged records with a reason instead of trusting them', () => {
    const report = decodePersistedJobs([
      [jobKey('j1'), header],
      [taskKey('j1', 0), task('done')],
      [resultKey('j1', 0), { value: 0 }],
      [taskKey('j1', 1), { ...task('pending'), failures: -1 }],
      [jobKey('j2'), { ...header, id: 'other' }],
      ['steal/garbage', 1],
      ['gossip/whatever', 1],
    ]);
    expect(report.jobs).toEqual([]);
    expect(report.skipped.map((s) => s.key).sort()).toEqual(['steal/garbage', 'steal/job/j1', 'steal/job/j2', 'steal/task/j1/1'].sort());
  });

  it('runs a task again whose result record is missing', () => {
    const report = decodePersistedJobs([
      [jobKey('j1'), header],
      [taskKey('j1', 0), task('done')],
      [taskKey('j1', 1), task('pending')],
    ]);
    expect(report.jobs).toHaveLength(1);
    expect(report.jobs[0]!.tasks[0]!.status).toBe('pending');
    expect(report.skipped).toEqual([{ key: resultKey('j1', 0), reason: 'accepted result missing; the task runs again' }]);
  });
});
