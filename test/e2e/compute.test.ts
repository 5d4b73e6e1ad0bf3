// Issue 6 in real Chromium: three tabs share a Mandelbrot job through work stealing, their
// kernels running in each tab's compute pool (kernel Web Workers spawned by the protocol worker).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { snapshotOf, startRoom, waitForFullMesh, waitForSnapshot, type NodeSnapshot, type Room } from './harness.ts';

/**
 * A region inside the main cardioid: every pixel runs all its iterations, so each 64×64 tile
 * takes a steady ~0.1–0.3 s — long enough that the home cannot finish alone before idle tabs
 * steal, and that a tab closed mid-job holds work when it goes.
 */
const heavyRegion = { xMin: -0.5, xMax: 0.1, yMin: -0.3, yMax: 0.3 };
const firstJob = { width: 512, height: 256, tileSize: 64, maxIterations: 15_000, region: heavyRegion }; // 32 tiles
const secondJob = { width: 512, height: 384, tileSize: 64, maxIterations: 15_000, region: heavyRegion }; // 48 tiles

const jobOf = (s: NodeSnapshot, id: string) => s.jobs.find((j) => j.id === id);

/** Checks the assembled image in the page (the pixels stay there): every pixel written by some tile. */
async function imageReport(page: Page, jobId: string) {
  return page.evaluate(async (id) => {
    const image = (await window.tabmesh.jobResult(id)) as { width: number; height: number; pixels: Uint8ClampedArray };
    let unset = 0;
    for (let i = 3; i < image.pixels.length; i += 4) if (image.pixels[i] !== 255) unset++;
    return { width: image.width, height: image.height, bytes: image.pixels.length, unset };
  }, jobId);
}

describe('compute shared across three tabs', () => {
  let room: Room | undefined;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    room = await startRoom(3, 'compute');
    ({ tabs, ids } = room);
    await waitForFullMesh(room);
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(tab, (s) => s.compute.poolSize >= 1, `tab ${i} has a compute pool`);
    }
  });

  afterAll(async () => {
    await room?.close();
  });

  test('a Mandelbrot job submitted in one tab is computed by all three, and its image is complete', async () => {
    const jobId = await tabs[0]!.evaluate((params) => window.tabmesh.submitJob({ kind: 'mandelbrot', params }), firstJob);
    expect(typeof jobId).toBe('string');
    const started = jobOf(await waitForSnapshot(tabs[0]!, (s) => jobOf(s, jobId) !== undefined, 'the job is listed'), jobId);
    expect(started).toMatchObject({ kind: 'mandelbrot', mine: true, total: 32 });

    const done = await waitForSnapshot(tabs[0]!, (s) => jobOf(s, jobId)?.status === 'done', 'the job is done', 90_000);
    const job = jobOf(done, jobId)!;
    expect(job.done).toBe(32);
    for (const [i, id] of ids.entries()) expect(job.shares[id] ?? 0, `tiles computed by tab ${i}`).toBeGreaterThanOrEqual(1);
    expect(Object.values(job.shares).reduce((a, b) => a + b, 0)).toBe(32);
    // The other tabs got their tiles by stealing (or being handed them): it shows in their counters.
    for (const tab of tabs.slice(1)) {
      const compute = (await snapshotOf(tab)).compute;
      expect(compute.migrations.in).toBeGreaterThan(0);
      expect(compute.pool?.completed ?? 0).toBeGreaterThan(0);
    }

    expect(await imageReport(tabs[0]!, jobId)).toEqual({ width: 512, height: 256, bytes: 512 * 256 * 4, unset: 0 });

    // The dashboard drew it: every tile's centre on the canvas is opaque.
    await tabs[0]!.waitForFunction(
      ({ width, height, tile }) => {
        const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="mandelbrot-canvas"]');
        const ctx = canvas?.getContext('2d');
        if (!canvas || !ctx || canvas.width !== width || canvas.height !== height) return false;
        for (let y = tile / 2; y < height; y += tile)
          for (let x = tile / 2; x < width; x += tile) if (ctx.getImageData(x, y, 1, 1).data[3] !== 255) return false;
        return true;
      },
      { width: 512, height: 256, tile: 64 },
      { timeout: 20_000 },
    );
  });

  test('a bad submitJob is refused with a message that says what is wrong', async () => {
    const before = (await snapshotOf(tabs[1]!)).jobs.length;
    const refusals = await tabs[1]!.evaluate(async () => {
      const attempt = (job: unknown) =>
        window.tabmesh.submitJob(job as never).then(
          () => 'accepted',
          (e: Error) => e.message,
        );
      return [
        await attempt({ kind: 'bitcoin-miner' }),
        await attempt({ kind: 'mandelbrot', params: { width: -1 } }),
        await attempt({ kind: 'primes', priority: 'now' }),
      ];
    });
    expect(refusals[0]).toMatch(/unknown task kind "bitcoin-miner"; this app runs: mandelbrot, monte-carlo-pi, primes, proof-of-work/);
    expect(refusals[1]).toMatch(/mandelbrot parameters: width/);
    expect(refusals[2]).toMatch(/priority: must be one of critical, high, medium, low/);
    // The bad priority never reaches the node: the page's API (room.admin.submitJob) refuses it
    // with an InvalidArgumentError. The node refuses and counts the other two.
    const after = await waitForSnapshot(tabs[1]!, (s) => s.compute.refused['bad-job-request'] === 2, "the node's two refusals are counted");
    expect(after.jobs.length).toBe(before);
  });

  test('closing a tab mid-job still completes the image', async () => {
    const closing = ids[2]!;
    const jobId = await tabs[0]!.evaluate((params) => window.tabmesh.submitJob({ kind: 'mandelbrot', params }), secondJob);
    // Wait until the tab to be closed has computed a tile of this job and holds more of it.
    await waitForSnapshot(
      tabs[2]!,
      (s) => (jobOf(s, jobId)?.done ?? 0) >= 1 && s.compute.busyWorkers + s.compute.queued.medium >= 1,
      'the third tab is working on the job',
      60_000,
    );
    const progress = jobOf(await waitForSnapshot(tabs[0]!, (s) => jobOf(s, jobId) !== undefined, 'the job is listed'), jobId)!;
    expect(progress.status).toBe('running');
    expect(progress.done).toBeLessThan(48);
    await tabs[2]!.close();

    const done = await waitForSnapshot(tabs[0]!, (s) => jobOf(s, jobId)?.status === 'done', 'the job is done without the closed tab', 90_000);
    const job = jobOf(done, jobId)!;
    expect(job.done).toBe(48);
    expect(job.shares[closing] ?? 0).toBeGreaterThanOrEqual(1);
    expect(await imageReport(tabs[0]!, jobId)).toEqual({ width: 512, height: 384, bytes: 512 * 384 * 4, unset: 0 });
  });
});
