// Bad input at the stealing service's boundaries: the page's commands, peers' frames, peers'
// results (wrong, malformed, oversized) and damaged records in the store. Each is refused with
// a reason and counted; none is applied; the node keeps working.
import { describe, expect, test } from 'vitest';
import { createKindRegistry, noDeadline, type MandelbrotImage, type MandelbrotTile } from '../../../src/compute/kernels/index.ts';
import type { KernelRequest } from '../../../src/compute/kernel-protocol.ts';
import { MemoryStorage } from '../../../src/store/memory.ts';
import { seeds, withSeedAsync } from './harness.ts';

const image = { width: 96, height: 64, tileSize: 16, maxIterations: 200 };

/** The image one honest node computes alone, for comparison. */
function honestImage(): MandelbrotImage {
  const registry = createKindRegistry();
  const job = registry.prepareJob({ kind: 'mandelbrot', params: image });
  if (!job.ok) throw new Error(job.error);
  const results = job.value.tasks.map((t) => {
    const r = registry.runTask('mandelbrot', t, noDeadline);
    if (!r.ok) throw new Error(r.error);
    return r.result;
  });
  const merged = registry.mergeResults('mandelbrot', job.value.params, job.value.tasks, results);
  if (!merged.ok) throw new Error(merged.error);
  return merged.value as MandelbrotImage;
}

describe('commands from the page', () => {
  test('a bad submitJob is refused with a message that says what to change, counted, and makes no job', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a');
      const cases: Array<[unknown, RegExp]> = [
        [undefined, /takes one object/],
        ['mandelbrot', /takes one object/],
        [{}, /kind: is missing/],
        [{ kind: 42 }, /kind: must be a string/],
        [{ kind: 'rm-rf' }, /unknown task kind "rm-rf"; this app runs: mandelbrot, monte-carlo-pi, primes, proof-of-work/],
        [{ kind: 'mandelbrot', params: { width: -5 } }, /mandelbrot parameters: width/],
        [{ kind: 'mandelbrot', params: { colour: 'red' } }, /mandelbrot parameters/],
        [{ kind: 'primes', chunks: 0 }, /chunks: must be a whole number from 1 to 1024/],
        [{ kind: 'primes', chunks: 2.5 }, /chunks/],
        [{ kind: 'primes', priority: 'urgent' }, /priority: must be one of critical, high, medium, low/],
        [{ kind: 'primes', redundancy: 7 }, /redundancy: must be 1 .* or 2–3/],
        [{ kind: 'primes', code: 'alert(1)' }, /code: is not a field of a job/],
      ];
      for (const [request, message] of cases) {
        await expect(mesh.command(a.id, 'submitJob', request), JSON.stringify(request)).rejects.toThrow(message);
      }
      const snap = mesh.snapshot(a.id);
      expect(snap.jobs).toEqual([]);
      expect(snap.compute.refused['bad-job-request']).toBe(cases.length);
      expect(snap.compute.lastRefusal?.detail).toMatch(/code: is not a field/);
    }));

  test('jobResult, cancelJob and jobTiles refuse unknown ids, unfinished jobs and bad arguments with a reason', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 1_000 });
      const b = await mesh.add('b', { taskMs: 1_000 });
      await mesh.advance(100);
      await expect(mesh.command(a.id, 'jobResult', 'nope')).rejects.toThrow(/no job nope at this node/);
      await expect(mesh.command(a.id, 'jobResult', 17)).rejects.toThrow(/id must be a job id string/);
      await expect(mesh.command(a.id, 'cancelJob', 'nope')).rejects.toThrow(/no job nope at this node/);
      await expect(mesh.command(a.id, 'jobTiles', 'nope', 0)).rejects.toThrow(/no job nope/);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'primes', params: { to: 10_000 }, chunks: 6 });
      await expect(mesh.command(a.id, 'jobTiles', jobId, -1)).rejects.toThrow(/after must be a whole number/);
      await expect(mesh.command(a.id, 'jobResult', jobId)).rejects.toThrow(/is (queued|running) \(0 of 6 tasks done\); its result exists once it is done/);
      // Only the home has a job's result, and only the home can cancel it.
      await mesh.until(() => mesh.job(b.id, jobId) !== undefined, 'b works on the job');
      await expect(mesh.command(b.id, 'jobResult', jobId)).rejects.toThrow(/kept at the node it was submitted to/);
      await expect(mesh.command(b.id, 'cancelJob', jobId)).rejects.toThrow(/no job/);
    }));
});

describe('frames from peers', () => {
  test('garbage, forged and unsolicited frames are refused and counted, never applied', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 100 });
      const b = await mesh.add('b', { taskMs: 100 });
      await mesh.advance(100);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'primes', params: { to: 50_000 }, chunks: 8 });
      const ticketless = { jobId, index: 0, replica: 0, attempt: 1, ticket: 'forgedticket' };
      mesh.inject(b.id, a.id, 'hello');
      mesh.inject(b.id, a.id, { type: 'steal-request' });
      mesh.inject(b.id, a.id, { type: 'result', ref: ticketless, outcome: { ok: true, value: { from: 0, to: 6250, count: 0 } } });
      mesh.inject(b.id, a.id, { type: 'result', ref: { ...ticketless, jobId: 'other-job' }, outcome: { ok: true, value: 1 } });
      mesh.inject(b.id, a.id, { type: 'result', ref: ticketless, outcome: { ok: true, value: 'x'.repeat(300 * 1024) } });
      mesh.inject(b.id, a.id, {
        type: 'steal-grant',
        reqId: 'neverasked',
        tasks: [],
        load: { node: b.id, boot: 0, seq: 1, workers: 1, running: 0, queued: 0, queuedCost: 0, runningCost: 0 },
      });
      mesh.inject(b.id, a.id, {
        type: 'load',
        load: { node: 'someone-else', boot: 0, seq: 1, workers: 9, running: 0, queued: 0, queuedCost: 0, runningCost: 0 },
      });
      const refused = mesh.snapshot(a.id).compute.refused;
      expect(refused['malformed-message']).toBe(3); // not an object, a request without fields, a result beyond the wire limit
      expect(refused['unknown-ticket']).toBe(1);
      expect(refused['unknown-job']).toBe(1);
      expect(refused['unsolicited-grant']).toBe(1);
      expect(refused['malformed-advert']).toBe(1);
      expect(mesh.snapshot(a.id).compute.peers.map((p) => p.node)).not.toContain('someone-else');
      await mesh.until(() => mesh.job(a.id, jobId)?.status === 'done', 'the job is done');
      expect(await mesh.command(a.id, 'jobResult', jobId)).toEqual({ from: 0, to: 50_000, count: 5_133 });
    }));

  test('a task whose parameters do not check out is refused before any kernel sees it, and the attempt fails', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const a = await mesh.add('a', { taskMs: 50 });
      await mesh.advance(100);
      const task = (params: unknown, index: number) => ({
        jobId: 'evil~job',
        index,
        total: 2,
        home: 'evil',
        kind: 'mandelbrot',
        priority: 'high',
        params,
        cost: 1,
        replica: 0,
        attempt: 1,
        ticket: `t${index}`,
        exclude: [],
        hops: 1,
      });
      const tile = { region: { xMin: -2, xMax: 1, yMin: -1, yMax: 1 }, width: 64, height: 64, x: 0, y: 0, w: 16, h: 16, maxIterations: 50 };
      const load = { node: 'evil', boot: 0, seq: 1, workers: 1, running: 1, queued: 9, queuedCost: 9, runningCost: 1 };
      // One tile lies outside its image; the other is fine.
      mesh.inject('evil', a.id, { type: 'shed', shedId: 'shed1', tasks: [task({ ...tile, x: 60 }, 0), task(tile, 1)], load });
      await mesh.advance(500);
      const compute = mesh.snapshot(a.id).compute;
      expect(compute.refused['bad-task-params']).toBe(1);
      expect(compute.lastRefusal).toMatchObject({
        reason: 'bad-task-params',
        detail: expect.stringMatching(/mandelbrot task parameters: .*tile must lie inside the image/),
      });
      expect(compute.counters.tasksFailedHere).toBe(1);
      expect(compute.counters.tasksRun).toBe(1);
      expect(a.kernelRuns).toBe(1); // only the good tile reached a kernel worker
    }));

  test('a result that does not check out (wrong shape, or too large for its kind) fails that attempt only; the task runs again', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      let lies = 0;
      // The home computes nothing itself, so the liar surely gets tasks; it lies twice, then is honest.
      const home = await mesh.add('home', { workers: 0 });
      const liar = await mesh.add('liar', {
        taskMs: 50,
        tamper: (_request: KernelRequest, result: unknown) => {
          lies++;
          if (lies === 1) return { x: 0 };
          if (lies === 2) return { ...(result as MandelbrotTile), rgba: 'A'.repeat(120 * 1024) };
          return result;
        },
      });
      await mesh.add('honest', { taskMs: 50 });
      await mesh.advance(100);
      const jobId = await mesh.command<string>(home.id, 'submitJob', { kind: 'mandelbrot', params: image });
      await mesh.until(() => mesh.job(home.id, jobId)?.status === 'done', 'the job is done', 30_000);
      const compute = mesh.snapshot(home.id).compute;
      expect(compute.refused['bad-result']).toBe(1);
      expect(compute.refused['oversized-result']).toBe(1);
      expect(compute.retries).toBeGreaterThanOrEqual(2);
      expect(compute.blocklist).toEqual([]); // a failed attempt is not proof of lying
      expect(liar.kernelRuns).toBeGreaterThan(2);
      const result = await mesh.command<MandelbrotImage>(home.id, 'jobResult', jobId);
      expect(Buffer.from(result.pixels).equals(Buffer.from(honestImage().pixels))).toBe(true);
    }));

  for (const seed of seeds()) {
    test(`verified mode: a node that returns wrong tiles is caught by digest, blocklisted, and the image is right [seed ${seed}]`, () =>
      withSeedAsync(seed, async (mesh) => {
        const home = await mesh.add('home', { taskMs: 50 });
        const liar = await mesh.add('liar', {
          taskMs: 50,
          // A well-formed tile with the wrong pixels: only comparing with other nodes can tell.
          tamper: (_request: KernelRequest, result: unknown) => {
            const tile = result as MandelbrotTile;
            return { ...tile, rgba: Buffer.alloc(tile.w * tile.h * 4, 7).toString('base64') };
          },
        });
        const honest = await mesh.add('honest', { taskMs: 50 });
        await mesh.advance(100);
        const jobId = await mesh.command<string>(home.id, 'submitJob', { kind: 'mandelbrot', params: image, redundancy: 2 });
        await mesh.until(() => mesh.job(home.id, jobId)?.status === 'done', 'the job is done', 30_000);
        const snap = mesh.snapshot(home.id);
        const job = snap.jobs.find((j) => j.id === jobId)!;
        expect(job.redundancy).toBe(2);
        expect(job.shares[liar.id] ?? 0).toBe(0);
        expect((job.shares[home.id] ?? 0) + (job.shares[honest.id] ?? 0)).toBe(2 * 24); // every tile agreed by two honest nodes
        expect(liar.kernelRuns).toBeGreaterThan(0);
        expect(snap.compute.blocklist).toEqual([liar.id]);
        expect(snap.compute.counters.wrongResults).toBeGreaterThanOrEqual(1);
        const result = await mesh.command<MandelbrotImage>(home.id, 'jobResult', jobId);
        expect(Buffer.from(result.pixels).equals(Buffer.from(honestImage().pixels))).toBe(true);
      }));
  }
});

describe('the store', () => {
  test('damaged records are skipped and counted at start; the node starts and works', () =>
    withSeedAsync(seeds()[0]!, async (mesh) => {
      const storage = new MemoryStorage();
      await storage.set('steal/job/broken', { v: 1, id: 'broken', kind: 'primes' });
      await storage.set('steal/task/orphan/0', { nonsense: true });
      await storage.set('steal/whatever', 1);
      const a = await mesh.add('a', { storage });
      expect(mesh.snapshot(a.id).compute.refused['damaged-record']).toBe(3);
      expect(mesh.snapshot(a.id).jobs).toEqual([]);
      const jobId = await mesh.command<string>(a.id, 'submitJob', { kind: 'primes', params: { to: 1_000 }, chunks: 2 });
      await mesh.until(() => mesh.job(a.id, jobId)?.status === 'done', 'the job is done');
    }));
});
