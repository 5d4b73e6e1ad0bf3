import { describe, expect, it } from 'vitest';
import type { WorkItem } from '../../../src/core/steal/messages.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { Harness, job } from './harness.ts';

const load = (node: string, extra: Record<string, number> = {}) => ({
  node,
  boot: 0,
  seq: 1,
  workers: 2,
  running: 0,
  queued: 0,
  queuedCost: 0,
  runningCost: 0,
  // Peers run the test kind (a peer that advertises no kinds is never shed to).
  kinds: ['sim-work'],
  ...extra,
});

describe('a lone node', () => {
  it('runs its own tasks in priority order on its worker slots, and completes the job', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 2 });
    h.step(a, job(3, { priority: 'low' }));
    h.step(a, job(2, { priority: 'critical' }));
    // Two slots: the first job's tasks took them before the critical job arrived...
    expect(h.runs.map((r) => r.task.priority)).toEqual(['low', 'low']);
    h.finish(h.runs[0]!);
    // ...but the next free slot goes to the critical job, ahead of the last low task.
    expect(h.runs.map((r) => r.task.priority)).toEqual(['low', 'critical']);
    h.finishAll();
    const jobs = h.core(a).view().jobs;
    expect(jobs.map((j) => [j.priority, j.status, j.done, j.total])).toEqual([
      ['low', 'done', 3, 3],
      ['critical', 'done', 2, 2],
    ]);
    expect(h.core(a).jobOutput(jobs[0]!.id)?.results).toEqual([{ value: 0 }, { value: 2 }, { value: 4 }]);
    expect(jobs[0]!.shares).toEqual({ a: 3 });
  });

  it('refuses bad submissions with a reason, and counts them', () => {
    const h = new Harness();
    const a = h.add('a');
    const refused = (submission: Record<string, unknown>) => {
      h.step(a, { type: 'submit', job: submission as never });
      return h.eventsOf('job-refused').at(-1)?.reason ?? '';
    };
    expect(refused({ kind: 'mine-bitcoin', tasks: [{}] })).toMatch(/unknown task kind "mine-bitcoin"/);
    expect(refused({ kind: 'sim-work', tasks: [] })).toMatch(/1–4096 tasks/);
    expect(refused({ kind: 'sim-work', tasks: [{}], redundancy: 7 })).toMatch(/redundancy/);
    expect(refused({ kind: 'sim-work', tasks: [{}], priority: 'urgent' })).toMatch(/priority/);
    expect(refused({ kind: 'sim-work', tasks: [{ blob: 'x'.repeat(10_000) }] })).toMatch(/larger than/);
    expect(refused({ kind: 'sim-work', tasks: [{}], costs: [1, 2] })).toMatch(/costs/);
    expect(refused({ kind: 'sim-work', tasks: [{}], jobId: 'bad id!' })).toMatch(/job id/);
    h.step(a, { type: 'submit', job: { kind: 'sim-work', tasks: [{ ms: 1, value: 1 }], jobId: 'j1' } });
    expect(refused({ kind: 'sim-work', tasks: [{}], jobId: 'j1' })).toMatch(/already exists/);
    expect(h.core(a).view().refusals['bad-submission']).toBe(8);
    expect(h.core(a).view().jobs).toHaveLength(1);
  });

  it('retries a failing task with exponential backoff, then fails the job with its error', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1, config: { maxAttempts: 4, retryBaseMs: 500 } });
    h.step(a, job(1));
    for (let i = 0; i < 4; i++) {
      expect(h.runs).toHaveLength(1);
      h.finish(h.runs[0]!, { ok: false, error: 'out of memory' });
      h.advance(20_000);
    }
    expect(h.eventsOf('task-retry').map((e) => e.delayMs)).toEqual([500, 1000, 2000]);
    const failed = h.eventsOf('job-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toMatch(/failed 4 times; last error: out of memory/);
    expect(h.core(a).view().jobs[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('out of memory') });
  });

  it('cancels a job: queued tasks go, running ones are aborted, late results are ignored', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 2 });
    h.step(a, job(5));
    const jobId = h.core(a).view().jobs[0]!.id;
    const running = [...h.runs];
    h.step(a, { type: 'cancel', jobId });
    expect(h.runs).toHaveLength(0);
    expect(h.core(a).view().queued.medium).toBe(0);
    expect(h.core(a).view().jobs[0]!.status).toBe('cancelled');
    // The kernel of an aborted run may still report; that is expected, not bad input.
    h.step(a, { type: 'task-finished', key: running[0]!.key, outcome: { ok: true, value: { value: 0 } } });
    expect(h.core(a).view().refusals['unknown-run']).toBeUndefined();
    h.step(a, { type: 'task-finished', key: 'no-such-run', outcome: { ok: true, value: 1 } });
    expect(h.core(a).view().refusals['unknown-run']).toBe(1);
    h.step(a, { type: 'cancel', jobId: 'nope' });
    expect(h.core(a).view().refusals['unknown-job']).toBe(1);
  });

  it('always asks for a wake-up while it has timers to keep, never in the past', () => {
    const h = new Harness();
    const a = h.add('a');
    expect(h.core(a).nextWakeAt()).toBeGreaterThanOrEqual(h.now);
    h.step(a, job(4));
    h.advance(5_000);
    expect(h.core(a).nextWakeAt()).toBeGreaterThanOrEqual(h.now);
  });
});

describe('two nodes', () => {
  it('an idle node steals from a busy one; results go home and are accepted once', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1 });
    const b = h.add('b', { workers: 2 });
    h.step(a, job(10));
    h.advance(600); // a's advert of its new queue reaches b
    const stolen = h.runs.filter((r) => r.node === b);
    expect(stolen.length).toBeGreaterThan(0);
    expect(h.core(b).view().counters.stealsSucceeded + h.core(a).view().counters.tasksShedOut).toBeGreaterThan(0);
    for (const r of stolen) expect(r.task.home).toBe('a');
    h.finishAll();
    const view = h.core(a).view().jobs[0]!;
    expect(view.status).toBe('done');
    expect(view.shares.a! + view.shares.b!).toBe(10);
    expect(view.shares.b).toBeGreaterThan(0);
    expect(h.eventsOf('task-accepted')).toHaveLength(10);
    // b's view shows the foreign job with what it computed.
    expect(h.core(b).view().jobs[0]).toMatchObject({ mine: false, home: 'a', done: view.shares.b });
  });

  it('a busy node sheds to a lighter peer that has idle workers, and not to a busy one', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1, config: { shedCooldownMs: 0 } });
    // A silent peer that only advertises: idle, 4 workers.
    h.step(a, { type: 'load-advert', advert: load('idle', { workers: 4 }) });
    h.step(a, { type: 'load-advert', advert: load('busy', { workers: 4, running: 4, queued: 40, queuedCost: 40, runningCost: 4 }) });
    h.step(a, job(20));
    const sheds = h.sent.filter((s) => s.msg.type === 'shed');
    expect(sheds.length).toBeGreaterThan(0);
    expect(new Set(sheds.map((s) => s.to))).toEqual(new Set(['idle']));
    const shed = sheds[0]!.msg as { tasks: WorkItem[] };
    // Not more than brings it to the average: 21 work over 5 workers → about 4 per worker.
    expect(shed.tasks.length).toBeGreaterThan(2);
    expect(shed.tasks.length).toBeLessThanOrEqual(17);
    expect(shed.tasks.every((t) => t.hops === 1 && t.home === 'a')).toBe(true);
  });

  it('a home requeues the tasks of a holder that falls silent once their lease runs out', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1, config: { leaseMs: 4_000, leaseRenewIntervalMs: 1_000 } });
    const b = h.add('b', { workers: 2 });
    h.step(a, job(6));
    h.advance(600);
    const atB = h.runs.filter((r) => r.node === b).length + h.core(b).view().queued.medium;
    expect(atB).toBeGreaterThan(0);
    // b falls silent: nothing it sends arrives, and it never finishes.
    h.filter = (from) => from !== b;
    h.runs.splice(0, h.runs.length, ...h.runs.filter((r) => r.node !== b));
    h.advance(6_000);
    const retries = h.eventsOf('task-retry');
    expect(retries.length).toBe(atB);
    expect(retries[0]!.reason).toMatch(/lease of b ran out/);
    h.cores.delete(b);
    for (let i = 0; i < 20 && h.core(a).view().jobs[0]!.status !== 'done'; i++) {
      h.finishAll();
      h.advance(1_000);
    }
    expect(h.core(a).view().jobs[0]!.status).toBe('done');
    expect(h.eventsOf('task-accepted')).toHaveLength(6);
  });

  it('a home requeues at once the tasks of a holder declared dead', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1 });
    const b = h.add('b', { workers: 2 });
    h.step(a, job(6));
    h.advance(600);
    const heldByB = h.runs.filter((r) => r.node === b).length + h.core(b).view().queued.medium;
    h.cores.delete(b);
    h.runs.splice(0, h.runs.length, ...h.runs.filter((r) => r.node !== b));
    h.step(a, { type: 'member-dead', node: b });
    expect(h.eventsOf('task-retry')).toHaveLength(heldByB);
    expect(h.eventsOf('task-retry')[0]!.reason).toMatch(/declared dead/);
  });
});

describe('bad input from peers is refused, counted and never applied', () => {
  function setup() {
    const h = new Harness();
    const a = h.add('a', { workers: 1 });
    const b = h.add('b', { workers: 1 });
    h.step(a, job(4));
    const jobId = h.core(a).view().jobs[0]!.id;
    return { h, a, b, jobId };
  }

  it('malformed messages, and a message claiming to come from the node itself', () => {
    const { h, a } = setup();
    for (const junk of [null, 42, 'steal', { type: 'steal-grant' }, { type: 'result', ref: {}, outcome: { ok: true } }, { type: 'nuke' }])
      h.inject('x' as NodeId, a, junk);
    expect(h.core(a).view().refusals['malformed-message']).toBe(6);
    h.inject(a, a, { type: 'load', load: load('a') });
    expect(h.core(a).view().refusals['self-message']).toBe(1);
    expect(h.core(a).view().lastRefusal).toMatchObject({ reason: 'self-message' });
  });

  it('a steal grant nobody asked for: tasks are not taken', () => {
    const { h, b } = setup();
    const before = h.core(b).view().queued.medium + h.runs.filter((r) => r.node === b).length;
    const task = {
      jobId: 'evil~1',
      index: 0,
      total: 1,
      home: 'evil',
      kind: 'sim-work',
      priority: 'critical',
      params: { ms: 1, value: 1 },
      cost: 1,
      replica: 0,
      attempt: 1,
      ticket: 'tkt',
      exclude: [],
      hops: 0,
    };
    h.inject('evil' as NodeId, b, { type: 'steal-grant', reqId: 'never-sent', tasks: [task], load: load('evil') });
    h.inject('evil' as NodeId, b, { type: 'shed-return', shedId: 'never-shed', tasks: [task], reason: 'x' });
    expect(h.core(b).view().refusals['unsolicited-grant']).toBe(1);
    expect(h.core(b).view().refusals['unsolicited-return']).toBe(1);
    expect(h.core(b).view().queued.critical).toBe(0);
    expect(h.core(b).view().queued.medium + h.runs.filter((r) => r.node === b).length).toBe(before);
  });

  it('results for tasks never given out, with wrong tickets, for unknown jobs, or duplicated', () => {
    const { h, a, b, jobId } = setup();
    const real = h.runs.find((r) => r.node === a)!;
    const ref = { jobId, index: real.task.index, replica: 0, attempt: 1, ticket: real.task.ticket };
    const send = (r: object, value: unknown = { value: 999 }) => h.inject(b, a, { type: 'result', ref: r, outcome: { ok: true, value } });
    send({ ...ref, ticket: 'forged' });
    send({ ...ref, jobId: 'a~nope~0' });
    send({ ...ref, index: 99 });
    const refusals = h.core(a).view().refusals;
    expect(refusals).toMatchObject({ 'unknown-ticket': 1, 'unknown-job': 1, 'unknown-task': 1 });
    expect(h.eventsOf('task-accepted')).toHaveLength(0);
    h.finish(real);
    expect(h.eventsOf('task-accepted')).toHaveLength(1);
    send(ref);
    expect(h.core(a).view().refusals['duplicate-result']).toBe(1);
    expect(h.core(a).jobOutput(jobId)).toBeNull();
  });

  it('an oversized result fails that attempt and the task is retried', () => {
    const { h, a, b, jobId } = setup();
    const real = h.runs.find((r) => r.node === a)!;
    const ref = { jobId, index: real.task.index, replica: 0, attempt: 1, ticket: real.task.ticket };
    h.inject(b, a, { type: 'result', ref, outcome: { ok: true, value: { blob: 'x'.repeat(230 * 1024) } } });
    expect(h.core(a).view().refusals['oversized-result']).toBe(1);
    expect(h.eventsOf('task-retry')[0]).toMatchObject({ index: real.task.index, reason: expect.stringContaining('larger than') });
  });

  it('a lease cancel from a node that is not the home, and a shed of an unknown kind', () => {
    const { h, a, b } = setup();
    const atB = [...h.runs.filter((r) => r.node === b)];
    if (atB.length > 0) {
      h.inject('mallory' as NodeId, b, {
        type: 'lease-cancel',
        refs: [{ jobId: atB[0]!.task.jobId, index: atB[0]!.task.index, replica: 0, attempt: atB[0]!.task.attempt, ticket: atB[0]!.task.ticket }],
        reason: 'done',
      });
      expect(h.core(b).view().refusals['not-home']).toBe(1);
      expect(h.runs.filter((r) => r.node === b)).toHaveLength(atB.length);
    }
    const task = {
      jobId: 'x~1',
      index: 0,
      total: 1,
      home: 'x',
      kind: 'eval-js',
      priority: 'low',
      params: 'while(1);',
      cost: 1,
      replica: 0,
      attempt: 1,
      ticket: 't',
      exclude: [],
      hops: 0,
    };
    h.inject('x' as NodeId, a, { type: 'shed', shedId: 's1', tasks: [task], load: load('x') });
    expect(h.core(a).view().refusals['unknown-kind']).toBe(1);
    expect(h.sent.at(-1)).toMatchObject({ to: 'x', msg: { type: 'shed-return', shedId: 's1' } });
    expect(h.core(a).view().queued.low).toBe(0);
  });

  it('blocklisting a node throws away its answers to tasks not yet decided', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1 });
    const b = h.add('b', { workers: 1 });
    h.add('c', { workers: 1 });
    h.step(a, job(2, { redundancy: 2 }));
    h.advance(600);
    const atB = h.runs.find((r) => r.node === b);
    expect(atB).toBeDefined();
    h.finish(atB!);
    expect(h.eventsOf('task-accepted')).toHaveLength(0); // its copy waits for a second vote
    h.step(a, { type: 'blocklist', node: b, reason: 'caught lying elsewhere' });
    const retry = h.eventsOf('task-retry').find((e) => e.index === atB!.task.index && e.replica === atB!.task.replica);
    expect(retry?.reason).toMatch(/answer came from b, now blocklisted/);
    h.finishAll();
    h.advance(2_000);
    h.finishAll();
    for (const e of h.eventsOf('task-accepted')) expect(e.nodes).not.toContain(b);
  });

  it('a node blocklisted gets no work and its results are ignored', () => {
    const h = new Harness();
    const a = h.add('a', { workers: 1 });
    h.step(a, { type: 'blocklist', node: 'liar' as NodeId, reason: 'test' });
    h.step(a, job(6));
    h.inject('liar' as NodeId, a, { type: 'steal-request', reqId: 'r1', want: 4, kinds: ['sim-work'], load: load('liar') });
    expect(h.sent.at(-1)).toMatchObject({ to: 'liar', msg: { type: 'steal-deny', reason: 'refused' } });
    expect(h.core(a).view().blocklist).toEqual(['liar']);
    expect(h.eventsOf('node-blocklisted')).toHaveLength(1);
  });
});
