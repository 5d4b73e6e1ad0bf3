// The app's own kernels through the app API (src/api/compute.ts) on real stealing services:
// a kind runs only where the app registered it, progress and results reach the submitter,
// cancel stops queued and running tasks everywhere, and kernels that throw or return garbage
// fail their task (retried within the budget) without disturbing anything else.
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { ComputeError, createCompute, type Compute, type ComputeProgress } from '../../../src/api/compute.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { seeds, withSeedAsync, type Mesh } from './harness.ts';

/** A kernel that takes `ms` of (fake) time and doubles its input; it stops when its signal aborts. */
function doubler(ms: number, log: { started: number; aborted: number }) {
  return (input: { x: number }, { signal }: { signal: AbortSignal }) =>
    new Promise<{ y: number }>((resolve, reject) => {
      log.started++;
      const timer = setTimeout(() => resolve({ y: input.x * 2 }), ms);
      signal.addEventListener('abort', () => {
        log.aborted++;
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
}

async function rejection(promise: Promise<unknown>): Promise<ComputeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComputeError);
  return error as ComputeError;
}

async function threeWithApps(mesh: Mesh): Promise<{ ids: [NodeId, NodeId, NodeId]; apis: [Compute, Compute, Compute] }> {
  const a = await mesh.add('a', { app: true });
  const b = await mesh.add('b', { app: true });
  const c = await mesh.add('c', { app: true });
  await mesh.advance(100);
  return { ids: [a.id, b.id, c.id], apis: [createCompute(mesh.backend(a.id)), createCompute(mesh.backend(b.id)), createCompute(mesh.backend(c.id))] };
}

const tasks = (n: number) => Array.from({ length: n }, (_, x) => ({ x }));

describe('app kernels', () => {
  for (const seed of seeds()) {
    test(`a job runs only on the nodes whose app registered its kind, with progress, from a node that did not [seed ${seed}]`, () =>
      withSeedAsync(seed, async (mesh) => {
        const { ids, apis } = await threeWithApps(mesh);
        const [a, b, c] = ids;
        const logs = [
          { started: 0, aborted: 0 },
          { started: 0, aborted: 0 },
        ];
        await apis[0].register('double', doubler(80, logs[0]!), { input: v.object({ x: v.number() }), output: v.object({ y: v.number() }) });
        await apis[1].register('double', doubler(80, logs[1]!));
        expect(apis[0].kinds()).toEqual(['double']);
        // c hears that a and b run it (adverts), then submits.
        await mesh.until(() => mesh.snapshot(c).compute.peers.filter((p) => p.kinds.includes('double')).length === 2, 'c knows who runs double');
        expect(mesh.snapshot(a).compute.appKinds).toEqual(['double']);
        expect(mesh.snapshot(c).compute.kinds).not.toContain('double');

        const job = apis[2].submit<{ y: number }>('double', { tasks: tasks(24) }, { priority: 'high' });
        const seen: ComputeProgress[] = [];
        job.on('progress', (p) => seen.push(p));
        const id = await job.submitted;
        expect(job.id).toBe(id);
        let outputs: Array<{ y: number }> | null = null;
        void job.result().then((r) => (outputs = r));
        await mesh.until(() => outputs !== null, 'the job is done');
        expect(outputs).toEqual(tasks(24).map(({ x }) => ({ y: 2 * x })));
        expect(job.progress).toEqual({ done: 24, total: 24, status: 'done' });
        // Progress came task by task, never backwards, ending at 24 of 24.
        expect(seen.length).toBeGreaterThanOrEqual(5);
        for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
        expect(seen.at(-1)).toEqual({ done: 24, total: 24, status: 'done' });

        const shares = mesh.job(c, id)!.shares;
        expect(Object.keys(shares).sort()).toEqual([a, b].sort());
        expect(shares[a]).toBeGreaterThan(0);
        expect(shares[b]).toBeGreaterThan(0);
        // c was never handed a task of the kind: no event for it, nothing refused as unknown.
        expect(mesh.nodes.get(c)!.appEvents.filter((e) => e.name === 'compute-task')).toEqual([]);
        expect(mesh.snapshot(c).compute.refused['unknown-kind'] ?? 0).toBe(0);
        expect(logs[0]!.started + logs[1]!.started).toBe(24);
      }));
  }

  test('cancel drops the queued tasks everywhere and aborts the running kernels through their signal', () =>
    withSeedAsync(1, async (mesh) => {
      const { ids, apis } = await threeWithApps(mesh);
      const [a, b] = ids;
      const logs = [
        { started: 0, aborted: 0 },
        { started: 0, aborted: 0 },
      ];
      await apis[0].register('slow', doubler(5_000, logs[0]!), { concurrency: 2 });
      await apis[1].register('slow', doubler(5_000, logs[1]!), { concurrency: 2 });
      await mesh.until(() => mesh.snapshot(a).compute.peers.some((p) => p.node === b && p.kinds.includes('slow')), 'a knows b runs slow');
      const controller = new AbortController();
      const job = apis[0].submit('slow', { tasks: tasks(40) }, { signal: controller.signal });
      await job.submitted;
      await mesh.until(() => logs[0]!.started >= 2 && logs[1]!.started >= 1, 'kernels run on both nodes');
      const startedBefore = logs[0]!.started + logs[1]!.started;
      controller.abort();
      const error = await rejection(job.result());
      expect(error.code).toBe('compute-cancelled');
      expect(job.progress.status).toBe('cancelled');
      await mesh.until(
        () => logs[0]!.aborted + logs[1]!.aborted === startedBefore,
        `every running kernel was told to stop ${JSON.stringify(logs)} ${startedBefore}`,
      );
      await mesh.until(
        () => ids.every((id) => Object.values(mesh.snapshot(id).compute.queued).every((n) => n === 0) && mesh.snapshot(id).compute.busyWorkers === 0),
        'no node holds a task of it',
      );
      await mesh.advance(12_000);
      expect(logs[0]!.started + logs[1]!.started).toBe(startedBefore);
      expect(mesh.job(a, job.id!)!.status).toBe('cancelled');
      // Cancelling again, or after the end, is harmless.
      await job.cancel();
    }));

  test('a kernel that throws, returns garbage or breaks its schema fails only that attempt; the task is retried and the job completes', () =>
    withSeedAsync(2, async (mesh) => {
      const { ids, apis } = await threeWithApps(mesh);
      const [a, b, c] = ids;
      const honest = { started: 0, aborted: 0 };
      await apis[0].register('double', doubler(50, honest), { output: v.object({ y: v.number() }) });
      let calls = 0;
      // b is broken three ways in turn; c is broken too and says so in its schema.
      await apis[1].register('double', (input: { x: number }) => {
        calls++;
        if (calls % 3 === 0) throw new Error('out of memory');
        if (calls % 3 === 1) return { y: Number.NaN };
        return new Date(input.x) as unknown as { y: number };
      });
      await apis[2].register('double', (input: { x: number }) => ({ y: String(input.x) }) as unknown as { y: number }, { output: v.object({ y: v.number() }) });
      await mesh.until(() => mesh.snapshot(a).compute.peers.filter((p) => p.kinds.includes('double')).length === 2, 'a knows who runs double');
      const job = apis[0].submit('double', { tasks: tasks(30) });
      let outputs: unknown = null;
      void job.result().then((r) => (outputs = r));
      await mesh.until(() => outputs !== null || job.progress.status === 'failed', 'the job ends', 120_000);
      expect(job.progress.status).toBe('done');
      expect(outputs).toEqual(tasks(30).map(({ x }) => ({ y: 2 * x })));
      // The broken nodes failed attempts with reasons; the home retried them; nobody crashed.
      expect(calls).toBeGreaterThan(0);
      expect(apis[1].stats().failed).toBe(calls);
      expect(apis[1].stats().lastError).toMatch(/kernel threw: out of memory|output refused/);
      expect(apis[2].stats().failed).toBeGreaterThan(0);
      expect(apis[2].stats().lastError).toMatch(/output refused by the kernel's schema/);
      expect(mesh.snapshot(a).compute.retries).toBeGreaterThan(0);
      expect(mesh.job(a, job.id!)!.shares[b] ?? 0).toBe(0);
      expect(mesh.job(a, job.id!)!.shares[c] ?? 0).toBe(0);
    }));

  test('a kernel that fails everywhere fails the job with its reason, once the retry budget is spent', () =>
    withSeedAsync(3, async (mesh) => {
      const { apis } = await threeWithApps(mesh);
      await apis[0].register('boom', () => {
        throw new Error('no such thing');
      });
      const job = apis[0].submit('boom', { input: 1 });
      const error = await (async () => {
        const settled = job.result().then(
          () => null,
          (e: unknown) => e as ComputeError,
        );
        await mesh.until(() => job.progress.status === 'failed', 'the job fails', 120_000);
        return settled;
      })();
      expect(error?.code).toBe('compute-failed');
      expect(error?.message).toMatch(/failed 4 times.*kernel threw: no such thing/);
    }));

  test('refusals: bad names and options, taken kinds, nobody to run it, inputs that fail the schema or are too large', () =>
    withSeedAsync(4, async (mesh) => {
      const { apis } = await threeWithApps(mesh);
      const [ca] = apis;
      expect((await rejection(ca.register('Not A Kind', () => 1))).code).toBe('compute-bad-argument');
      expect((await rejection(ca.register('mandelbrot', () => 1))).code).toBe('compute-kind-taken');
      expect((await rejection(ca.register('ok', () => 1, { concurrency: 99 }))).code).toBe('compute-bad-argument');
      expect((await rejection(ca.register('ok', 'not a function' as never))).code).toBe('compute-bad-argument');
      const kernel = await ca.register('sq', (n: number) => n * n, { input: v.pipe(v.number(), v.integer()) });
      expect((await rejection(ca.register('sq', () => 1))).code).toBe('compute-kind-taken');
      expect(() => ca.submit('sq', { tasks: [] })).toThrow(ComputeError);
      expect(() => ca.submit('sq', { tasks: [1], input: 2 } as never)).toThrow(/job is \{ tasks/);
      expect(() => ca.submit('sq', { input: 1 }, { priority: 'urgent' as never })).toThrow(/priority/);
      expect((await rejection(kernel.submit({ input: 1.5 }).result())).code).toBe('compute-bad-input');
      expect((await rejection(ca.submit('sq', { input: 'x'.repeat(5_000) }).submitted)).code).toBe('compute-bad-input');
      expect((await rejection(ca.submit('nobody', { input: 1 }).result())).code).toBe('compute-no-runner');
      const job = kernel.submit({ input: 7 });
      let out: number | null = null;
      void job.result().then((r) => (out = r));
      await mesh.until(() => out !== null, 'the square is done');
      expect(out).toBe(49);
      // An aborted signal before submit: nothing is sent.
      const controller = new AbortController();
      controller.abort();
      expect((await rejection(kernel.submit({ input: 2 }, { signal: controller.signal }).result())).code).toBe('compute-cancelled');
      // Unregistered: the node no longer runs it.
      await kernel.unregister();
      await mesh.advance(100);
      expect(mesh.snapshot(mesh.ids()[0]!).compute.appKinds).toEqual([]);
    }));

  test('a node without an app listening cannot register kernels; built-in kinds run through the same API', () =>
    withSeedAsync(5, async (mesh) => {
      const bare = await mesh.add('bare');
      const withApp = await mesh.add('app', { app: true });
      expect((await rejection(createCompute(mesh.backend(bare.id)).register('k', () => 1))).code).toBe('compute-unavailable');
      const job = createCompute(mesh.backend(withApp.id)).submit<{ count: number }>('primes', { input: { to: 10_000 } }, { chunks: 4 });
      let result: { count: number } | null = null;
      void job.result().then((r) => (result = r));
      await mesh.until(() => result !== null, 'the prime count is done');
      expect(result).toMatchObject({ count: 1229 });
      expect(job.progress).toMatchObject({ done: 4, total: 4, status: 'done' });
    }));

  test('bad events from the node are counted and dropped; a late or unknown answer is harmless', () =>
    withSeedAsync(6, async (mesh) => {
      const node = await mesh.add('a', { app: true });
      const api = createCompute(mesh.backend(node.id));
      await api.register('k', (n: number) => n + 1);
      for (const listener of node.appListeners.get('compute-task') ?? []) listener({ key: 42 });
      for (const listener of node.appListeners.get('compute-job') ?? []) listener('garbage');
      await mesh.advance(10);
      expect(api.stats().invalid).toBe(2);
      expect(await mesh.command(node.id, 'computeTaskDone', 'no-such-key', { ok: true, output: 1 })).toBe(false);
      const refused = await mesh.command(node.id, 'computeTaskDone', 'k', { ok: 'maybe' }).then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      expect(refused?.code).toBe('bad-command');
    }));
});
