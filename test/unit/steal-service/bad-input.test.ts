// Bad input at the stealing service's boundaries, in whole real nodes (real-room.ts): the page's
// commands, peers' frames arriving on a link into the node's real receive path, peers' results
// (wrong, malformed, oversized) and damaged records on its disk. Each is refused with a reason
// and counted; none is applied; the node keeps working.
import { describe, expect } from 'vitest';
import { decodeFrame } from '../../../src/core/envelope.ts';
import { createKindRegistry, noDeadline, type MandelbrotImage, type MandelbrotTile } from '../../../src/compute/kernels/index.ts';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';
import { computeNodes } from './compute-room.ts';

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
  roomTest('a bad submitJob is refused with a message that says what to change, counted, and makes no job', async (room) => {
    const [a] = (await computeNodes(room, [{}])).map((n) => n.node) as [SimNode];
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
      await expect(room.call(a, 'submitJob', request), JSON.stringify(request)).rejects.toThrow(message);
    }
    expect(room.snapshot(a).jobs).toEqual([]);
    expect(room.compute(a).refused['bad-job-request']).toBe(cases.length);
    expect(room.compute(a).lastRefusal?.detail).toMatch(/code: is not a field/);
  });

  roomTest('jobResult, cancelJob and jobTiles refuse unknown ids, unfinished jobs and bad arguments with a reason', async (room) => {
    const [a, b] = (await computeNodes(room, [{ taskMs: 1_000 }, { taskMs: 1_000 }])).map((n) => n.node) as [SimNode, SimNode];
    await expect(room.call(a, 'jobResult', 'nope')).rejects.toThrow(/no job nope at this node/);
    await expect(room.call(a, 'jobResult', 17)).rejects.toThrow(/id must be a job id string/);
    await expect(room.call(a, 'cancelJob', 'nope')).rejects.toThrow(/no job nope at this node/);
    await expect(room.call(a, 'jobTiles', 'nope', 0)).rejects.toThrow(/no job nope/);
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 10_000 }, chunks: 6 });
    await expect(room.call(a, 'jobTiles', jobId, -1)).rejects.toThrow(/after must be a whole number/);
    await expect(room.call(a, 'jobResult', jobId)).rejects.toThrow(/is (queued|running) \(0 of 6 tasks done\); its result exists once it is done/);
    // Only the home has a job's result, and only the home can cancel it.
    await room.runUntil(() => room.job(b, jobId) !== undefined, 'b works on the job');
    await expect(room.call(b, 'jobResult', jobId)).rejects.toThrow(/kept at the node it was submitted to/);
    await expect(room.call(b, 'cancelJob', jobId)).rejects.toThrow(/no job/);
  });
});

describe('frames from peers', () => {
  roomTest('garbage, forged, oversized and unsolicited frames are refused and counted, never applied', async (room) => {
    const [a, b] = (await computeNodes(room, [{ taskMs: 100 }, { taskMs: 100 }])).map((n) => n.node) as [SimNode, SimNode];
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 50_000 }, chunks: 8 });
    const ticketless = { jobId, index: 0, replica: 0, attempt: 1, ticket: 'forgedticket' };
    const fromB = (message: unknown) => room.injectMessage(a, b, 'steal', message);
    fromB('hello');
    fromB({ type: 'steal-request' });
    fromB({ type: 'result', ref: ticketless, outcome: { ok: true, value: { from: 0, to: 6250, count: 0 } } });
    fromB({ type: 'result', ref: { ...ticketless, jobId: 'other-job' }, outcome: { ok: true, value: 1 } });
    // Beyond the wire limit of a result, inside a frame's.
    fromB({ type: 'result', ref: ticketless, outcome: { ok: true, value: 'x'.repeat(245 * 1024) } });
    fromB({
      type: 'steal-grant',
      reqId: 'neverasked',
      tasks: [],
      load: { node: b.id, boot: 0, seq: 1, workers: 1, running: 0, queued: 0, queuedCost: 0, runningCost: 0 },
    });
    fromB({
      type: 'load',
      load: { node: 'someone-else', boot: 0, seq: 1, workers: 9, running: 0, queued: 0, queuedCost: 0, runningCost: 0 },
    });
    // Beyond what any frame may hold: refused by the runtime, unread.
    const tooLarge = () =>
      Object.entries(room.rejected(a))
        .filter(([reason]) => /^frame of \d+ bytes exceeds/.test(reason))
        .reduce((sum, [, n]) => sum + n, 0);
    const tooLargeBefore = tooLarge();
    fromB({ type: 'result', ref: ticketless, outcome: { ok: true, value: 'x'.repeat(300 * 1024) } });
    const refused = room.compute(a).refused;
    expect(refused['malformed-message']).toBe(3); // not an object, a request without fields, a result beyond the wire limit
    expect(refused['unknown-ticket']).toBe(1);
    expect(refused['unknown-job']).toBe(1);
    expect(refused['unsolicited-grant']).toBe(1);
    expect(refused['malformed-advert']).toBe(1);
    expect(tooLarge()).toBe(tooLargeBefore + 1);
    expect(room.compute(a).peers.map((p) => p.node)).not.toContain('someone-else');
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done');
    expect(await room.call(a, 'jobResult', jobId)).toEqual({ from: 0, to: 50_000, count: 5_133 });
  });

  roomTest('a task whose parameters do not check out is refused before any kernel sees it, and the attempt fails', async (room) => {
    const [a, b] = await computeNodes(room, [{ taskMs: 50 }, { workers: 0 }]);
    const task = (params: unknown, index: number) => ({
      jobId: 'evil~job',
      index,
      total: 2,
      home: b!.node.id,
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
    const load = { node: b!.node.id, boot: 0, seq: 1_000, workers: 1, running: 1, queued: 9, queuedCost: 9, runningCost: 1 };
    // The sender stays silent afterwards (a made-up job: its home would otherwise cancel the tasks).
    room.cluster.network.drop = (from, _to, bytes) => {
      const frame = decodeFrame(bytes);
      return from === b!.node.id && frame.ok && frame.value.p === 'steal';
    };
    // One tile lies outside its image; the other is fine.
    room.injectMessage(a!.node, b!.node, 'steal', { type: 'shed', shedId: 'shed1', tasks: [task({ ...tile, x: 60 }, 0), task(tile, 1)], load });
    await room.runFor(500);
    const compute = room.compute(a!.node);
    expect(compute.refused['bad-task-params']).toBe(1);
    expect(compute.lastRefusal).toMatchObject({
      reason: 'bad-task-params',
      detail: expect.stringMatching(/mandelbrot task parameters: .*tile must lie inside the image/),
    });
    expect(compute.counters.tasksFailedHere).toBe(1);
    expect(compute.counters.tasksRun).toBe(1);
    expect(a!.kernels.runs).toBe(1); // only the good tile reached a kernel worker
  });

  roomTest('a result that does not check out (wrong shape, or too large for its kind) fails that attempt only; the task runs again', async (room) => {
    let lies = 0;
    // The home computes nothing itself, so the liar surely gets tasks; it lies twice, then is honest.
    const [home, liar] = await computeNodes(room, [
      { workers: 0 },
      {
        taskMs: 50,
        tamper: (_kind, _task, result) => {
          lies++;
          if (lies === 1) return { x: 0 };
          if (lies === 2) return { ...(result as MandelbrotTile), rgba: 'A'.repeat(120 * 1024) };
          return result;
        },
      },
      { taskMs: 50 },
    ]);
    const jobId = await room.call<string>(home!.node, 'submitJob', { kind: 'mandelbrot', params: image });
    await room.runUntil(() => room.job(home!.node, jobId)?.status === 'done', 'the job is done', 30_000);
    const compute = room.compute(home!.node);
    expect(compute.refused['bad-result']).toBe(1);
    expect(compute.refused['oversized-result']).toBe(1);
    expect(compute.retries).toBeGreaterThanOrEqual(2);
    expect(compute.blocklist).toEqual([]); // a failed attempt is not proof of lying
    expect(liar!.kernels.runs).toBeGreaterThan(2);
    const result = await room.call<MandelbrotImage>(home!.node, 'jobResult', jobId);
    expect(Buffer.from(result.pixels).equals(Buffer.from(honestImage().pixels))).toBe(true);
  });

  roomTest(
    'verified mode: a node that returns wrong tiles is caught by digest, blocklisted, and the image is right',
    async (room) => {
      const [home, liar, honest] = await computeNodes(room, [
        { taskMs: 50 },
        {
          taskMs: 50,
          // A well-formed tile with the wrong pixels: only comparing with other nodes can tell.
          tamper: (_kind, _task, result) => {
            const tile = result as MandelbrotTile;
            return { ...tile, rgba: Buffer.alloc(tile.w * tile.h * 4, 7).toString('base64') };
          },
        },
        { taskMs: 50 },
      ]);
      const jobId = await room.call<string>(home!.node, 'submitJob', { kind: 'mandelbrot', params: image, redundancy: 2 });
      await room.runUntil(() => room.job(home!.node, jobId)?.status === 'done', 'the job is done', 30_000);
      const job = room.job(home!.node, jobId)!;
      expect(job.redundancy).toBe(2);
      expect(job.shares[liar!.node.id] ?? 0).toBe(0);
      expect((job.shares[home!.node.id] ?? 0) + (job.shares[honest!.node.id] ?? 0)).toBe(2 * 24); // every tile agreed by two honest nodes
      expect(liar!.kernels.runs).toBeGreaterThan(0);
      expect(room.compute(home!.node).blocklist).toEqual([liar!.node.id]);
      expect(room.compute(home!.node).counters.wrongResults).toBeGreaterThanOrEqual(1);
      const result = await room.call<MandelbrotImage>(home!.node, 'jobResult', jobId);
      expect(Buffer.from(result.pixels).equals(Buffer.from(honestImage().pixels))).toBe(true);
    },
    { seeds: 3 },
  );
});

describe('the disk', () => {
  roomTest('damaged records are skipped and counted at start; the node starts and works', async (room) => {
    const [a] = (await computeNodes(room, [{}])).map((n) => n.node) as [SimNode];
    await room.runFor(100);
    room.crash(a);
    a.disk.durable.set('steal/job/broken', { v: 1, id: 'broken', kind: 'primes' });
    a.disk.durable.set('steal/task/orphan/0', { nonsense: true });
    a.disk.durable.set('steal/whatever', 1);
    await room.restart(a);
    expect(room.compute(a).refused['damaged-record']).toBe(3);
    expect(room.snapshot(a).jobs).toEqual([]);
    const jobId = await room.call<string>(a, 'submitJob', { kind: 'primes', params: { to: 1_000 }, chunks: 2 });
    await room.runUntil(() => room.job(a, jobId)?.status === 'done', 'the job is done');
  });
});
