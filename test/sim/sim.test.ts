import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { EventQueue } from './clock.ts';
import { SimCluster, type ClusterOptions } from './cluster.ts';
import { MaxNode, type MaxMsg } from './example-node.ts';
import { SimStorage } from './storage.ts';
import { allAgree, eventually } from './checkers.ts';
import { simTest } from './seed.ts';
import { createRng } from '../../src/core/rng.ts';
import type { NodeId } from '../../src/core/types.ts';

type MaxCluster = SimCluster<MaxMsg, MaxNode>;

function maxCluster(seed: number, n: number, options: Partial<ClusterOptions<MaxMsg, MaxNode>> = {}): MaxCluster {
  let ids: NodeId[] = [];
  const cluster: MaxCluster = new SimCluster<MaxMsg, MaxNode>({
    seed,
    create: (ctx) => new MaxNode(ctx, () => ids),
    ...options,
  });
  ids = cluster.addMany(n);
  return cluster;
}

const values = (cluster: MaxCluster): Map<NodeId, number> => new Map(cluster.upIds().map((id) => [id, cluster.node(id).value]));

const maxOf = (cluster: MaxCluster): number => Math.max(...values(cluster).values());

describe('event queue', () => {
  test('pops in time order, and in scheduling order for equal times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const queue = new EventQueue<number>();
        times.forEach((t, i) => queue.push(t, i));
        const popped: Array<[number, number]> = [];
        for (let e = queue.pop(); e; e = queue.pop()) popped.push([e.at, e.payload]);
        const expected = times.map((t, i) => [t, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(popped).toEqual(expected);
      }),
    );
  });

  test('cancelled events never run and are not counted', () => {
    const queue = new EventQueue<string>();
    const a = queue.push(5, 'a');
    queue.push(7, 'b');
    queue.cancel(a);
    expect(queue.size).toBe(1);
    expect(queue.pop()?.payload).toBe('b');
    expect(queue.pop()).toBeUndefined();
  });
});

describe('storage', () => {
  test('a crash loses what was not flushed; flushed data survives', () => {
    const disk = new SimStorage();
    disk.set('a', 1);
    disk.flush();
    disk.set('a', 2);
    disk.set('b', { x: 1 });
    expect(disk.get('a')).toBe(2);
    disk.crash();
    expect(disk.get('a')).toBe(1);
    expect(disk.get('b')).toBeUndefined();
    expect(disk.stats.batchesLost).toBe(2);
  });

  test('a partial crash keeps a prefix of the batches, each whole', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const disk = new SimStorage();
      for (let i = 1; i <= 5; i++)
        disk.write([
          { kind: 'set', key: 'n', value: i },
          { kind: 'set', key: 'm', value: i },
        ]);
      disk.crash(createRng(seed));
      const n = disk.get('n');
      expect(n).toBe(disk.get('m'));
      expect(n === undefined || (typeof n === 'number' && n >= 1 && n <= 5)).toBe(true);
    }
  });

  test('values are copied in and out', () => {
    const disk = new SimStorage();
    const value = { list: [1] };
    disk.set('k', value);
    value.list.push(2);
    const out = disk.get('k') as { list: number[] };
    out.list.push(3);
    expect(disk.get('k')).toEqual({ list: [1] });
  });
});

describe('cluster', () => {
  test('the same seed gives the same trace; another seed another', () => {
    const run = (seed: number): string => {
      const cluster = maxCluster(seed, 12, { network: { lossRate: 0.1, duplicateRate: 0.05, reorderRate: 0.1 } });
      cluster.runFor(400);
      cluster.crash(cluster.ids()[3] as NodeId);
      cluster.network.partition(cluster.ids().slice(0, 4));
      cluster.runFor(500);
      cluster.network.heal();
      cluster.restart(cluster.ids()[3] as NodeId);
      cluster.runFor(1_000);
      return cluster.traceHash();
    };
    expect(run(7)).toBe(run(7));
    expect(run(7)).not.toBe(run(8));
  });

  simTest('a toy protocol converges under loss, duplication and reordering', (seed) => {
    const cluster = maxCluster(seed, 32, { network: { lossRate: 0.2, duplicateRate: 0.1, reorderRate: 0.2 } });
    const target = maxOf(cluster);
    eventually(cluster, 'every node holds the maximum', () => allAgree(values(cluster)), { withinMs: 10_000 });
    expect(cluster.node(cluster.ids()[0] as NodeId).value).toBe(target);
    expect(cluster.network.stats.dropped.loss).toBeGreaterThan(0);
    expect(cluster.network.stats.duplicated).toBeGreaterThan(0);
  });

  simTest('nothing crosses a partition; after heal the sides agree', (seed) => {
    const cluster = maxCluster(seed, 10);
    const ids = cluster.ids();
    const left = ids.slice(0, 5);
    cluster.network.partition(left);
    const leftMax = Math.max(...left.map((id) => cluster.node(id).value));
    cluster.runFor(3_000);
    for (const id of left) expect(cluster.node(id).value).toBe(leftMax);
    expect(cluster.network.stats.dropped.partition).toBeGreaterThan(0);
    cluster.network.heal();
    eventually(cluster, 'agreement after heal', () => allAgree(values(cluster)), { withinMs: 5_000 });
  });

  simTest('a restarted node finds what it flushed and loses what it had not', (seed) => {
    const cluster = maxCluster(seed, 6, { flushDelayMs: 1_000 });
    const [a] = cluster.ids() as [NodeId];
    cluster.runFor(2_000);
    cluster.act(a, (node) => {
      node.value = 2_000_000;
      cluster.storage(a).set('max', node.value);
    });
    cluster.runFor(100); // the flush has not finished: the write and the messages of that step wait
    cluster.crash(a);
    const durable = cluster.storage(a).durableEntries();
    expect(durable.length).toBe(1);
    expect(durable[0]?.[1]).not.toBe(2_000_000);
    cluster.restart(a);
    expect(cluster.node(a).value).toBe(durable[0]?.[1]);
    cluster.runFor(5_000);
    for (const id of cluster.upIds()) expect(cluster.node(id).value).toBeLessThan(2_000_000);
  });

  test('messages to a crashed node are dropped; a clogged link delays without losing', () => {
    const cluster = maxCluster(1, 2, { traceLines: 50 });
    const [a, b] = cluster.ids() as [NodeId, NodeId];
    cluster.crash(b);
    cluster.runFor(500);
    expect(cluster.network.stats.dropped['node-down']).toBeGreaterThan(0);
    cluster.restart(b);
    const before = cluster.node(b).received;
    cluster.network.clog(a, b, cluster.now + 1_000);
    cluster.runFor(900);
    expect(cluster.node(b).received).toBe(before);
    cluster.runFor(300);
    expect(cluster.node(b).received).toBeGreaterThan(before + 5);
  });

  test('a slow node handles messages late', () => {
    const cluster = maxCluster(2, 2, { traceLines: 400 });
    const [a, b] = cluster.ids() as [NodeId, NodeId];
    cluster.network.slowNode(b, 400);
    const arrivals: number[] = [];
    cluster.runFor(2_000);
    for (const line of cluster.recentTrace()) {
      if (line.includes(`deliver ${a}>${b}`)) arrivals.push(Number(line.split(' ')[0]));
    }
    expect(arrivals.length).toBeGreaterThan(0);
    // Latency is 10–50 ms, plus 400 ms of processing lag: nothing arrives before 410 ms.
    expect(Math.min(...arrivals)).toBeGreaterThanOrEqual(410);
  });

  test('lagging timers fire late; deliveries stay on time', () => {
    const cluster = maxCluster(2, 2, { traceLines: 400 });
    const [a] = cluster.ids() as [NodeId, NodeId];
    cluster.network.lagTimers(a, 300);
    cluster.runFor(2_000);
    const wakes = cluster
      .recentTrace()
      .filter((line) => line.includes(`wake ${a}`))
      .map((line) => Number(line.split(' ')[0]));
    // MaxNode asks to wake 100 ms after each wake; each comes 300 ms after it was asked for.
    // (The first wake was scheduled before the lag was switched on.)
    expect(wakes.length).toBeGreaterThan(3);
    for (let i = 2; i < wakes.length; i++) expect((wakes[i] as number) - (wakes[i - 1] as number)).toBeCloseTo(400, 6);
  });

  test('one-way blocks and a reachability filter drop only what they should', () => {
    const cluster = maxCluster(3, 3);
    const [a, b, c] = cluster.ids() as [NodeId, NodeId, NodeId];
    cluster.network.block(a, b);
    cluster.network.setReachability((from, to) => !(from === c || to === c));
    cluster.runFor(2_000);
    expect(cluster.network.stats.dropped.blocked).toBeGreaterThan(0);
    expect(cluster.network.stats.dropped.unreachable).toBeGreaterThan(0);
    expect(cluster.network.connected(b, a)).toBeNull();
    expect(cluster.network.connected(a, b)).toBe('blocked');
  });

  test('handles 1,024 nodes', () => {
    const cluster = maxCluster(4, 1_024, { wire: 'reference' });
    const target = maxOf(cluster);
    eventually(cluster, 'all 1,024 hold the maximum', () => (maxOfMin(cluster) === target ? true : 'not yet'), {
      withinMs: 10_000,
      checkEveryMs: 100,
    });
    expect(cluster.stats.deliveries).toBeGreaterThan(10_000);
  });
});

function maxOfMin(cluster: MaxCluster): number {
  let min = Infinity;
  for (const id of cluster.upIds()) min = Math.min(min, cluster.node(id).value);
  return min;
}
