// The stealing service as window.tabmesh drives it: jobs submitted at one node are shared out,
// their results assembled at the home, progress and shares shown in the snapshot.
import { describe, expect, test } from 'vitest';
import type { MandelbrotImage, MandelbrotTile } from '../../../src/compute/kernels/index.ts';
import type { TilesPage } from '../../../src/worker/services/steal-results.ts';
import { seeds, withSeedAsync, type Mesh } from './harness.ts';

async function three(mesh: Mesh, taskMs = 50) {
  const a = await mesh.add('a', { taskMs });
  const b = await mesh.add('b', { taskMs });
  const c = await mesh.add('c', { taskMs });
  await mesh.advance(100);
  return [a.id, b.id, c.id] as const;
}

const tinyImage = { width: 64, height: 48, tileSize: 16, maxIterations: 200 };

describe('jobs across three nodes', () => {
  for (const seed of seeds()) {
    test(`a prime count submitted at one node is computed by all three, and its result is right [seed ${seed}]`, () =>
      withSeedAsync(seed, async (mesh) => {
        const [a, b, c] = await three(mesh);
        const jobId = await mesh.command<string>(a, 'submitJob', { kind: 'primes', params: { to: 200_000 }, chunks: 24 });
        expect(mesh.job(a, jobId)).toMatchObject({ kind: 'primes', mine: true, total: 24, priority: 'medium', redundancy: 1 });
        await mesh.until(() => mesh.job(a, jobId)?.status === 'done', 'the job is done');
        const job = mesh.job(a, jobId)!;
        expect(job.done).toBe(24);
        expect(job.etaMs).toBeNull();
        for (const id of [a, b, c]) expect(job.shares[id], `share of ${id}`).toBeGreaterThanOrEqual(1);
        expect(Object.values(job.shares).reduce((x, y) => x + y, 0)).toBe(24);
        expect(await mesh.command(a, 'jobResult', jobId)).toEqual({ from: 0, to: 200_000, count: 17_984 });
        // The others stole: it shows in their counters and in the home's.
        expect(mesh.snapshot(a).compute.stealsOut + mesh.snapshot(a).compute.counters.tasksShedOut).toBeGreaterThan(0);
        for (const id of [b, c]) {
          expect(mesh.snapshot(id).compute.migrations.in).toBeGreaterThan(0);
          const theirs = mesh.job(id, jobId);
          expect(theirs).toMatchObject({ mine: false, home: a, total: 24 });
          expect(theirs!.done).toBe(job.shares[id]);
        }
      }));
  }

  test('a Mandelbrot job: tiles come out in the order they were accepted, with who computed each; the image is complete', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const [a, b, c] = await three(mesh);
      const jobId = await mesh.command<string>(a, 'submitJob', { kind: 'mandelbrot', params: tinyImage });
      const seen: TilesPage['tiles'] = [];
      let next = 0;
      await mesh.until(() => mesh.job(a, jobId)?.done === 6, 'half the tiles');
      const half = await mesh.command<TilesPage>(a, 'jobTiles', jobId, 0);
      expect(half.params).toMatchObject(tinyImage);
      expect(half.tiles.length).toBeGreaterThanOrEqual(6);
      for (const tile of half.tiles) expect(tile.result).not.toBeNull(); // values of a running job are kept
      await mesh.until(() => mesh.job(a, jobId)?.status === 'done', 'the job is done');
      for (;;) {
        const page = await mesh.command<TilesPage>(a, 'jobTiles', jobId, next);
        if (page.tiles.length === 0) break;
        seen.push(...page.tiles);
        next = page.next;
      }
      expect(seen.map((t) => t.index).sort((x, y) => x - y)).toEqual([...Array(12).keys()]);
      const job = mesh.job(a, jobId)!;
      for (const tile of seen) {
        expect(tile.nodes).toHaveLength(1);
        expect([a, b, c]).toContain(tile.nodes[0]);
        const t = tile.result as MandelbrotTile;
        expect(t.w * t.h).toBe(256);
      }
      for (const id of [a, b, c]) expect(seen.filter((t) => t.nodes[0] === id).length).toBe(job.shares[id]);
      const image = await mesh.command<MandelbrotImage>(a, 'jobResult', jobId);
      expect(image.width * image.height).toBe(64 * 48);
      for (let i = 3; i < image.pixels.length; i += 4) if (image.pixels[i] !== 255) throw new Error(`pixel ${(i - 3) / 4} was never drawn`);
    }));

  test('a node without a compute pool hands all of its job out', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const home = await mesh.add('home', { workers: 0 });
      const b = await mesh.add('b');
      const c = await mesh.add('c');
      await mesh.advance(100);
      expect(mesh.snapshot(home.id).compute).toMatchObject({ poolSize: 0, workers: 0 });
      expect(mesh.snapshot(home.id).compute.poolError).toMatch(/no compute pool/);
      const jobId = await mesh.command<string>(home.id, 'submitJob', { kind: 'monte-carlo-pi', params: { samples: 200_000 }, chunks: 8 });
      await mesh.until(() => mesh.job(home.id, jobId)?.status === 'done', 'the job is done');
      const shares = mesh.job(home.id, jobId)!.shares;
      expect(shares[home.id]).toBeUndefined();
      expect((shares[b.id] ?? 0) + (shares[c.id] ?? 0)).toBe(8);
      const pi = await mesh.command<{ pi: number; samples: number }>(home.id, 'jobResult', jobId);
      expect(pi.samples).toBe(200_000);
      expect(Math.abs(pi.pi - Math.PI)).toBeLessThan(0.05);
    }));

  test('snapshot: queues by priority, adverts of every peer, ETA while running, utilisation from the pool', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const [a, b, c] = await three(mesh, 200);
      const jobId = await mesh.command<string>(a, 'submitJob', { kind: 'primes', params: { to: 100_000 }, chunks: 30, priority: 'high' });
      expect(mesh.snapshot(a).compute.queued.high).toBeGreaterThan(0);
      await mesh.until(() => (mesh.job(a, jobId)?.done ?? 0) >= 6, 'some tasks done');
      const running = mesh.job(a, jobId)!;
      expect(running.status).toBe('running');
      expect(running.etaMs).toBeGreaterThan(0);
      const compute = mesh.snapshot(a).compute;
      expect(compute.peers.map((p) => p.node).sort()).toEqual([b, c].sort());
      expect(compute.busyWorkers).toBeLessThanOrEqual(1);
      // Measured over the pool's 10 s window: 2–3 tasks of 200 ms so far.
      expect(compute.utilisation).toBeGreaterThan(0.02);
      expect(compute.utilisation).toBeLessThan(0.2);
      expect(compute.loadVariance).toBeGreaterThanOrEqual(0);
      await mesh.until(() => mesh.job(a, jobId)?.status === 'done', 'the job is done');
      expect(mesh.snapshot(a).compute.queued).toEqual({ critical: 0, high: 0, medium: 0, low: 0 });
    }));
});
