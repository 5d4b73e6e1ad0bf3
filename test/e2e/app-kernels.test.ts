// Compute with the app's own kernels in real Chromium: three tabs, two of which register a kernel
// (window.tabmesh.compute, the app API's room.compute). A job of that kind runs only on those two
// — submitted from the third, which cannot run it — progress events reach the submitter, and
// cancelling a job stops it on every tab (queued tasks dropped, running kernels aborted).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startRoom, waitForFullMesh, waitForSnapshot, type Room } from './harness.ts';

interface KernelLog {
  started: Array<{ job: string; index: number }>;
  finished: number;
  aborted: number;
}

declare global {
  interface Window {
    kernelLog?: KernelLog;
  }
}

/** Registers `square` in the tab: waits `ms` (or until aborted), then squares its input, logging what it does. */
async function registerSquare(tab: Page, ms: number): Promise<void> {
  await tab.evaluate(async (delay) => {
    const log: KernelLog = { started: [], finished: 0, aborted: 0 };
    window.kernelLog = log;
    await window.tabmesh.compute.register(
      'square',
      (n: number, { signal, job, index }) =>
        new Promise<number>((resolve, reject) => {
          log.started.push({ job, index });
          const timer = setTimeout(() => {
            log.finished++;
            resolve(n * n);
          }, delay);
          signal.addEventListener('abort', () => {
            log.aborted++;
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        }),
      { concurrency: 2 },
    );
  }, ms);
}

const logOf = (tab: Page) => tab.evaluate(() => window.kernelLog ?? null);

describe('app kernels across three tabs', () => {
  let room: Room | undefined;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    room = await startRoom(3, 'app-kernels');
    ({ tabs, ids } = room);
    await waitForFullMesh(room);
    await registerSquare(tabs[0]!, 400);
    await registerSquare(tabs[1]!, 400);
    // Every tab hears (by load adverts) which two run it.
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) =>
          ids
            .slice(0, 2)
            .every((id) => (id === s.id ? s.compute.appKinds.includes('square') : s.compute.peers.some((p) => p.node === id && p.kinds.includes('square')))),
        `tab ${i} knows that tabs 0 and 1 run square`,
      );
    }
  });

  afterAll(async () => {
    await room?.close();
  });

  test('a job submitted in the tab without the kernel runs on the two that have it, with progress events', async () => {
    const outcome = await tabs[2]!.evaluate(async () => {
      const job = window.tabmesh.compute.submit<number, number>('square', { tasks: Array.from({ length: 16 }, (_, i) => i) });
      const progress: Array<{ done: number; total: number; status: string }> = [];
      job.on('progress', (p) => progress.push(p));
      const outputs = await job.result();
      return { id: job.id, outputs, progress };
    });
    expect(outcome.outputs).toEqual(Array.from({ length: 16 }, (_, i) => i * i));
    expect(outcome.progress.length).toBeGreaterThanOrEqual(4);
    expect(outcome.progress.at(-1)).toEqual({ done: 16, total: 16, status: 'done' });
    for (let i = 1; i < outcome.progress.length; i++) expect(outcome.progress[i]!.done).toBeGreaterThanOrEqual(outcome.progress[i - 1]!.done);

    // Where the tasks ran: the job's shares at its home, and each tab's own kernel log.
    const home = await waitForSnapshot(
      tabs[2]!,
      (s) => s.jobs.some((j) => j.id === outcome.id && j.status === 'done'),
      "the home's snapshot shows the job done",
    );
    const job = home.jobs.find((j) => j.id === outcome.id)!;
    expect(job).toMatchObject({ kind: 'square', mine: true, status: 'done', done: 16, total: 16 });
    expect(Object.keys(job.shares).sort()).toEqual([ids[0], ids[1]].sort());
    const [log0, log1, log2] = await Promise.all(tabs.map(logOf));
    const ranHere = (log: KernelLog | null | undefined) => log?.started.filter((s) => s.job === outcome.id).length ?? 0;
    expect(ranHere(log0)).toBeGreaterThan(0);
    expect(ranHere(log1)).toBeGreaterThan(0);
    expect(ranHere(log0) + ranHere(log1)).toBe(16);
    expect(log2 ?? null).toBeNull();
    const third = await tabs[2]!.evaluate(() => ({ stats: window.tabmesh.compute.stats(), refused: window.tabmesh.snapshot()!.compute.refused }));
    expect(third.stats).toMatchObject({ completed: 0, failed: 0 });
    expect(third.refused['unknown-kind'] ?? 0).toBe(0);
  });

  test('cancelling a job (by its AbortSignal) stops it on every tab: queued tasks dropped, running kernels aborted', async () => {
    // A longer job from tab 0: 40 tasks of 0.4 s on two tabs, cancelled once both run some.
    await tabs[0]!.evaluate(() => {
      const controller = new AbortController();
      const job = window.tabmesh.compute.submit<number, number>('square', { tasks: Array.from({ length: 40 }, (_, i) => i) }, { signal: controller.signal });
      const w = window as unknown as { cancelJob: () => void; cancelled: Promise<{ code: string; id: string | null }> };
      w.cancelJob = () => controller.abort();
      w.cancelled = job.result().then(
        () => ({ code: 'finished', id: job.id }),
        (error: { code: string }) => ({ code: error.code, id: job.id }),
      );
    });
    await bothTabsRunKernels(tabs);
    await tabs[0]!.evaluate(() => (window as unknown as { cancelJob: () => void }).cancelJob());
    const cancelled = await tabs[0]!.evaluate(() => (window as unknown as { cancelled: Promise<{ code: string; id: string }> }).cancelled);
    expect(cancelled.code).toBe('compute-cancelled');

    // Every tab lets go of it: nothing queued, every kernel of it either finished or aborted.
    for (const [i, tab] of tabs.slice(0, 2).entries()) {
      await tab
        .waitForFunction(
          (id) => {
            const log = window.kernelLog!;
            const s = window.tabmesh.snapshot()!;
            const queued = Object.values(s.compute.queued).reduce((a, b) => a + b, 0);
            return queued === 0 && log.started.length === log.finished + log.aborted && !s.jobs.some((j) => j.id === id && j.status === 'running' && j.mine);
          },
          cancelled.id,
          { timeout: 20_000, polling: 100 },
        )
        .catch((error: unknown) => {
          throw new Error(`tab ${i} still holds the cancelled job: ${String(error)}`);
        });
    }
    const logs = (await Promise.all(tabs.slice(0, 2).map(logOf))) as KernelLog[];
    const startedOfCancelled = logs.map((l) => l.started.filter((s) => s.job === cancelled.id).length);
    expect(startedOfCancelled[0]! + startedOfCancelled[1]!).toBeLessThan(40);
    expect(logs[0]!.aborted + logs[1]!.aborted).toBeGreaterThan(0);
    // The dashboard shows it cancelled once the next snapshot is out (published on a pace, so wait for it).
    await waitForSnapshot(tabs[0]!, (s) => s.jobs.find((j) => j.id === cancelled.id)?.status === 'cancelled', `job ${cancelled.id} shown cancelled`);

    // The room goes on: a new job runs to the end, and not one more task of the cancelled job starts meanwhile.
    const next = await tabs[1]!.evaluate(() => window.tabmesh.compute.submit<number, number>('square', { tasks: [2, 3, 4, 5, 6, 7] }).result());
    expect(next).toEqual([4, 9, 16, 25, 36, 49]);
    const after = (await Promise.all(tabs.slice(0, 2).map(logOf))) as KernelLog[];
    expect(after.map((l) => l.started.filter((s) => s.job === cancelled.id).length)).toEqual(startedOfCancelled);
  });
});

/** Waits until both kernel tabs have started tasks of the running job (so cancel has running kernels to abort). */
async function bothTabsRunKernels(tabs: Page[]): Promise<void> {
  for (const tab of tabs.slice(0, 2)) {
    await tab.waitForFunction(() => (window.kernelLog?.started.length ?? 0) > (window.kernelLog?.finished ?? 0) + (window.kernelLog?.aborted ?? 0), undefined, {
      timeout: 20_000,
      polling: 100,
    });
  }
}
