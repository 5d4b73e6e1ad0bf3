// Membership and failure detection on the simulator: crashed nodes are found dead, live ones
// never are, suspicions are refuted, leaving spreads at once, slow nodes do not accuse.
import { expect } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { eventually, percentileOf } from '../../sim/checkers.ts';
import { longMode, simTest } from '../../sim/seed.ts';
import { allAliveEverywhere, allSee, command, gossipCluster, watchFalseDeaths } from './harness.ts';

const id = (i: number): NodeId => `n${i}` as NodeId;

simTest('a crashed node is known dead by every live node within seconds', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 32, network: { lossRate: 0.02 } });
  const falseDeaths = watchFalseDeaths(cluster);
  cluster.runFor(4_000 + seed * 97);
  const victim = id(7);
  cluster.crash(victim);
  // 1 s probe period: probe fails within ~1 s of the first probe, suspicion ≈ 1.9 s at n = 32.
  const took = eventually(cluster, `${victim} dead everywhere`, () => allSee(cluster, victim, ['dead']), { withinMs: 10_000 });
  expect(took).toBeGreaterThan(1_000);
  expect(falseDeaths).toEqual([]);
});

simTest(
  'detection time p50 at n = 64 with a 1 s probe period is under 5 s',
  (seed) => {
    const times: number[] = [];
    for (let run = 0; run < 9; run++) {
      const cluster = gossipCluster({ seed: seed * 100 + run, nodes: 64 });
      cluster.runFor(3_000 + run * 211);
      const victim = id((seed * 13 + run * 7) % 64);
      cluster.crash(victim);
      times.push(eventually(cluster, `${victim} dead everywhere`, () => allSee(cluster, victim, ['dead']), { withinMs: 20_000 }));
    }
    expect(percentileOf(times, 50)).toBeLessThan(5_000);
  },
  { seeds: 1, longSeeds: 6 },
);

simTest(
  'no live node is declared dead over 10 simulated minutes at 5 % loss',
  (seed) => {
    const nodes = longMode() ? 64 : 32;
    const cluster = gossipCluster({ seed, nodes, network: { lossRate: 0.05 } });
    const falseDeaths = watchFalseDeaths(cluster);
    cluster.runFor(10 * 60_000);
    expect(falseDeaths).toEqual([]);
    expect(allAliveEverywhere(cluster)).toBe(true);
  },
  { seeds: 2, longSeeds: 20 },
);

simTest('a falsely suspected node refutes by raising its incarnation; nobody declares it dead', (seed) => {
  // Long suspicion so the test is about refutation, not about racing the timer.
  const cluster = gossipCluster({ seed, nodes: 12, config: { suspicionMult: 4 } });
  const falseDeaths = watchFalseDeaths(cluster);
  cluster.runFor(3_000);
  const victim = id(4);
  const before = cluster.node(victim).core.currentIncarnation;
  // Cut the victim off long enough for some probe of it to fail, then let it back.
  cluster.network.partition([victim]);
  eventually(
    cluster,
    'someone suspects the victim',
    () => cluster.upIds().some((n) => n !== victim && cluster.node(n).core.member(victim)?.status === 'suspect'),
    { withinMs: 10_000 },
  );
  cluster.network.heal();
  eventually(cluster, 'victim alive everywhere again', () => allSee(cluster, victim, ['alive']), { withinMs: 10_000 });
  const after = cluster.node(victim).core.currentIncarnation;
  expect(after).toBeGreaterThan(before);
  eventually(
    cluster,
    'everyone holds the new incarnation',
    () => cluster.upIds().every((n) => n === victim || cluster.node(n).core.member(victim)?.incarnation === after),
    { withinMs: 10_000 },
  );
  expect(cluster.node(victim).core.metrics().refutations).toBeGreaterThan(0);
  expect(falseDeaths).toEqual([]);
});

simTest('a graceful leave reaches every node within a few network delays', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 48, network: { lossRate: 0.02 } });
  cluster.runFor(3_000);
  const leaver = id(10);
  command(cluster, leaver, { type: 'leave' });
  // Pushed at once and forwarded once by everyone who hears it: nearly all know within a few
  // network delays; a node the flood happened to miss hears it piggybacked soon after.
  cluster.runFor(300);
  const knowing = cluster.upIds().filter((n) => n !== leaver && cluster.node(n).core.member(leaver)?.status === 'left');
  expect(knowing.length).toBeGreaterThanOrEqual(45);
  eventually(cluster, 'leave known everywhere', () => allSee(cluster, leaver, ['left']), { withinMs: 2_000 });
  // A node that left goes quiet: no more timers, and it refuses to write.
  expect(cluster.node(leaver).core.nextWakeAt()).toBeUndefined();
  const refused = command(cluster, leaver, { type: 'set-memory', key: 'k', value: 1 });
  expect(refused).toEqual([expect.objectContaining({ type: 'command-refused' })]);
});

simTest('a slow node does not accuse the healthy (Lifeguard), and is not declared dead itself', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 12, network: { lossRate: 0.01 } });
  const falseDeaths = watchFalseDeaths(cluster);
  cluster.runFor(3_000);
  const slow = id(5);
  // Every message it receives is handled a second late (acks to its probes come back too late).
  cluster.network.slowNode(slow, 1_000);
  cluster.runFor(120_000);
  const metrics = cluster.node(slow).core.metrics();
  expect(metrics.suspicionsRaised).toBe(0);
  expect(metrics.localHealth).toBeGreaterThan(0);
  // Local health slowed its probing down compared with a healthy node.
  expect(metrics.probes).toBeLessThan(cluster.node(id(0)).core.metrics().probes / 2);
  expect(falseDeaths).toEqual([]);
  cluster.network.slowNode(slow, 0);
  cluster.runFor(60_000);
  // Healthy again: its score falls back as its probes succeed.
  expect(cluster.node(slow).core.metrics().localHealth).toBe(0);
});

simTest('a closed link is only a hint: a live peer stays alive, a dead one is found faster', (seed) => {
  const cluster = gossipCluster({ seed, nodes: 16 });
  const falseDeaths = watchFalseDeaths(cluster);
  cluster.runFor(3_000);
  for (const n of cluster.upIds()) if (n !== id(3)) command(cluster, n, { type: 'link-down', peer: id(3) });
  cluster.runFor(10_000);
  expect(allSee(cluster, id(3), ['alive'])).toBe(true);
  expect(falseDeaths).toEqual([]);
  cluster.crash(id(9));
  for (const n of cluster.upIds()) command(cluster, n, { type: 'link-down', peer: id(9) });
  // Every node probes n9 at once instead of waiting for its turn: suspicion right after one probe.
  eventually(cluster, 'suspected at once', () => allSee(cluster, id(9), ['suspect', 'dead']), { withinMs: 1_500 });
  eventually(cluster, 'then dead', () => allSee(cluster, id(9), ['dead']), { withinMs: 5_000 });
});

simTest('over overlay links only (peers mode): memory spreads and failures are detected', (seed) => {
  // A ring with chords: each node linked to ±1 and ±4 (4 links), as the overlay would keep it.
  const n = 20;
  const links = (i: number): NodeId[] => [1, -1, 4, -4].map((d) => id((i + d + n) % n));
  const cluster = gossipCluster({ seed, nodes: n, config: { contactMode: 'peers' }, introduce: 'none' });
  cluster.network.setReachability((from, to) => links(Number(from.slice(1))).includes(to));
  for (let i = 0; i < n; i++) command(cluster, id(i), { type: 'peers-changed', peers: links(i) });
  cluster.runFor(5_000);
  eventually(cluster, 'everyone knows everyone', () => allAliveEverywhere(cluster), { withinMs: 30_000 });
  command(cluster, id(0), { type: 'set-memory', key: 'hello', value: 'mesh' });
  eventually(cluster, 'spread over links', () => (cluster.upIds().every((x) => cluster.node(x).core.get('hello')?.value === 'mesh') ? true : 'not yet'), {
    withinMs: 20_000,
  });
  cluster.crash(id(10));
  eventually(cluster, 'n10 dead everywhere', () => allSee(cluster, id(10), ['dead']), { withinMs: 20_000 });
  expect(cluster.network.stats.dropped.unreachable).toBe(0);
});
