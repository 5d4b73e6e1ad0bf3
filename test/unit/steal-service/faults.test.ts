// The stealing service when things go wrong: holders that die (announced by gossip, or silent),
// a home that dies, a cancelled job whose kernels cannot be stopped, a restart from the store.
import { describe, expect, test } from 'vitest';
import type { MandelbrotImage } from '../../../src/compute/kernels/index.ts';
import type { TilesPage } from '../../../src/worker/services/steal-results.ts';
import { seeds, withSeedAsync } from './harness.ts';

const image = { width: 96, height: 64, tileSize: 16, maxIterations: 200 }; // 24 tiles

function complete(img: MandelbrotImage): boolean {
  for (let i = 3; i < img.pixels.length; i += 4) if (img.pixels[i] !== 255) return false;
  return img.pixels.length === img.width * img.height * 4;
}

describe('faults', () => {
  for (const seed of seeds()) {
    test(`a holder that dies mid-job: gossip says so, its tasks run again elsewhere, the image is complete [seed ${seed}]`, () =>
      withSeedAsync(seed, async (mesh) => {
        const a = await mesh.add('a', { taskMs: 100 });
        const b = await mesh.add('b', { taskMs: 100 });
        const c = await mesh.add('c', { taskMs: 100 });
        await mesh.advance(100);
        const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'mandelbrot', params: image });
        await mesh.until(() => (mesh.job(c.id, jobId)?.done ?? 0) >= 1 && mesh.snapshot(c.id).compute.queued.medium > 0, 'c holds queued tasks');
        mesh.crash(c.id);
        mesh.announce(c.id, 'dead');
        await mesh.until(() => mesh.job(a.id, jobId)?.status === 'done', 'the job is done', 20_000);
        const job = mesh.job(a.id, jobId)!;
        expect(job.done).toBe(24);
        expect(mesh.snapshot(a.id).compute.retries).toBeGreaterThan(0);
        // Requeued on gossip's word, not after a lease ran out.
        expect(mesh.snapshot(a.id).compute.counters.leaseExpiries).toBe(0);
        expect(complete(await mesh.command<MandelbrotImage>(a.id, 'jobResult', jobId))).toBe(true);
        expect(b.kernelRuns).toBeGreaterThan(0);
      }));
  }

  test('a holder that falls silent (no word from gossip): its lease runs out and the home requeues', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 100 });
      const b = await mesh.add('b', { taskMs: 100 });
      await mesh.advance(100);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'mandelbrot', params: image });
      await mesh.until(() => mesh.snapshot(b.id).compute.queued.medium > 0, 'b holds queued tasks');
      mesh.crash(b.id);
      await mesh.until(() => mesh.job(a.id, jobId)?.status === 'done', 'the job is done', 40_000);
      expect(mesh.snapshot(a.id).compute.counters.leaseExpiries).toBeGreaterThan(0);
      expect(complete(await mesh.command<MandelbrotImage>(a.id, 'jobResult', jobId))).toBe(true);
    }));

  test('the home dies: the others show its job orphaned and stop working on it; it resumes when the home is back', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 200 });
      const b = await mesh.add('b', { taskMs: 200 });
      await mesh.advance(100);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'primes', params: { to: 100_000 }, chunks: 40 });
      await mesh.until(() => mesh.snapshot(b.id).compute.queued.medium > 0, 'b holds queued tasks');
      mesh.announce(a.id, 'dead');
      await mesh.advance(10);
      expect(mesh.job(b.id, jobId)).toMatchObject({ status: 'orphaned', home: a.id });
      expect(mesh.job(b.id, jobId)!.error).toMatch(/gone/);
      expect(mesh.snapshot(b.id).compute.queued.medium).toBe(0);
      mesh.announce(a.id, 'alive');
      await mesh.until(() => mesh.job(a.id, jobId)?.status === 'done', 'the job is done');
      expect(mesh.job(b.id, jobId)!.status).toBe('running'); // b's view of a foreign job: it worked on it, and it is not orphaned
    }));

  test('cancel: the job ends at once, queued tasks go, a kernel that cannot stop holds its worker until it returns', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 1_000 });
      await mesh.advance(100);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'primes', params: { to: 100_000 }, chunks: 10 });
      await mesh.advance(500);
      expect(mesh.snapshot(a.id).compute.busyWorkers).toBe(1);
      await expect(mesh.command(a.id, 'cancelJob', jobId)).resolves.toBe(true);
      expect(mesh.job(a.id, jobId)).toMatchObject({ status: 'cancelled' });
      const during = mesh.snapshot(a.id).compute;
      expect(during.queued.medium).toBe(0);
      expect(during.workers).toBe(0); // the aborted kernel still occupies the only worker
      await expect(mesh.command(a.id, 'cancelJob', jobId)).rejects.toThrow(/already cancelled/);
      await expect(mesh.command(a.id, 'jobResult', jobId)).rejects.toThrow(/cancelled/);
      await mesh.advance(600);
      expect(mesh.snapshot(a.id).compute.workers).toBe(1);
      // The worker is free again for the next job.
      const next = await mesh.command<string>(a.id, 'submitJob', { kind: 'primes', params: { to: 1_000 }, chunks: 2 });
      await mesh.until(() => mesh.job(a.id, next)?.status === 'done', 'the next job is done');
      expect(await mesh.command(a.id, 'jobResult', next)).toEqual({ from: 0, to: 1_000, count: 168 });
    }));

  test('restart: a home reloaded mid-job picks its job up from the store and finishes it; results survive a second reload', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 100 });
      const b = await mesh.add('b', { taskMs: 100 });
      await mesh.advance(100);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'mandelbrot', params: image });
      await mesh.until(() => (mesh.job(a.id, jobId)?.done ?? 0) >= 8, 'a third done');
      mesh.crash(a.id);
      const again = await mesh.add('a', { taskMs: 100, id: a.id, storage: a.storage });
      const restored = mesh.job(again.id, jobId);
      expect(restored?.mine).toBe(true);
      expect(restored!.done).toBeGreaterThanOrEqual(8);
      await mesh.until(() => mesh.job(again.id, jobId)?.status === 'done', 'the job is done after the reload', 30_000);
      mesh.crash(again.id);
      const third = await mesh.add('a', { taskMs: 100, id: a.id, storage: a.storage });
      expect(mesh.job(third.id, jobId)).toMatchObject({ status: 'done', done: 24, total: 24 });
      expect(complete(await mesh.command<MandelbrotImage>(third.id, 'jobResult', jobId))).toBe(true);
      const tiles = await mesh.command<TilesPage>(third.id, 'jobTiles', jobId, 0);
      expect(tiles.tiles).toHaveLength(24);
      for (const t of tiles.tiles) {
        expect(t.result).not.toBeNull();
        expect([a.id, b.id]).toContain(t.nodes[0]);
      }
    }));
});
