// The app's own kernels through the app API (src/api/compute.ts) on whole real nodes
// (real-room.ts; the page is sim-page.ts): a kind runs only where the app registered it, progress and results reach the submitter,
// cancel stops queued and running tasks everywhere, and kernels that throw or return garbage
// fail their task (retried within the budget) without disturbing anything else.
import * as v from 'valibot';
import { describe, expect } from 'vitest';
import { ComputeError, createCompute, type Compute, type ComputeProgress } from '../../../src/api/compute.ts';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import type { RealRoom } from '../../sim/real-node/real-room.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';
import type { SimPage } from '../../sim/real-node/sim-page.ts';
import { addComputeNode, computeNodes } from './compute-room.ts';

/** A kernel that takes `ms` of room time and doubles its input; it stops when its signal aborts. */
function doubler(room: RealRoom, ms: number, log: { started: number; aborted: number }) {
  return async (input: { x: number }, { signal }: { signal: AbortSignal }) => {
    log.started++;
    signal.addEventListener('abort', () => log.aborted++);
    await room.sleep(ms, signal);
    return { y: input.x * 2 };
  };
}

/** The ComputeError a promise rejects with, the room running meanwhile. */
async function rejection(room: RealRoom, promise: Promise<unknown>): Promise<ComputeError> {
  const error = await room.until(
    promise.then(
      () => null,
      (e: unknown) => e,
    ),
    'the refusal',
  );
  expect(error).toBeInstanceOf(ComputeError);
  return error as ComputeError;
}

async function threeWithApps(room: RealRoom): Promise<{ nodes: [SimNode, SimNode, SimNode]; pages: SimPage[]; apis: [Compute, Compute, Compute] }> {
  const added = await computeNodes(room, [{ app: true }, { app: true }, { app: true }]);
  return {
    nodes: added.map((n) => n.node) as [SimNode, SimNode, SimNode],
    pages: added.map((n) => n.page),
    apis: added.map((n) => createCompute(n.page)) as [Compute, Compute, Compute],
  };
}

const tasks = (n: number) => Array.from({ length: n }, (_, x) => ({ x }));

describe('app kernels', () => {
  roomTest(
    'a job runs only on the nodes whose app registered its kind, with progress, from a node that did not',
    async (room) => {
      const { nodes, pages, apis } = await threeWithApps(room);
      const [a, b, c] = nodes;
      const logs = [
        { started: 0, aborted: 0 },
        { started: 0, aborted: 0 },
      ];
      await room.until(
        apis[0].register('double', doubler(room, 80, logs[0]!), { input: v.object({ x: v.number() }), output: v.object({ y: v.number() }) }),
        'a registers',
      );
      await room.until(apis[1].register('double', doubler(room, 80, logs[1]!)), 'b registers');
      expect(apis[0].kinds()).toEqual(['double']);
      // c hears that a and b run it (adverts), then submits.
      await room.runUntil(() => room.compute(c).peers.filter((p) => p.kinds.includes('double')).length === 2, 'c knows who runs double');
      expect(room.compute(a).appKinds).toEqual(['double']);
      expect(room.compute(c).kinds).not.toContain('double');

      const job = apis[2].submit<{ y: number }>('double', { tasks: tasks(24) }, { priority: 'high' });
      const seen: ComputeProgress[] = [];
      job.on('progress', (p) => seen.push(p));
      const id = await room.until(job.submitted, 'the job is accepted');
      expect(job.id).toBe(id);
      const outputs = await room.until(job.result(), 'the job is done');
      expect(outputs).toEqual(tasks(24).map(({ x }) => ({ y: 2 * x })));
      expect(job.progress).toEqual({ done: 24, total: 24, status: 'done' });
      // Progress came task by task, never backwards, ending at 24 of 24.
      expect(seen.length).toBeGreaterThanOrEqual(5);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
      expect(seen.at(-1)).toEqual({ done: 24, total: 24, status: 'done' });

      const shares = room.job(c, id)!.shares;
      expect(Object.keys(shares).sort()).toEqual([a.id, b.id].sort());
      expect(shares[a.id]).toBeGreaterThan(0);
      expect(shares[b.id]).toBeGreaterThan(0);
      // c was never handed a task of the kind: no event for it, nothing refused as unknown.
      expect(pages[2]!.events.filter((e) => e.name === 'compute-task')).toEqual([]);
      expect(room.compute(c).refused['unknown-kind'] ?? 0).toBe(0);
      expect(logs[0]!.started + logs[1]!.started).toBe(24);
    },
    { seeds: 3 },
  );

  roomTest('cancel drops the queued tasks everywhere and aborts the running kernels through their signal', async (room) => {
    const { nodes, apis } = await threeWithApps(room);
    const [a, b] = nodes;
    const logs = [
      { started: 0, aborted: 0 },
      { started: 0, aborted: 0 },
    ];
    await room.until(apis[0].register('slow', doubler(room, 5_000, logs[0]!), { concurrency: 2 }), 'a registers');
    await room.until(apis[1].register('slow', doubler(room, 5_000, logs[1]!), { concurrency: 2 }), 'b registers');
    await room.runUntil(() => room.compute(a).peers.some((p) => p.node === b.id && p.kinds.includes('slow')), 'a knows b runs slow');
    const controller = new AbortController();
    const job = apis[0].submit('slow', { tasks: tasks(40) }, { signal: controller.signal });
    await room.until(job.submitted, 'the job is accepted');
    await room.runUntil(() => logs[0]!.started >= 2 && logs[1]!.started >= 1, 'kernels run on both nodes');
    const startedBefore = logs[0]!.started + logs[1]!.started;
    controller.abort();
    const error = await rejection(room, job.result());
    expect(error.code).toBe('compute-cancelled');
    expect(job.progress.status).toBe('cancelled');
    await room.runUntil(
      () => logs[0]!.aborted + logs[1]!.aborted === startedBefore,
      `every running kernel was told to stop ${JSON.stringify(logs)} ${startedBefore}`,
    );
    await room.runUntil(
      () => nodes.every((n) => Object.values(room.compute(n).queued).every((q) => q === 0) && room.compute(n).busyWorkers === 0),
      'no node holds a task of it',
    );
    await room.runFor(12_000);
    expect(logs[0]!.started + logs[1]!.started).toBe(startedBefore);
    expect(room.job(a, job.id!)!.status).toBe('cancelled');
    // Cancelling again, or after the end, is harmless.
    await room.until(job.cancel(), 'cancel again');
  });

  roomTest('a kernel that throws, returns garbage or breaks its schema fails only that attempt; the task is retried and the job completes', async (room) => {
    const { nodes, apis } = await threeWithApps(room);
    const [a, b, c] = nodes;
    const honest = { started: 0, aborted: 0 };
    await room.until(apis[0].register('double', doubler(room, 50, honest), { output: v.object({ y: v.number() }) }), 'a registers');
    let calls = 0;
    // b is broken three ways in turn; c is broken too and says so in its schema.
    await room.until(
      apis[1].register('double', (input: { x: number }) => {
        calls++;
        if (calls % 3 === 0) throw new Error('out of memory');
        if (calls % 3 === 1) return { y: Number.NaN };
        return new Date(input.x) as unknown as { y: number };
      }),
      'b registers',
    );
    await room.until(
      apis[2].register('double', (input: { x: number }) => ({ y: String(input.x) }) as unknown as { y: number }, { output: v.object({ y: v.number() }) }),
      'c registers',
    );
    await room.runUntil(() => room.compute(a).peers.filter((p) => p.kinds.includes('double')).length === 2, 'a knows who runs double');
    const job = apis[0].submit('double', { tasks: tasks(30) });
    const outputs = await room.until(job.result(), 'the job ends', 120_000);
    expect(job.progress.status).toBe('done');
    expect(outputs).toEqual(tasks(30).map(({ x }) => ({ y: 2 * x })));
    // The broken nodes failed attempts with reasons; the home retried them; nobody crashed.
    expect(calls).toBeGreaterThan(0);
    expect(apis[1].stats().failed).toBe(calls);
    expect(apis[1].stats().lastError).toMatch(/kernel threw: out of memory|output refused/);
    expect(apis[2].stats().failed).toBeGreaterThan(0);
    expect(apis[2].stats().lastError).toMatch(/output refused by the kernel's schema/);
    expect(room.compute(a).retries).toBeGreaterThan(0);
    expect(room.job(a, job.id!)!.shares[b.id] ?? 0).toBe(0);
    expect(room.job(a, job.id!)!.shares[c.id] ?? 0).toBe(0);
  });

  roomTest('a kernel that fails everywhere fails the job with its reason, once the retry budget is spent', async (room) => {
    const { apis } = await threeWithApps(room);
    await room.until(
      apis[0].register('boom', () => {
        throw new Error('no such thing');
      }),
      'a registers',
    );
    const job = apis[0].submit('boom', { input: 1 });
    const error = await rejection(room, job.result());
    expect(job.progress.status).toBe('failed');
    expect(error.code).toBe('compute-failed');
    expect(error.message).toMatch(/failed 4 times.*kernel threw: no such thing/);
  });

  roomTest('refusals: bad names and options, taken kinds, nobody to run it, inputs that fail the schema or are too large', async (room) => {
    const { nodes, apis } = await threeWithApps(room);
    const [ca] = apis;
    expect(
      (
        await rejection(
          room,
          ca.register('Not A Kind', () => 1),
        )
      ).code,
    ).toBe('compute-bad-argument');
    expect(
      (
        await rejection(
          room,
          ca.register('mandelbrot', () => 1),
        )
      ).code,
    ).toBe('compute-kind-taken');
    expect(
      (
        await rejection(
          room,
          ca.register('ok', () => 1, { concurrency: 99 }),
        )
      ).code,
    ).toBe('compute-bad-argument');
    expect((await rejection(room, ca.register('ok', 'not a function' as never))).code).toBe('compute-bad-argument');
    const kernel = await room.until(
      ca.register('sq', (n: number) => n * n, { input: v.pipe(v.number(), v.integer()) }),
      'sq registers',
    );
    expect(
      (
        await rejection(
          room,
          ca.register('sq', () => 1),
        )
      ).code,
    ).toBe('compute-kind-taken');
    expect(() => ca.submit('sq', { tasks: [] })).toThrow(ComputeError);
    expect(() => ca.submit('sq', { tasks: [1], input: 2 } as never)).toThrow(/job is \{ tasks/);
    expect(() => ca.submit('sq', { input: 1 }, { priority: 'urgent' as never })).toThrow(/priority/);
    expect((await rejection(room, kernel.submit({ input: 1.5 }).result())).code).toBe('compute-bad-input');
    expect((await rejection(room, ca.submit('sq', { input: 'x'.repeat(5_000) }).submitted)).code).toBe('compute-bad-input');
    expect((await rejection(room, ca.submit('nobody', { input: 1 }).result())).code).toBe('compute-no-runner');
    expect(await room.until(kernel.submit({ input: 7 }).result(), 'the square is done')).toBe(49);
    // An aborted signal before submit: nothing is sent.
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(room, kernel.submit({ input: 2 }, { signal: controller.signal }).result())).code).toBe('compute-cancelled');
    // Unregistered: the node no longer runs it.
    await room.until(kernel.unregister(), 'sq unregisters');
    await room.runFor(100);
    expect(room.compute(nodes[0]).appKinds).toEqual([]);
  });

  roomTest('a node without an app listening cannot register kernels; built-in kinds run through the same API', async (room) => {
    const [bare, withApp] = await computeNodes(room, [{}, { app: true }]);
    expect(
      (
        await rejection(
          room,
          createCompute(bare!.page).register('k', () => 1),
        )
      ).code,
    ).toBe('compute-unavailable');
    const job = createCompute(withApp!.page).submit<{ count: number }>('primes', { input: { to: 10_000 } }, { chunks: 4 });
    expect(await room.until(job.result(), 'the prime count is done')).toMatchObject({ count: 1229 });
    expect(job.progress).toMatchObject({ done: 4, total: 4, status: 'done' });
  });

  roomTest('bad events from the node are counted and dropped; a late or unknown answer is harmless', async (room) => {
    const { node, page } = addComputeNode(room, { app: true });
    await room.runUntil(() => node.isUp, 'the node runs');
    const api = createCompute(page);
    await room.until(
      api.register('k', (n: number) => n + 1),
      'k registers',
    );
    page.emit('compute-task', { key: 42 });
    page.emit('compute-job', 'garbage');
    await room.runFor(10);
    expect(api.stats().invalid).toBe(2);
    expect(await room.call(node, 'computeTaskDone', 'no-such-key', { ok: true, output: 1 })).toBe(false);
    const refused = await room.call(node, 'computeTaskDone', 'k', { ok: 'maybe' }).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(refused?.code).toBe('bad-command');
  });
});
