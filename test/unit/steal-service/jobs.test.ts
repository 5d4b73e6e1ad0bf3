// Work stealing as window.tabmesh drives it, in whole real nodes (real-room.ts): jobs submitted
// at one node are shared out, their results assembled at the home, progress and shares shown in
// the snapshot.
import { describe, expect } from 'vitest';
import type { MandelbrotImage, MandelbrotTile } from '../../../src/compute/kernels/index.ts';
import type { TilesPage } from '../../../src/worker/services/steal-results.ts';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';
import { computeNodes } from './compute-room.ts';

const tinyImage = { width: 64, height: 48, tileSize: 16, maxIterations: 200 };

describe('jobs across three nodes', () => {
  roomTest(
    'a prime count submitted at one node is computed by all three, and its result is right',
    async (room) => {
      const [a, b, c] = (await computeNodes(room, [{}, {}, {}])).map((n) => n.node) as [SimNode, SimNode, SimNode];
      const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 200_000 }, chunks: 24 });
      expect(room.job(a, jobId)).toMatchObject({ kind: 'primes', mine: true, total: 24, priority: 'medium', redundancy: 1 });
      await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done');
      const job = room.job(a, jobId)!;
      expect(job.done).toBe(24);
      expect(job.etaMs).toBeNull();
      for (const node of [a, b, c]) expect(job.shares[node.id], `share of ${node.label}`).toBeGreaterThanOrEqual(1);
      expect(Object.values(job.shares).reduce((x, y) => x + y, 0)).toBe(24);
      expect(await room.call(a, 'jobResult', jobId)).toEqual({ from: 0, to: 200_000, count: 17_984 });
      // The others stole: it shows in their counters and in the home's.
      expect(room.compute(a).stealsOut + room.compute(a).counters.tasksShedOut).toBeGreaterThan(0);
      for (const node of [b, c]) {
        expect(room.compute(node).migrations.in).toBeGreaterThan(0);
        const theirs = room.job(node, jobId);
        expect(theirs).toMatchObject({ mine: false, home: a.id, total: 24 });
        expect(theirs!.done).toBe(job.shares[node.id]);
      }
    },
    { seeds: 3 },
  );

  roomTest('a Mandelbrot job: tiles come out in the order they were accepted, with who computed each; the image is complete', async (room) => {
    const [a, b, c] = (await computeNodes(room, [{}, {}, {}])).map((n) => n.node) as [SimNode, SimNode, SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'mandelbrot', params: tinyImage });
    const seen: TilesPage['tiles'] = [];
    let next = 0;
    await room.runUntil(() => (room.job(a, jobId)?.done ?? 0) >= 6, 'half the tiles');
    const half = await room.call<TilesPage>(a, 'jobTiles', jobId, 0);
    expect(half.params).toMatchObject(tinyImage);
    expect(half.tiles.length).toBeGreaterThanOrEqual(6);
    for (const tile of half.tiles) expect(tile.result).not.toBeNull(); // values of a running job are kept
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done');
    for (;;) {
      const page = await room.call<TilesPage>(a, 'jobTiles', jobId, next);
      if (page.tiles.length === 0) break;
      seen.push(...page.tiles);
      next = page.next;
    }
    expect(seen.map((t) => t.index).sort((x, y) => x - y)).toEqual([...Array(12).keys()]);
    const job = room.job(a, jobId)!;
    for (const tile of seen) {
      expect(tile.nodes).toHaveLength(1);
      expect([a.id, b.id, c.id]).toContain(tile.nodes[0]);
      const t = tile.result as MandelbrotTile;
      expect(t.w * t.h).toBe(256);
    }
    for (const node of [a, b, c]) expect(seen.filter((t) => t.nodes[0] === node.id).length).toBe(job.shares[node.id] ?? 0);
    const image = await room.call<MandelbrotImage>(a, 'jobResult', jobId);
    expect(image.width * image.height).toBe(64 * 48);
    for (let i = 3; i < image.pixels.length; i += 4) if (image.pixels[i] !== 255) throw new Error(`pixel ${(i - 3) / 4} was never drawn`);
  });

  roomTest('a node without a compute pool hands all of its job out', async (room) => {
    const [home, b, c] = (await computeNodes(room, [{ workers: 0 }, {}, {}])).map((n) => n.node) as [SimNode, SimNode, SimNode];
    expect(room.compute(home)).toMatchObject({ poolSize: 0, workers: 0 });
    expect(room.compute(home).poolError).toMatch(/no compute pool/);
    const jobId = await room.call<string>(home, 'submitJob', { kind: 'monte-carlo-pi', params: { samples: 200_000 }, chunks: 8 });
    await room.runUntil(() => room.job(home, jobId)?.status === 'done', 'the job is done');
    const shares = room.job(home, jobId)!.shares;
    expect(shares[home.id]).toBeUndefined();
    expect((shares[b.id] ?? 0) + (shares[c.id] ?? 0)).toBe(8);
    const pi = await room.call<{ pi: number; samples: number }>(home, 'jobResult', jobId);
    expect(pi.samples).toBe(200_000);
    expect(Math.abs(pi.pi - Math.PI)).toBeLessThan(0.05);
  });

  roomTest('snapshot: queues by priority, adverts of every peer, ETA while running, utilisation from the pool', async (room) => {
    const [a, b, c] = (await computeNodes(room, [{ taskMs: 200 }, { taskMs: 200 }, { taskMs: 200 }])).map((n) => n.node) as [SimNode, SimNode, SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 100_000 }, chunks: 30, priority: 'high' });
    expect(room.compute(a).queued.high).toBeGreaterThan(0);
    await room.runUntil(() => (room.job(a, jobId)?.done ?? 0) >= 6, 'some tasks done');
    const running = room.job(a, jobId)!;
    expect(running.status).toBe('running');
    expect(running.etaMs).toBeGreaterThan(0);
    const compute = room.compute(a);
    expect(compute.peers.map((p) => p.node).sort()).toEqual([b.id, c.id].sort());
    expect(compute.busyWorkers).toBeLessThanOrEqual(1);
    // The pool's own figure, passed through: 2–3 tasks of 200 ms so far, over a 10 s window.
    expect(compute.utilisation).toBeGreaterThan(0.02);
    expect(compute.utilisation).toBeLessThan(0.2);
    expect(compute.loadVariance).toBeGreaterThanOrEqual(0);
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done');
    expect(room.compute(a).queued).toEqual({ critical: 0, high: 0, medium: 0, low: 0 });
  });
});
