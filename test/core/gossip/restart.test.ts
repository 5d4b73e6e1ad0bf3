// Crash and restart from what the disk holds: the incarnation moves on, the memory is back at
// once, nothing that was not durable ever leaves the node, and a node back from a long absence
// cannot resurrect deleted keys.
import { expect } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { eventually } from '../../sim/checkers.ts';
import { simTest } from '../../sim/seed.ts';
import { allAliveEverywhere, allSee, command, gossipCluster, lacking, memoryConverged } from './harness.ts';

const id = (i: number): NodeId => `n${i}` as NodeId;

simTest('a restarted node comes back with its memory and a higher incarnation', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 16, network: { lossRate: 0.05 } });
  cluster.runFor(2_000);
  command(cluster, id(2), { type: 'set-memory', key: 'mine', value: { n: 1 } });
  command(cluster, id(8), { type: 'set-memory', key: 'theirs', value: 'x' });
  eventually(cluster, 'spread', () => memoryConverged(cluster), { withinMs: 10_000 });
  const incarnation = cluster.node(id(2)).core.currentIncarnation;
  cluster.crash(id(2));
  eventually(cluster, 'n2 seen dead', () => allSee(cluster, id(2), ['dead']), { withinMs: 15_000 });
  cluster.restart(id(2));
  // Straight from disk, before any message arrives.
  const back = cluster.node(id(2)).core;
  expect(back.get('mine')?.value).toEqual({ n: 1 });
  expect(back.get('theirs')?.value).toBe('x');
  expect(back.currentIncarnation).toBe(incarnation + 1);
  eventually(cluster, 'alive everywhere again', () => allAliveEverywhere(cluster), { withinMs: 15_000 });
  for (const n of cluster.upIds()) expect(cluster.node(n).core.member(id(2))?.incarnation).toBeGreaterThan(incarnation);
  // It keeps writing in its new incarnation, and the writes spread.
  command(cluster, id(2), { type: 'set-memory', key: 'mine', value: { n: 2 } });
  eventually(cluster, 'new write spread', () => (lacking(cluster, 'mine', { n: 2 }).length === 0 ? true : 'not yet'), { withinMs: 10_000 });
});

simTest('a write lost in a crash before it was durable never appears anywhere', (seed) => {
  // Disk writes take 50 ms; the node's messages wait for them (persist before send).
  const cluster = gossipCluster({ seed, nodes: 8, flushDelayMs: 50 });
  cluster.runFor(2_000);
  command(cluster, id(1), { type: 'set-memory', key: 'lost', value: 'never durable' });
  cluster.runFor(20); // not yet on disk, not yet sent
  cluster.crash(id(1));
  cluster.runFor(10_000);
  cluster.restart(id(1));
  command(cluster, id(3), { type: 'set-memory', key: 'kept', value: 'durable' });
  cluster.runFor(10_000);
  for (const n of cluster.upIds()) {
    expect(cluster.node(n).core.get('lost')).toBeUndefined();
    expect(cluster.node(n).core.get('kept')?.value).toBe('durable');
  }
});

simTest('a crash that keeps only some pending writes still restarts cleanly and converges', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 10, flushDelayMs: 30, network: { lossRate: 0.05 } });
  cluster.runFor(1_000);
  for (let i = 0; i < 10; i++) {
    command(cluster, id(4), { type: 'set-memory', key: `k${i}`, value: i });
    cluster.runFor(7);
  }
  cluster.crash(id(4), { partialFlush: true });
  cluster.runFor(3_000);
  cluster.restart(id(4));
  eventually(cluster, 'converged', () => memoryConverged(cluster), { withinMs: 20_000 });
  eventually(cluster, 'members agree', () => allAliveEverywhere(cluster), { withinMs: 20_000 });
});

simTest('a node whose disk was wiped rejoins under its old id and outranks its old death', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 10 });
  cluster.runFor(2_000);
  // Raise n6's incarnation a few times, so a fresh start (incarnation 0) is "in the past".
  for (let i = 0; i < 3; i++) {
    cluster.network.partition([id(6)]);
    cluster.runFor(2_500);
    cluster.network.heal();
    cluster.runFor(3_000);
  }
  cluster.crash(id(6));
  eventually(cluster, 'n6 dead', () => allSee(cluster, id(6), ['dead']), { withinMs: 15_000 });
  const deadAt = cluster.node(id(0)).core.member(id(6))?.incarnation ?? 0;
  cluster.wipe(id(6));
  cluster.restart(id(6));
  expect(cluster.node(id(6)).core.currentIncarnation).toBe(0);
  eventually(cluster, 'n6 alive everywhere', () => allSee(cluster, id(6), ['alive']), { withinMs: 15_000 });
  expect(cluster.node(id(6)).core.currentIncarnation).toBeGreaterThan(deadAt);
});

simTest('a node back after longer than the tombstone lifetime does not resurrect a deleted key', (seed) => {
  const ttl = 30_000;
  const cluster = gossipCluster({ seed, nodes: 8, config: { tombstoneTtlMs: ttl, deadRetentionMs: 20_000 } });
  cluster.runFor(2_000);
  command(cluster, id(5), { type: 'set-memory', key: 'gone', value: 'old' });
  command(cluster, id(5), { type: 'set-memory', key: 'still', value: 'here' });
  eventually(cluster, 'spread', () => memoryConverged(cluster), { withinMs: 10_000 });
  cluster.crash(id(5));
  command(cluster, id(1), { type: 'delete-memory', key: 'gone' });
  cluster.runFor(ttl * 2); // the tombstone expires everywhere
  for (const n of cluster.upIds()) expect(cluster.node(n).core.metrics().tombstones).toBe(0);
  cluster.restart(id(5));
  // It dropped its entries older than the tombstone lifetime instead of re-spreading them…
  expect(cluster.node(id(5)).core.get('gone')).toBeUndefined();
  cluster.runFor(20_000);
  // …and relearned the ones that still exist from its peers.
  for (const n of cluster.upIds()) {
    expect(cluster.node(n).core.get('gone')).toBeUndefined();
    expect(cluster.node(n).core.get('still')?.value).toBe('here');
  }
});
