// The replicated memory on the simulator: every live node ends up with the same data, under
// loss, partitions, churn and concurrent writers.
import { expect } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { createRng } from '../../../src/core/rng.ts';
import { eventually } from '../../sim/checkers.ts';
import { simTest } from '../../sim/seed.ts';
import { allAliveEverywhere, allSee, command, gossipCluster, lacking, memoryConverged, type GossipCluster } from './harness.ts';

const id = (i: number): NodeId => `n${i}` as NodeId;

/** The write that must win a key: highest hybrid-clock time, then highest writer id. */
function winnerAmong(cluster: GossipCluster, writers: readonly NodeId[], key: string): unknown {
  let best: { hlc: [number, number]; origin: string; value: unknown } | undefined;
  for (const w of writers) {
    const e = cluster.node(w).core.get(key);
    if (!e) continue;
    const [wall, count] = e.hlc.split('.').map(Number) as [number, number];
    const better = !best || wall > best.hlc[0] || (wall === best.hlc[0] && (count > best.hlc[1] || (count === best.hlc[1] && e.origin > best.origin)));
    if (better) best = { hlc: [wall, count], origin: e.origin, value: e.value };
  }
  return best?.value;
}

simTest('writes from many nodes reach every node under 10 % loss, duplication and reordering', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 32, network: { lossRate: 0.1, duplicateRate: 0.02, reorderRate: 0.1 } });
  const rng = createRng(seed);
  const written = new Map<string, unknown>();
  for (let i = 0; i < 20; i++) {
    cluster.runFor(rng.int(500));
    const key = `k${i % 12}`;
    const value = { i, by: rng.int(32) };
    command(cluster, id(value.by), { type: 'set-memory', key, value });
    written.set(key, value);
  }
  eventually(cluster, 'memory converged', () => memoryConverged(cluster), { withinMs: 30_000 });
  // Writes were spread over time, one after another: the last write of each key wins everywhere.
  for (const [key, value] of written) expect(lacking(cluster, key, value)).toEqual([]);
  expect(cluster.node(id(0)).core.view().memory.length).toBe(12);
});

simTest('a partition heals: members and memory agree again, and the later write of a key wins', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 20, network: { lossRate: 0.02 } });
  cluster.runFor(3_000);
  const left = cluster.ids().slice(0, 10);
  cluster.network.partition(left);
  command(cluster, id(2), { type: 'set-memory', key: 'shared', value: 'left side, earlier' });
  command(cluster, id(3), { type: 'set-memory', key: 'only-left', value: 1 });
  cluster.runFor(5_000);
  command(cluster, id(15), { type: 'set-memory', key: 'shared', value: 'right side, later' });
  command(cluster, id(16), { type: 'set-memory', key: 'only-right', value: 2 });
  cluster.runFor(25_000);
  // During the partition each side converges on its own and sees the other side dead.
  expect(cluster.node(id(9)).core.get('only-left')?.value).toBe(1);
  expect(cluster.node(id(9)).core.get('only-right')).toBeUndefined();
  expect(allSee(cluster, id(12), ['dead', 'alive']) === true).toBe(true);
  expect(cluster.node(id(1)).core.member(id(12))?.status).toBe('dead');
  cluster.network.heal();
  eventually(cluster, 'everyone alive everywhere after heal', () => allAliveEverywhere(cluster), { withinMs: 30_000 });
  eventually(cluster, 'memory converged after heal', () => memoryConverged(cluster), { withinMs: 30_000 });
  expect(lacking(cluster, 'shared', 'right side, later')).toEqual([]);
  expect(lacking(cluster, 'only-left', 1)).toEqual([]);
  expect(lacking(cluster, 'only-right', 2)).toEqual([]);
});

simTest('concurrent writes to one key converge to one value everywhere: the highest clock, then the highest node id', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 16, network: { lossRate: 0.05 } });
  cluster.runFor(2_000);
  const writers = [1, 4, 6, 9, 11, 14].map(id);
  // All at the same virtual instant: none has seen another's write.
  for (const w of writers) command(cluster, w, { type: 'set-memory', key: 'race', value: `from ${w}` });
  const winner = winnerAmong(cluster, writers, 'race');
  eventually(cluster, 'one value everywhere', () => memoryConverged(cluster), { withinMs: 20_000 });
  expect(lacking(cluster, 'race', winner)).toEqual([]);
  // Same clock reading on every writer: the tie goes to the highest id.
  expect(winner).toBe('from n9');
});

simTest('concurrent writes on both sides of a partition resolve the same way on every node after heal', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 12, network: { lossRate: 0.02 } });
  cluster.runFor(2_000);
  cluster.network.partition(cluster.ids().slice(0, 6));
  const writers = [id(1), id(2), id(7), id(8)];
  const rng = createRng(seed + 99);
  for (const w of writers) {
    cluster.runFor(rng.int(300));
    command(cluster, w, { type: 'set-memory', key: 'x', value: `${w}@${cluster.now}` });
  }
  cluster.runFor(3_000);
  cluster.network.heal();
  eventually(cluster, 'converged after heal', () => memoryConverged(cluster), { withinMs: 30_000 });
  const values = new Set(cluster.upIds().map((n) => JSON.stringify(cluster.node(n).core.get('x')?.value)));
  expect(values.size).toBe(1);
});

simTest('deletes win over older writes, reach every node, and their tombstones expire', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 16, network: { lossRate: 0.05 }, config: { tombstoneTtlMs: 20_000 } });
  cluster.runFor(2_000);
  command(cluster, id(3), { type: 'set-memory', key: 'doomed', value: 'v1' });
  command(cluster, id(4), { type: 'set-memory', key: 'kept', value: 'stays' });
  eventually(cluster, 'written everywhere', () => (lacking(cluster, 'doomed', 'v1').length === 0 ? true : 'not yet'), { withinMs: 10_000 });
  // An isolated node keeps the old value while the others delete it.
  cluster.network.partition([id(15)]);
  command(cluster, id(7), { type: 'delete-memory', key: 'doomed' });
  cluster.runFor(5_000);
  expect(cluster.node(id(15)).core.get('doomed')?.value).toBe('v1');
  expect(cluster.node(id(0)).core.get('doomed')).toBeUndefined();
  cluster.network.heal();
  eventually(cluster, 'the delete reached the isolated node too', () => memoryConverged(cluster), { withinMs: 30_000 });
  expect(lacking(cluster, 'doomed', undefined)).toEqual([]);
  expect(cluster.node(id(0)).core.metrics().tombstones).toBe(1);
  cluster.runFor(30_000);
  for (const n of cluster.upIds()) {
    expect(cluster.node(n).core.metrics().tombstones).toBe(0);
    expect(cluster.node(n).core.get('doomed')).toBeUndefined();
    expect(cluster.node(n).core.get('kept')?.value).toBe('stays');
  }
});

simTest('churn: crashes, restarts and joins; afterwards members and memory agree', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 24, network: { lossRate: 0.05 } });
  const rng = createRng(seed + 7);
  let joined = 24;
  for (let round = 0; round < 12; round++) {
    cluster.runFor(1_000 + rng.int(2_000));
    const up = cluster.upIds().filter((n) => n !== id(0)); // n0 stays up: new nodes join through it
    const down = cluster.ids().filter((n) => !cluster.isUp(n));
    const action = rng.int(4);
    if (action === 0 && up.length > 16) cluster.crash(rng.pick(up) as NodeId);
    else if (action === 1 && down.length > 0) cluster.restart(rng.pick(down) as NodeId);
    else if (action === 2) cluster.add(`n${joined++}`);
    else command(cluster, rng.pick(cluster.upIds()) as NodeId, { type: 'set-memory', key: `churn${round % 5}`, value: round });
  }
  eventually(cluster, 'running nodes all see each other alive', () => allAliveEverywhere(cluster), { withinMs: 40_000 });
  for (const gone of cluster.ids().filter((n) => !cluster.isUp(n))) {
    eventually(cluster, `${gone} seen dead`, () => allSee(cluster, gone, ['dead']), { withinMs: 20_000 });
  }
  eventually(cluster, 'memory converged', () => memoryConverged(cluster), { withinMs: 30_000 });
});

simTest(
  'the same seed gives the same run',
  (seed) => {
    const run = (): string => {
      const cluster = gossipCluster({ seed, nodes: 10, network: { lossRate: 0.1, duplicateRate: 0.05 }, wire: 'json' });
      command(cluster, id(2), { type: 'set-memory', key: 'a', value: [1, 2, 3] });
      cluster.runFor(3_000);
      cluster.crash(id(4));
      cluster.runFor(10_000);
      return `${cluster.traceHash()} ${cluster.node(id(0)).core.memoryFingerprint}`;
    };
    expect(run()).toBe(run());
  },
  { seeds: 2 },
);
