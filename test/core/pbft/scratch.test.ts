import { expect, test } from 'vitest';
import { SimCluster } from '../../sim/cluster.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { PbftSimNode, PbftWorld } from './sim-node.ts';

function setup(n: number, seed: number, genesisCount = n) {
  const world = new PbftWorld();
  world.genesis = Array.from({ length: genesisCount }, (_, i) => asNodeId(`n${i}`));
  const cluster = new SimCluster<unknown, PbftSimNode>({ seed, create: (ctx) => new PbftSimNode(ctx, world) });
  const ids = cluster.addMany(n);
  return { world, cluster, ids };
}
const dump = (cluster: any, ids: NodeId[]) => { for (const id of ids) { if (!cluster.isUp(id)) continue; const v = cluster.node(id).core.view(); console.log(id, v.role, 'e', v.epoch, 'v', v.view, v.mode, 'exec', v.lastCommitted, 'stable', v.stableCheckpoint, 'n', v.n, JSON.stringify(v.rejected), v.stalled); } };

test('primary crash', () => {
  const { world, cluster, ids } = setup(4, 2);
  cluster.runFor(100);
  cluster.crash(ids[0]!);
  for (let i = 0; i < 5; i++) cluster.act(ids[1 + (i % 3)]!, (node, now) => node.submit(now, { kind: 'decision', value: `d${i}` }));
  cluster.runFor(8000);
  dump(cluster, ids);
  console.log([...world.results.entries()].map(([k, v]) => k + ':' + v.map((r) => r.ok ? 'ok' + r.seq : r.reason).join(',')).join(' | '));
  expect(world.conflicts(ids)).toEqual([]);
});

test('restart', () => {
  const { world, cluster, ids } = setup(4, 3);
  for (let i = 0; i < 20; i++) cluster.act(ids[i % 4]!, (node, now) => node.submit(now, { kind: 'kv-set', key: `k${i}`, value: i }));
  cluster.runFor(500);
  cluster.crash(ids[2]!);
  for (let i = 0; i < 30; i++) cluster.act(ids[i % 2]!, (node, now) => node.submit(now, { kind: 'kv-set', key: `k${i}`, value: i * 2 }));
  cluster.runFor(3000);
  cluster.restart(ids[2]!);
  cluster.runFor(3000);
  dump(cluster, ids);
  expect(world.conflicts(ids)).toEqual([]);
});

test('joins', () => {
  const { world, cluster, ids } = setup(7, 4, 1);
  cluster.runFor(100);
  for (let k = 1; k < 7; k++) {
    const id = ids[k]!;
    cluster.act(id, (node, now) => node.submit(now, { kind: 'join', node: id }));
    cluster.runFor(4000);
    dump(cluster, ids.slice(0, k + 1));
  }
  for (let i = 0; i < 10; i++) cluster.act(ids[i % 7]!, (node, now) => node.submit(now, { kind: 'decision', value: i }));
  cluster.runFor(5000);
  dump(cluster, ids);
  expect(world.conflicts(ids)).toEqual([]);
});
