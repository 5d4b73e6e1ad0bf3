// Routing beyond the neighbourhood: each overlay knows the mesh only within advertRadiusHops,
// so a destination farther away is found by a route discovery (a seek flood, answered by the
// destination with the path) and reached along that path's waypoints. Seeded, on the lean
// overlay simulator (real overlay cores) with one router per node; frames between routers are
// delivered in order over the links the simulator holds.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import { FastMesh } from '../overlay/fast-mesh.ts';
import { hopDistances } from '../../../src/core/graph/index.ts';
import { advertRadiusHops } from '../../../src/core/overlay/config.ts';
import { Router, type RouteEffect } from '../../../src/core/route/router.ts';
import type { NodeId } from '../../../src/core/types.ts';

const sign = (signer: string, text: string): string => createHash('sha256').update(`key of ${signer}\n${text}`).digest('base64url');

function settledMesh(seed: number, n: number): FastMesh {
  const mesh = new FastMesh({ seed, detectMs: 1_000 });
  const up: NodeId[] = [];
  for (const name of mesh.rng.shuffle(Array.from({ length: n }, (_, i) => `n${i}`))) {
    const sample = Array.from({ length: Math.min(8, up.length) }, () => mesh.rng.pick(up) as NodeId);
    up.push(mesh.add(name, [...new Set(sample)]));
    mesh.runFor(50);
  }
  expect(
    mesh.runUntil(() => mesh.healthy(3, 5) === true, 60_000, 100),
    String(mesh.healthy(3, 5)),
  ).not.toBeNull();
  mesh.runFor(10_000);
  return mesh;
}

/** One router per up node, and a loop that carries their frames over the mesh's links. */
function routers(mesh: FastMesh) {
  const all = new Map<NodeId, Router>();
  for (const id of mesh.upIds()) {
    all.set(id, new Router({ self: id, rng: mesh.rng.fork(`router/${id}`), topology: () => mesh.overlay(id).routeTopology() }));
  }
  const deliveries: Array<{ at: NodeId; id: string; hops: number }> = [];
  const undeliverable: string[] = [];
  let frames = 0;
  let seekFrames = 0;
  const run = (from: NodeId, effects: RouteEffect[]): void => {
    const queue = effects.map((e) => ({ at: from, e }));
    for (let head = 0; head < queue.length; head++) {
      const { at, e } = queue[head] as { at: NodeId; e: RouteEffect };
      if (e.type === 'deliver') deliveries.push({ at, id: e.id, hops: e.hops });
      // As the runtime does once the payload's signature checks out: its path is a way back.
      if (e.type === 'deliver' && e.path) (all.get(at) as Router).step(mesh.now, { type: 'learn', to: e.origin, path: e.path });
      if (e.type === 'undeliverable') undeliverable.push(e.id);
      // Plays the runtime's signer: a keyed hash only `at` can make (see signed-answers.test.ts).
      if (e.type === 'sign')
        for (const effect of (all.get(at) as Router).step(mesh.now, { type: 'signed', id: e.id, sig: sign(at, e.text) })) queue.push({ at, e: effect });
      if (e.type !== 'send' || !mesh.nodes.get(at)?.links.has(e.to) || !mesh.nodes.get(e.to)?.up) continue;
      frames++;
      if (e.msg.type === 'seek') seekFrames++;
      const to = all.get(e.to) as Router;
      const msg: unknown = JSON.parse(JSON.stringify(e.msg));
      const check = to.foundToVerify(msg);
      const signer = check && sign(check.signer, check.text) === check.sig ? check.signer : null;
      const next = to.step(mesh.now, { type: 'message', from: at, msg, signer });
      for (const effect of next) queue.push({ at: e.to, e: effect });
    }
  };
  const send = (from: NodeId, to: NodeId, id: string) =>
    run(from, (all.get(from) as Router).step(mesh.now, { type: 'send', to, kind: 'test', payload: { id }, id }));
  return { all, send, deliveries, undeliverable, frames: () => frames, seekFrames: () => seekFrames };
}

simTest(
  'a node beyond the neighbourhood is reached by route discovery, and again after a relay on the path crashed',
  (seed) => {
    const mesh = settledMesh(seed, 200);
    const truth = mesh.graph();
    // The farthest pair we can find from a few sources: well beyond the radius.
    let best: { from: NodeId; to: NodeId; d: number } = { from: '' as NodeId, to: '' as NodeId, d: 0 };
    for (const from of mesh.upIds().slice(0, 8)) {
      for (const [to, d] of hopDistances(truth, from)) if (d > best.d) best = { from, to, d };
    }
    const { from, to, d } = best;
    expect(d, 'a pair farther apart than the radius').toBeGreaterThan(advertRadiusHops + 1);
    expect(mesh.overlay(from).view().has(to), 'the destination is out of the origin’s sight').toBe(false);

    const r = routers(mesh);
    r.send(from, to, 'first');
    expect(r.deliveries.filter((x) => x.id === 'first' && x.at === to)).toHaveLength(1);
    const first = r.deliveries.find((x) => x.id === 'first') as { hops: number };
    // Along the path the seek took: the first seek copy to arrive came a shortest way.
    expect(first.hops).toBe(d);
    expect((r.all.get(from) as Router).counters.found).toBe(1);
    // The seek flooded only until it met the destination's neighbourhood, then went straight on:
    // a flood over the whole mesh would cross every link about once each way.
    const linkEnds = mesh.upIds().reduce((sum, id) => sum + (mesh.nodes.get(id)?.links.size ?? 0), 0);
    expect(r.seekFrames()).toBeLessThan(linkEnds / 2);
    // The answer goes back the way the message came, with no route discovery of its own.
    r.send(to, from, 'reply');
    expect(r.deliveries.filter((x) => x.id === 'reply' && x.at === from)).toHaveLength(1);
    expect((r.all.get(to) as Router).counters.seeks).toBe(0);
    expect((r.all.get(to) as Router).counters.learnt).toBe(1);

    // A relay in the middle of that path crashes; its neighbours notice, the mesh heals.
    const path = (r.all.get(from) as Router).routeTo(to) ?? [];
    expect(path, 'the far destination is not in the origin’s own tree').toEqual([]);
    const via = (r.all.get(from) as Router).discoveredPath(to) as NodeId[];
    expect(via).toHaveLength(d);
    expect(via[d - 1]).toBe(to);
    const relay = via[Math.floor(d / 2)] as NodeId;
    mesh.crash(relay);
    mesh.runFor(5_000);
    expect(mesh.healthy(3, 5)).toBe(true);
    // The cached path still names the crashed relay; the hop before it goes around it.
    r.send(from, to, 'after-crash');
    expect(r.deliveries.filter((x) => x.id === 'after-crash' && x.at === to)).toHaveLength(1);
    expect((r.all.get(from) as Router).counters.seeks).toBe(1);
    expect(r.undeliverable).toEqual([]);
  },
  { seeds: 1, longSeeds: 5, timeoutMs: 120_000 },
);
