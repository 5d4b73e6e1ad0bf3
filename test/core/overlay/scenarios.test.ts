// Seeded scenarios on the shared simulator (test/sim): joins in random order, crashes,
// partitions and heals, restarts, live settings and a misbehaving node. Each failure prints
// SEED=<n> and the command that replays it.
import { expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import { always, eventually } from '../../sim/checkers.ts';
import { createRng } from '../../../src/core/rng.ts';
import { components, meshTopologyBlock } from '../../../src/core/graph/index.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { ball, joinInRandomOrder, meshCluster, meshDiameter, meshHealthy, trueGraph, viewsAgree, type MeshCluster } from './mesh-checks.ts';
import { advertRadiusHops } from '../../../src/core/overlay/config.ts';

const settleMs = 20_000;

function settledMesh(seed: number, n: number): { cluster: MeshCluster; ids: NodeId[] } {
  const cluster = meshCluster(seed);
  const ids = joinInRandomOrder(cluster, n, seed);
  eventually(cluster, `${n} nodes settle into a 3–5-link mesh`, () => meshHealthy(cluster, 3, 5), { withinMs: settleMs, checkEveryMs: 100 });
  eventually(cluster, 'every node sees the true graph', () => viewsAgree(cluster, true), { withinMs: 5_000, checkEveryMs: 100 });
  return { cluster, ids };
}

simTest('nodes joining in random order settle into one mesh with 3–5 links each and a small diameter', (seed) => {
  const { cluster } = settledMesh(seed, 48);
  // At rest it stays that way: no link flaps out of range, nobody is cut off.
  const stop = always(cluster, 'mesh at rest stays healthy', () => meshHealthy(cluster, 3, 5), { everyMs: 200 });
  const pruned = () => cluster.upIds().reduce((s, id) => s + cluster.node(id).overlay.counters.linksPruned, 0);
  const prunedBefore = pruned();
  cluster.runFor(30_000);
  stop();
  expect(pruned() - prunedBefore, 'no churn at rest').toBe(0);
  expect(meshDiameter(cluster)).toBeLessThanOrEqual(Math.ceil(Math.log2(48)));
  expect(viewsAgree(cluster)).toBe(true);
  // What a node would write into swarm/mesh/topology and show in the UI, from its own view:
  // the whole room for a node whose neighbourhood covers it (the centre of a 48-node mesh).
  const truth = trueGraph(cluster);
  const centre = [...truth.keys()].sort((a, b) => ball(truth, b, advertRadiusHops).size - ball(truth, a, advertRadiusHops).size)[0] as NodeId;
  expect(ball(truth, centre, advertRadiusHops).size).toBe(48);
  const node = cluster.node(centre).overlay;
  const metrics = node.metrics();
  const snapshot = node.topologySnapshot(metrics);
  expect(snapshot.nodes).toHaveLength(48);
  expect(snapshot.links).toHaveLength(trueLinkCount(cluster));
  expect(snapshot.articulationPoints).toEqual([]);
  expect(snapshot.avgDegree).toBeGreaterThanOrEqual(3);
  expect(snapshot.avgDegree).toBeLessThanOrEqual(5);
  expect(snapshot.partitionRisk).toBeLessThanOrEqual(0.125);
  expect(meshTopologyBlock(metrics).fault_tolerance.redundancy_level).toBe('high');
});

function trueLinkCount(cluster: MeshCluster): number {
  return [...trueGraph(cluster).values()].reduce((s, peers) => s + peers.size, 0) / 2;
}

simTest('a small swarm forms a full mesh', (seed) => {
  for (const n of [2, 4, 6]) {
    const cluster = meshCluster(seed);
    joinInRandomOrder(cluster, n, seed, 300);
    eventually(
      cluster,
      `${n} nodes fully linked`,
      () => {
        const graph = trueGraph(cluster);
        const short = [...graph].filter(([, peers]) => peers.size !== n - 1);
        return short.length === 0 || `${short.length} node(s) without n−1 links`;
      },
      { withinMs: 10_000, checkEveryMs: 100 },
    );
  }
});

simTest('after 20 % of the nodes crash at once, the survivors are one mesh with 3–5 links within seconds', (seed) => {
  const { cluster, ids } = settledMesh(seed, 40);
  const victims = createRng(`victims/${seed}`).shuffle(ids).slice(0, 8);
  for (const v of victims) cluster.crash(v);
  // Detection takes up to 2 s here (keepalive every 500 ms, 1.5 s silence), then relinking.
  const took = eventually(cluster, 'survivors heal', () => meshHealthy(cluster, 3, 5), { withinMs: 8_000, checkEveryMs: 50 });
  expect(took).toBeLessThanOrEqual(8_000);
  eventually(cluster, 'views catch up', () => viewsAgree(cluster), { withinMs: 5_000, checkEveryMs: 100 });
  // Crashed nodes that were linked to each other still list each other; they are shown as an
  // unreachable part for strayComponentGraceMs, then left out.
  eventually(cluster, 'the dead are no longer shown', () => viewsAgree(cluster, true), { withinMs: 25_000, checkEveryMs: 500 });
});

simTest('a partition: each side keeps itself whole, and the two sides merge again after the heal', (seed) => {
  const { cluster, ids } = settledMesh(seed, 32);
  const shuffled = createRng(`split/${seed}`).shuffle(ids);
  const left = shuffled.slice(0, 16);
  const right = shuffled.slice(16);
  cluster.network.partition(left, right);
  const sideHealthy = (side: NodeId[]) => () => {
    const graph = trueGraph(cluster);
    const bad = side.filter((id) => {
      const peers = [...(graph.get(id) ?? [])].filter((p) => side.includes(p));
      return peers.length < 3 || peers.length > 5;
    });
    if (bad.length > 0) return `${bad.length} node(s) of the side out of range`;
    const sub = new Map(side.map((id) => [id, new Set([...(graph.get(id) ?? [])].filter((p) => side.includes(p)))]));
    return components(sub).length === 1 || 'side split';
  };
  // A node whose every link crossed the cut has to find its own side by trial: each round of
  // dials to the far side costs connectTimeoutMs (rounds of 2, 3, then 4 at once), so allow some.
  eventually(cluster, 'left side whole', sideHealthy(left), { withinMs: 20_000, checkEveryMs: 100 });
  eventually(cluster, 'right side whole', sideHealthy(right), { withinMs: 20_000, checkEveryMs: 100 });
  // Once the cut links are noticed, each side sees the other as an unreachable part of the
  // mesh (for strayComponentGraceMs): a partition, risk 1.
  eventually(
    cluster,
    'left side sees the split',
    () => {
      const seen = cluster.node(left[0] as NodeId).overlay.metrics();
      return (!seen.connected && seen.partitionRisk === 1) || `connected=${seen.connected} risk=${seen.partitionRisk}`;
    },
    { withinMs: 5_000, checkEveryMs: 100 },
  );
  cluster.runFor(5_000);
  cluster.network.heal();
  eventually(cluster, 'one mesh again', () => meshHealthy(cluster, 3, 5), { withinMs: 20_000, checkEveryMs: 100 });
  eventually(cluster, 'views agree', () => viewsAgree(cluster), { withinMs: 5_000, checkEveryMs: 100 });
});

simTest('a long partition (longer than the stray grace) still merges, from remembered peers', (seed) => {
  const { cluster, ids } = settledMesh(seed, 20);
  const shuffled = createRng(`long-split/${seed}`).shuffle(ids);
  cluster.network.partition(shuffled.slice(0, 10), shuffled.slice(10));
  cluster.runFor(60_000);
  cluster.network.heal();
  eventually(cluster, 'one mesh again', () => meshHealthy(cluster, 3, 5), { withinMs: 60_000, checkEveryMs: 200 });
});

simTest('a node that restarts with the same id (and no memory) is taken back, and its new adverts win', (seed) => {
  const { cluster, ids } = settledMesh(seed, 24);
  const node = ids[0] as NodeId;
  cluster.crash(node);
  cluster.runFor(3_000);
  cluster.restart(node);
  const sample = createRng(`sample/${seed}`)
    .shuffle(cluster.upIds().filter((id) => id !== node))
    .slice(0, 8);
  cluster.act(node, (n, now) => n.learn(now, sample));
  eventually(cluster, 'healthy with the restarted node', () => meshHealthy(cluster, 3, 5), { withinMs: 10_000, checkEveryMs: 100 });
  eventually(cluster, 'everyone sees its new links', () => viewsAgree(cluster), { withinMs: 5_000, checkEveryMs: 100 });
});

simTest('a live change of maxLinks is followed without cutting anyone off', (seed) => {
  const { cluster } = settledMesh(seed, 30);
  for (const id of cluster.upIds()) cluster.act(id, (n, now) => n.configure(now, { maxLinks: 4 }));
  const stop = always(cluster, 'never split while pruning', () => components(trueGraph(cluster)).length === 1 || 'split', { everyMs: 50 });
  eventually(cluster, 'degrees within the new range', () => meshHealthy(cluster, 3, 4), { withinMs: 20_000, checkEveryMs: 100 });
  stop();
});

simTest('a misbehaving node cannot forge adverts, and is cut off when it floods', (seed) => {
  const { cluster, ids } = settledMesh(seed, 20);
  const liar = ids[0] as NodeId;
  const victim = ids[1] as NodeId;
  const neighbour = [...cluster.node(liar).links.keys()][0] as NodeId;
  // An advert claiming the victim's origin but signed by the liar: dropped by the neighbour.
  const forged = { type: 'advert', origin: victim, seq: Number.MAX_SAFE_INTEGER, ageMs: 0, ttl: 4, links: [], sig: `sim:${liar}` };
  cluster.act(liar, (n) => n.sendRaw(neighbour, { k: 'o', m: forged }));
  // A frame from a node that is not linked: dropped before any core sees it.
  const stranger = cluster.upIds().find((id) => id !== liar && !cluster.node(id).links.has(neighbour) && id !== neighbour) as NodeId;
  cluster.act(stranger, (n) => n.sendRaw(neighbour, { k: 'o', m: forged }));
  cluster.runFor(500);
  expect(cluster.node(neighbour).overlay.counters.dropped['signer-mismatch']).toBe(1);
  expect(cluster.node(neighbour).stats.framesFromStrangers).toBeGreaterThanOrEqual(1);
  // Not applied: the neighbour would still take the victim's real advert of any seq.
  expect(cluster.node(neighbour).overlay.wantsAdvert(victim, Number.MAX_SAFE_INTEGER)).toBe(true);
  eventually(cluster, 'views agree', () => viewsAgree(cluster), { withinMs: 5_000, checkEveryMs: 100 });
  // Now it floods its neighbour with junk until the neighbour hangs up.
  cluster.act(liar, (n) => {
    for (let i = 0; i < 8_000; i++) n.sendRaw(neighbour, { k: 'o', m: { type: 'request', origins: [asNodeId(`x${i}`)] } });
  });
  cluster.runFor(1_000);
  expect(cluster.node(neighbour).overlay.counters.floodersDisconnected).toBe(1);
  expect(cluster.node(neighbour).links.has(liar)).toBe(false);
  // The rest of the mesh carries on.
  eventually(cluster, 'healthy after cutting the flooder', () => meshHealthy(cluster, 3, 5), { withinMs: 10_000, checkEveryMs: 100 });
});
