// Placement by kind: a job of an app's kind runs only on nodes that advertise the kind. Nodes
// differ in the kernels their app registered; stealing, shedding and retries must never place a
// task of a kind on a node that does not run it (such a node would refuse it: 'unknown-kind'),
// and a node that registers or drops a kernel mid-job is taken into account from then on.
import { expect } from 'vitest';
import type { WorkItem } from '../../../src/core/steal/messages.ts';
import type { StealEvent } from '../../../src/core/steal/types.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { SimCluster } from '../../sim/cluster.ts';
import { simTest } from '../../sim/seed.ts';
import { Harness } from './harness.ts';
import { StealSimNode, simKind, simTasks } from './sim-node.ts';
import { describe, it } from 'vitest';

const appKind = 'blur';

interface Placement {
  cluster: SimCluster<unknown, StealSimNode>;
  ids: NodeId[];
  runs: Array<{ node: NodeId; task: WorkItem; at: Millis }>;
  accepted: Map<string, number>;
  refusedUnknownKind: () => number;
}

/** `runners` of `count` nodes run the app's kind (the first ones), the rest only the test kind. */
function placement(seed: number, count: number, runners: number, config: Record<string, number> = {}): Placement {
  let ids: NodeId[] = [];
  const runs: Placement['runs'] = [];
  let made = 0;
  const cluster = new SimCluster<unknown, StealSimNode>({
    seed,
    create: (ctx) =>
      new StealSimNode(ctx, {
        peers: () => ids,
        workers: 2,
        kinds: made++ < runners ? [simKind, appKind] : [simKind],
        config: { shedCooldownMs: 0, ...config },
        onRun: (task, at) => runs.push({ node: ctx.id, task, at }),
      }),
  });
  ids = cluster.addMany(count);
  const accepted = new Map<string, number>();
  cluster.onEvent(({ event }) => {
    const e = event as StealEvent;
    if (e.kind === 'task-accepted') accepted.set(`${e.jobId}#${e.index}`, (accepted.get(`${e.jobId}#${e.index}`) ?? 0) + 1);
  });
  cluster.runFor(2_500); // first adverts go round
  const refusedUnknownKind = () => ids.reduce((sum, id) => sum + (cluster.node(id).core.view().refusals['unknown-kind'] ?? 0), 0);
  return { cluster, ids, runs, accepted, refusedUnknownKind };
}

const durations = (n: number) => Array.from({ length: n }, (_, i) => 200 + ((i * 53) % 400));

simTest("a busy runner sheds and is stolen from only by nodes that advertise the job's kind", (seed) => {
  const { cluster, ids, runs, accepted, refusedUnknownKind } = placement(seed, 6, 3);
  const runners = new Set(ids.slice(0, 3));
  const home = ids[0] as NodeId;
  // The other runners and the three idle non-runners are all lighter than the home: shedding
  // and stealing both get their chance, and only the runners may take part.
  cluster.act(home, (node, now) => node.input(now, { type: 'submit', job: { kind: appKind, ...simTasks(durations(120)) } }));
  const job = () => cluster.node(home).core.view().jobs[0];
  expect(cluster.runUntil(() => job()?.status === 'done', { timeoutMs: 120_000 })).toBe(true);

  expect(accepted.size).toBe(120);
  expect([...accepted.values()].every((n) => n === 1)).toBe(true);
  const appRuns = runs.filter((r) => r.task.kind === appKind);
  expect(appRuns.length).toBeGreaterThanOrEqual(120);
  expect(new Set(appRuns.map((r) => r.node))).toEqual(runners);
  expect(Object.keys(job()!.shares).sort()).toEqual([...runners].sort());
  // Nothing was ever offered to a node that does not run the kind.
  expect(refusedUnknownKind()).toBe(0);
  const moved = ids.reduce((sum, id) => {
    const c = cluster.node(id).core.view().counters;
    return sum + c.tasksStolenIn + c.tasksShedIn;
  }, 0);
  expect(moved).toBeGreaterThan(0);
});

simTest('a job submitted at a node that does not run its kind runs on the nodes that do, retries included', (seed) => {
  const { cluster, ids, runs, accepted, refusedUnknownKind } = placement(seed, 5, 2, { retryBaseMs: 100 });
  const runners = new Set(ids.slice(0, 2));
  const home = ids[4] as NodeId;
  // Every fifth task fails its first attempts (on whichever runner takes it), then the job fails:
  // no retry may land on a non-runner either.
  const { tasks, costs } = simTasks(durations(40));
  cluster.act(home, (node, now) => node.input(now, { type: 'submit', job: { kind: appKind, tasks, costs } }));
  const job = () => cluster.node(home).core.view().jobs[0];
  expect(cluster.runUntil(() => job()?.status === 'done', { timeoutMs: 120_000 })).toBe(true);
  expect(accepted.size).toBe(40);
  expect(new Set(runs.filter((r) => r.task.kind === appKind).map((r) => r.node))).toEqual(runners);
  expect(refusedUnknownKind()).toBe(0);

  // A failing job: every attempt fails; the retries stay on the runners until the budget is spent.
  runs.length = 0;
  const failing = simTasks([100, 100, 100], () => true);
  cluster.act(home, (node, now) => node.input(now, { type: 'submit', job: { kind: appKind, ...failing } }));
  const second = () =>
    cluster
      .node(home)
      .core.view()
      .jobs.find((j) => j.id !== job()!.id);
  expect(cluster.runUntil(() => second()?.status === 'failed', { timeoutMs: 120_000 })).toBe(true);
  expect(second()!.error).toMatch(/failed 4 times/);
  expect(runs.length).toBeGreaterThanOrEqual(4);
  expect(new Set(runs.map((r) => r.node)).size).toBeGreaterThan(0);
  for (const r of runs) expect(runners.has(r.node), `attempt ${r.task.attempt} of task ${r.task.index} ran on ${r.node}`).toBe(true);
  expect(refusedUnknownKind()).toBe(0);
});

simTest('a node that registers the kind mid-job gets work from then on; one that drops it starts none after', (seed) => {
  const { cluster, ids, runs, accepted, refusedUnknownKind } = placement(seed, 4, 2);
  const home = ids[0] as NodeId;
  const [, dropper, joiner] = ids as [NodeId, NodeId, NodeId, NodeId];
  cluster.act(home, (node, now) => node.input(now, { type: 'submit', job: { kind: appKind, ...simTasks(durations(200)) } }));
  cluster.runFor(3_000);
  const joinedAt = cluster.now;
  cluster.act(joiner, (node, now) => node.input(now, { type: 'set-kinds', kinds: [simKind, appKind] }));
  cluster.runFor(3_000);
  const droppedAt = cluster.now;
  cluster.act(dropper, (node, now) => node.input(now, { type: 'set-kinds', kinds: [simKind] }));
  const job = () => cluster.node(home).core.view().jobs[0];
  expect(cluster.runUntil(() => job()?.status === 'done', { timeoutMs: 120_000 })).toBe(true);
  expect(accepted.size).toBe(200);

  const on = (node: NodeId) => runs.filter((r) => r.node === node);
  expect(on(joiner).length).toBeGreaterThan(0);
  expect(on(joiner).every((r) => r.at >= joinedAt)).toBe(true);
  expect(on(dropper).every((r) => r.at <= droppedAt)).toBe(true);
  expect(on(ids[3] as NodeId)).toEqual([]);
  expect(refusedUnknownKind()).toBe(0);
  expect(cluster.node(joiner).core.view().kinds).toEqual([appKind, simKind]);
});

describe('submitting a kind nobody runs', () => {
  it('is refused with a reason that says to register a kernel', () => {
    const h = new Harness();
    const a = h.add('a');
    h.add('b', { kinds: [simKind, 'other'] });
    h.advance(1_000);
    h.step(a, { type: 'submit', job: { kind: appKind, tasks: [{ ms: 1, value: 1 }] } });
    expect(h.eventsOf('job-refused').at(-1)?.reason).toMatch(/unknown task kind "blur": no node runs it.*register a kernel/);
    // …and accepted once a peer advertises it.
    h.step(a, { type: 'submit', job: { kind: 'other', tasks: [{ ms: 1, value: 1 }] } });
    expect(h.eventsOf('job-submitted')).toHaveLength(1);
    expect(h.core(a).runnersOf('other')).toEqual(['b']);
    expect(h.core(a).runnersOf(simKind).sort()).toEqual(['a', 'b']);
  });

  it('a malformed kind name is a bug in the runtime, refused loudly', () => {
    const h = new Harness();
    const a = h.add('a');
    expect(() => h.step(a, { type: 'set-kinds', kinds: ['Not A Kind'] })).toThrow(/must match/);
  });
});
