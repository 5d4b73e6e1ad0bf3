import { expect, test } from 'vitest';
import { SimCluster } from '../../sim/cluster.ts';
import { asNodeId } from '../../../src/core/types.ts';
import { PbftSimNode, PbftWorld } from './sim-node.ts';

test('smoke: 4 replicas commit', () => {
  const world = new PbftWorld();
  world.genesis = ['n0', 'n1', 'n2', 'n3'].map(asNodeId);
  const cluster = new SimCluster<unknown, PbftSimNode>({ seed: 1, create: (ctx) => new PbftSimNode(ctx, world) });
  const ids = cluster.addMany(4);
  cluster.runFor(100);
  for (let i = 0; i < 10; i++) cluster.act(ids[i % 4]!, (node, now) => node.submit(now, { kind: 'decision', value: `d${i}` }, `t${i}`));
  cluster.runFor(3000);
  for (const id of ids) console.log(id, JSON.stringify(cluster.node(id).core.view().rejected), cluster.node(id).core.view().lastCommitted, world.okResults(id));
  expect(world.conflicts(ids)).toEqual([]);
  for (const id of ids) expect(cluster.node(id).core.view().log.length).toBe(10);
});
