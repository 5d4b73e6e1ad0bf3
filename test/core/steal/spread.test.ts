import { expect } from 'vitest';
import type { JobId } from '../../../src/core/steal/messages.ts';
import type { StealEvent } from '../../../src/core/steal/types.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { SimCluster } from '../../sim/cluster.ts';
import { simTest } from '../../sim/seed.ts';
import { StealSimNode, simKind, simTasks } from './sim-node.ts';

simTest('a job flooded onto one node spreads over the mesh and completes exactly once', (seed) => {
  let ids: NodeId[] = [];
  const cluster = new SimCluster<unknown, StealSimNode>({
    seed,
    create: (ctx) => new StealSimNode(ctx, { peers: () => ids, workers: 2 }),
  });
  ids = cluster.addMany(8);
  const accepted = new Map<string, number>();
  cluster.onEvent(({ event }) => {
    const e = event as StealEvent;
    if (e.kind === 'task-accepted') accepted.set(`${e.jobId}#${e.index}`, (accepted.get(`${e.jobId}#${e.index}`) ?? 0) + 1);
  });
  cluster.runFor(500);
  const home = ids[0] as NodeId;
  const durations = Array.from({ length: 160 }, (_, i) => 200 + ((i * 37) % 300));
  cluster.act(home, (node, now) => node.input(now, { type: 'submit', job: { kind: simKind, ...simTasks(durations) } }));
  const job = () => cluster.node(home).core.view().jobs[0];
  expect(cluster.runUntil(() => job()?.status === 'done', { timeoutMs: 60_000 })).toBe(true);

  expect(accepted.size).toBe(160);
  expect([...accepted.values()].every((n) => n === 1)).toBe(true);
  const output = cluster.node(home).core.jobOutput(job()!.id as JobId)!;
  expect(output.results).toEqual(durations.map((_, i) => ({ value: 2 * i })));
  // Everyone took part: the shares name all 8 nodes.
  const shares = job()!.shares;
  expect(Object.keys(shares).sort()).toEqual([...ids].sort());
  expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBe(160);
  // Total work 56 s over 16 workers is 3.5 s; allow for spreading and the tail.
  const makespan = job()!.finishedAt! - job()!.createdAt!;
  expect(makespan).toBeLessThan(3_500 * 1.5);
});
