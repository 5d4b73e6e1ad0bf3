// Routing on the shared simulator, over the overlay's own links: unicast between random pairs,
// around a crashed relay, signaling payloads to unlinked nodes, and broadcast exactly once.
import { expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import { eventually } from '../../sim/checkers.ts';
import { createRng } from '../../../src/core/rng.ts';
import { hopDistances } from '../../../src/core/graph/index.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { joinInRandomOrder, meshCluster, meshHealthy, trueGraph, viewsAgree, type MeshCluster } from '../overlay/mesh-checks.ts';

function settled(seed: number, n: number, options: { duplicateRate?: number } = {}): { cluster: MeshCluster; ids: NodeId[] } {
  const cluster = meshCluster(seed, options);
  const ids = joinInRandomOrder(cluster, n, seed);
  eventually(cluster, 'mesh settles', () => meshHealthy(cluster, 3, 5), { withinMs: 20_000, checkEveryMs: 100 });
  eventually(cluster, 'views agree', () => viewsAgree(cluster), { withinMs: 5_000, checkEveryMs: 100 });
  return { cluster, ids };
}

const deliveriesOf = (cluster: MeshCluster, id: NodeId, kind: string) => cluster.node(id).deliveries.filter((d) => d.kind === kind);

simTest('messages between random pairs arrive once, along shortest paths', (seed) => {
  const { cluster } = settled(seed, 40);
  const rng = createRng(`pairs/${seed}`);
  const up = cluster.upIds();
  const sent: Array<{ from: NodeId; to: NodeId; id: string; shortest: number }> = [];
  for (let i = 0; i < 60; i++) {
    const [from, to] = rng.shuffle(up) as [NodeId, NodeId];
    const id = `p${i}`;
    sent.push({ from, to, id, shortest: hopDistances(trueGraph(cluster), from).get(to) as number });
    cluster.act(from, (n, now) => n.sendTo(now, to, 'test', { i }, id));
  }
  cluster.runFor(2_000);
  for (const { from, to, id, shortest } of sent) {
    const got = deliveriesOf(cluster, to, 'test').filter((d) => d.id === id);
    expect(got, `${from}→${to} #${id}`).toHaveLength(1);
    expect(got[0]?.origin).toBe(from);
    expect(got[0]?.hops).toBe(shortest);
  }
});

simTest('routing goes around a relay that crashed', (seed) => {
  const { cluster, ids } = settled(seed, 40);
  const rng = createRng(`relay/${seed}`);
  // A pair at least 3 hops apart, and the middle relay of the route between them.
  let from = ids[0] as NodeId;
  let to = ids[1] as NodeId;
  let route: NodeId[] | null = null;
  for (const [a, b] of Array.from({ length: 200 }, () => rng.shuffle(ids).slice(0, 2) as [NodeId, NodeId])) {
    const r = cluster.node(a).router.routeTo(b);
    if (r && r.length >= 4) [from, to, route] = [a, b, r];
    if (route) break;
  }
  expect(route, 'found a pair 3+ hops apart').not.toBeNull();
  const relay = (route as NodeId[])[Math.floor((route as NodeId[]).length / 2)] as NodeId;
  cluster.crash(relay);
  // Give the relay's neighbours time to notice (keepalive timeout) — but not the whole mesh.
  cluster.runFor(2_500);
  for (let i = 0; i < 10; i++) cluster.act(from, (n, now) => n.sendTo(now, to, 'after-crash', { i }, `c${i}`));
  cluster.runFor(2_000);
  const got = deliveriesOf(cluster, to, 'after-crash');
  expect(got.map((d) => d.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
});

simTest('a signaling payload reaches a node we have no link to, with its origin', (seed) => {
  const { cluster, ids } = settled(seed, 30);
  const from = ids[0] as NodeId;
  const to = ids.find((id) => id !== from && !cluster.node(from).links.has(id)) as NodeId;
  const offer = { body: { v: 1, from, to, session: 'abcdefgh', kind: 'signal', signal: { type: 'offer', sdp: 'v=0…' } }, sig: 'x'.repeat(86) };
  cluster.act(from, (n, now) => n.sendTo(now, to, 'signal', offer));
  cluster.runFor(1_000);
  expect(deliveriesOf(cluster, to, 'signal')).toMatchObject([{ origin: from, payload: offer, broadcast: false }]);
});

simTest('a broadcast reaches every live node exactly once, even with duplicated frames and after crashes', (seed) => {
  const { cluster, ids } = settled(seed, 40, { duplicateRate: 0.05 });
  const rng = createRng(`bcast/${seed}`);
  for (const v of rng.shuffle(ids).slice(0, 5)) cluster.crash(v);
  eventually(cluster, 'healed', () => meshHealthy(cluster, 3, 5), { withinMs: 10_000, checkEveryMs: 100 });
  cluster.runFor(1_000);
  const up = cluster.upIds();
  for (let i = 0; i < 5; i++) cluster.act(rng.pick(up) as NodeId, (n, now) => n.broadcast(now, 'news', { i }, `b${i}`));
  cluster.runFor(2_000);
  for (const id of up) {
    const got = deliveriesOf(cluster, id, 'news')
      .map((d) => d.id)
      .sort();
    expect(got, id).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  }
});
