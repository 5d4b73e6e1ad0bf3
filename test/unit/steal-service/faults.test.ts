// Work stealing when things go wrong, in whole real nodes (real-room.ts): holders that die (found
// dead by gossip) or never answer, a home that dies, a cancelled job whose kernels cannot be
// stopped, a home restarted from its disk.
import { describe, expect } from 'vitest';
import { decodeFrame } from '../../../src/core/envelope.ts';
import type { MandelbrotImage } from '../../../src/compute/kernels/index.ts';
import type { TilesPage } from '../../../src/worker/services/steal-results.ts';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';
import { computeNodes } from './compute-room.ts';

const image = { width: 96, height: 64, tileSize: 16, maxIterations: 200 }; // 24 tiles

function complete(img: MandelbrotImage): boolean {
  for (let i = 3; i < img.pixels.length; i += 4) if (img.pixels[i] !== 255) return false;
  return img.pixels.length === img.width * img.height * 4;
}

describe('faults', () => {
  roomTest(
    'a holder that dies mid-job: gossip finds it dead, its tasks run again elsewhere, the image is complete',
    async (room) => {
      const [a, b, c] = await computeNodes(room, [{ taskMs: 100 }, { taskMs: 100 }, { taskMs: 100 }]);
      const jobId = await room.call<string>(a!.node, 'submitJob', { kind: 'mandelbrot', params: image });
      await room.runUntil(() => (room.job(c!.node, jobId)?.done ?? 0) >= 1 && room.compute(c!.node).queued.medium > 0, 'c holds queued tasks');
      room.crash(c!.node);
      await room.runUntil(() => room.job(a!.node, jobId)?.status === 'done', 'the job is done', 30_000);
      const job = room.job(a!.node, jobId)!;
      expect(job.done).toBe(24);
      expect(room.compute(a!.node).retries).toBeGreaterThan(0);
      // Requeued on gossip's word, not after a lease ran out.
      expect(room.compute(a!.node).counters.leaseExpiries).toBe(0);
      expect(complete(await room.call<MandelbrotImage>(a!.node, 'jobResult', jobId))).toBe(true);
      expect(b!.kernels.runs).toBeGreaterThan(0);
    },
    { seeds: 3 },
  );

  roomTest('a holder whose stealing messages stop arriving (gossip still hears it): its lease runs out and the home requeues', async (room) => {
    const [a, b] = (await computeNodes(room, [{ taskMs: 100 }, { taskMs: 100 }])).map((n) => n.node) as [SimNode, SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'mandelbrot', params: image });
    await room.runUntil(() => room.compute(b).queued.medium > 0, 'b holds queued tasks');
    // From now on nothing of b's work reaches a: no results, no lease renewals.
    room.cluster.network.drop = (from, _to, bytes) => {
      const frame = decodeFrame(bytes);
      return from === b.id && frame.ok && frame.value.p === 'steal';
    };
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done', 60_000);
    expect(room.compute(a).counters.leaseExpiries).toBeGreaterThan(0);
    expect(room.aliveMembers(a)).toContain(b.id);
    expect(complete(await room.call<MandelbrotImage>(a, 'jobResult', jobId))).toBe(true);
  });

  roomTest('the home dies: the others show its job orphaned and stop working on it; it finishes when the home is back', async (room) => {
    const [a, b] = (await computeNodes(room, [{ taskMs: 200 }, { taskMs: 200 }])).map((n) => n.node) as [SimNode, SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 100_000 }, chunks: 40 });
    await room.runUntil(() => room.compute(b).queued.medium > 0, 'b holds queued tasks');
    await room.runFor(100); // the job's record reaches a's disk
    room.crash(a);
    await room.runUntil(() => room.job(b, jobId)?.status === 'orphaned', "b finds the job's home gone", 20_000);
    expect(room.job(b, jobId)).toMatchObject({ status: 'orphaned', home: a.id });
    expect(room.job(b, jobId)!.error).toMatch(/gone/);
    expect(room.compute(b).queued.medium).toBe(0);
    await room.restart(a);
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done', 60_000);
    expect(await room.call(a, 'jobResult', jobId)).toEqual({ from: 0, to: 100_000, count: 9_592 });
  });

  roomTest('cancel: the job ends at once, queued tasks go, a kernel that cannot stop holds its worker until it returns', async (room) => {
    const [a] = (await computeNodes(room, [{ taskMs: 1_000 }])).map((n) => n.node) as [SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 100_000 }, chunks: 10 });
    await room.runUntil(() => room.compute(a).busyWorkers === 1, 'a kernel runs');
    await room.runFor(300);
    expect(room.compute(a).busyWorkers).toBe(1);
    await expect(room.call(a, 'cancelJob', jobId)).resolves.toBe(true);
    expect(room.job(a, jobId)).toMatchObject({ status: 'cancelled' });
    // The abort reaches the pool once the cancellation is on disk (persist before acting).
    await room.runFor(20);
    const during = room.compute(a);
    expect(during.queued.medium).toBe(0);
    expect(during.workers).toBe(0); // the aborted kernel still occupies the only worker
    await expect(room.call(a, 'cancelJob', jobId)).rejects.toThrow(/already cancelled/);
    await expect(room.call(a, 'jobResult', jobId)).rejects.toThrow(/cancelled/);
    await room.runUntil(() => room.compute(a).workers === 1, 'the worker is back once its kernel returned', 2_000);
    // The worker is free again for the next job.
    const next = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 1_000 }, chunks: 2 });
    await room.runUntil(() => room.job(a, next)?.status === 'done', 'the next job is done');
    expect(await room.call(a, 'jobResult', next)).toEqual({ from: 0, to: 1_000, count: 168 });
  });

  roomTest('restart: a home restarted mid-job picks its job up from its disk and finishes it; results survive a second restart', async (room) => {
    const [a, b] = (await computeNodes(room, [{ taskMs: 100 }, { taskMs: 100 }])).map((n) => n.node) as [SimNode, SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'mandelbrot', params: image });
    await room.runUntil(() => (room.job(a, jobId)?.done ?? 0) >= 8, 'a third done');
    await room.runFor(20); // what it has is on its disk (commits take a few virtual ms)
    room.crash(a);
    await room.restart(a);
    const restored = room.job(a, jobId);
    expect(restored?.mine).toBe(true);
    expect(restored!.done).toBeGreaterThanOrEqual(8);
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done after the restart', 30_000);
    await room.runFor(20);
    room.crash(a);
    await room.restart(a);
    expect(room.job(a, jobId)).toMatchObject({ status: 'done', done: 24, total: 24 });
    expect(complete(await room.call<MandelbrotImage>(a, 'jobResult', jobId))).toBe(true);
    const tiles = await room.call<TilesPage>(a, 'jobTiles', jobId, 0);
    expect(tiles.tiles).toHaveLength(24);
    for (const t of tiles.tiles) {
      expect(t.result).not.toBeNull();
      expect([a.id, b.id]).toContain(t.nodes[0]);
    }
  });
});
