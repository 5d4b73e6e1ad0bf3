// Cost per tab: JS heap in use (the page and its workers, by CDP Runtime.getHeapUsage) and CPU
// while idle (renderer processes' CPU time by CDP SystemInfo.getProcessInfo, over a quiet window).
import type { CDPSession, Page } from 'playwright-core';
import type { BenchRig } from './launch.ts';
import type { Tab } from './mesh-measure.ts';

interface HeapUsage {
  usedSize: number;
}

/** How long to wait for a worker's heap answer before counting the page's own heap only. */
const workerAnswerTimeoutMs = 2_000;

/**
 * The page's main-thread heap plus every worker's (the protocol runs in a Web Worker, compute in
 * kernel workers), in bytes. Workers are reached through the (non-flattened) Target domain.
 */
export async function heapOfTab(page: Page, options: { collectGarbage?: boolean } = {}): Promise<{ bytes: number; workers: number }> {
  const session = await page.context().newCDPSession(page);
  try {
    if (options.collectGarbage) await session.send('HeapProfiler.collectGarbage');
    const main = (await session.send('Runtime.getHeapUsage')) as HeapUsage;
    const workerSessions: string[] = [];
    session.on('Target.attachedToTarget', (event: { sessionId: string; targetInfo: { type: string } }) => {
      if (event.targetInfo.type === 'worker') workerSessions.push(event.sessionId);
    });
    await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    let workerBytes = 0;
    for (const sessionId of workerSessions) {
      if (options.collectGarbage) await workerCall(session, sessionId, 'HeapProfiler.collectGarbage');
      workerBytes += await workerHeap(session, sessionId);
    }
    return { bytes: main.usedSize + workerBytes, workers: workerSessions.length };
  } finally {
    await session.detach().catch(() => {});
  }
}

let nextWorkerCallId = 1;

/** Sends one CDP command to a worker (through the non-flattened Target domain) and waits for its answer (or the timeout). */
async function workerCall(session: CDPSession, sessionId: string, method: string): Promise<unknown> {
  const id = nextWorkerCallId++;
  const answer = new Promise<unknown>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), workerAnswerTimeoutMs);
    session.on('Target.receivedMessageFromTarget', (event: { sessionId: string; message: string }) => {
      if (event.sessionId !== sessionId) return;
      const parsed = JSON.parse(event.message) as { id?: number; result?: unknown };
      if (parsed.id !== id) return;
      clearTimeout(timer);
      resolve(parsed.result);
    });
  });
  await session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
  return answer;
}

async function workerHeap(session: CDPSession, sessionId: string): Promise<number> {
  const id = nextWorkerCallId++;
  const answer = new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(0), workerAnswerTimeoutMs);
    session.on('Target.receivedMessageFromTarget', (event: { sessionId: string; message: string }) => {
      if (event.sessionId !== sessionId) return;
      const parsed = JSON.parse(event.message) as { id?: number; result?: Partial<HeapUsage> };
      if (parsed.id !== id) return;
      clearTimeout(timer);
      resolve(typeof parsed.result?.usedSize === 'number' ? parsed.result.usedSize : 0);
    });
  });
  await session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
  return answer;
}

/** Average JS heap in use per tab, MB (10⁶ bytes). */
export async function measureHeap(tabs: readonly Tab[]): Promise<{ mbPerTab: number | null; workersPerTab: number }> {
  if (tabs.length === 0) return { mbPerTab: null, workersPerTab: 0 };
  const heaps = await Promise.all(tabs.map((t) => heapOfTab(t.page)));
  return {
    mbPerTab: heaps.reduce((sum, h) => sum + h.bytes, 0) / tabs.length / 1e6,
    workersPerTab: heaps.reduce((sum, h) => sum + h.workers, 0) / tabs.length,
  };
}

/** Longest wait for the load of earlier measurements (proposals, jobs) to drain before the idle window. */
const quietTimeoutMs = 30_000;
/** Then this long with nothing asked of the mesh: the tail of the load (checkpoints, GC, catch-up) is not idle cost. */
const idleSettleMs = 5_000;
/**
 * The steady idle window starts this long after the mesh went quiet. Measured in 5 s windows
 * after the full load (85,000 operations, then the primes jobs), 4 tabs: 3.4, 4.1, 2.6, then
 * 1.5-2.1 % per tab from 15 s on; traces of the first 12 s show V8's major GCs (its memory
 * reducer starts a few seconds after a burst of allocation) and the dashboard rendering the
 * load's last news. The window idleSettleMs after quiet still measures that tail, reported apart.
 */
const steadyAfterQuietMs = 20_000;

/**
 * Waits until no tab has a proposal open or a job queued or running (the measurements before
 * this one leave some behind), then idleSettleMs more. Gives up waiting after quietTimeoutMs and
 * measures anyway (the figure is then pessimistic, and says so on stderr).
 */
async function untilQuiet(tabs: readonly Tab[]): Promise<void> {
  const busy = async () =>
    (
      await Promise.all(
        tabs.map((t) =>
          t.page
            .evaluate(() => {
              const s = window.tabmesh?.snapshot();
              if (!s) return true;
              return (s.consensus?.proposals.open ?? 0) > 0 || (s.jobs ?? []).some((j) => j.mine && (j.status === 'queued' || j.status === 'running'));
            })
            .catch(() => false),
        ),
      )
    ).some(Boolean);
  const deadline = performance.now() + quietTimeoutMs;
  while ((await busy()) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  if (performance.now() >= deadline) console.error('bench:browser: the mesh did not go quiet before the idle CPU window; the figure includes leftover work');
  await new Promise((resolve) => setTimeout(resolve, idleSettleMs));
}

interface ProcessInfo {
  type: string;
  id: number;
  cpuTime: number;
}

export async function rendererCpuSeconds(rig: Pick<BenchRig, 'browsers'>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [b, browser] of rig.browsers.entries()) {
    const session = await browser.newBrowserCDPSession();
    try {
      const { processInfo } = (await session.send('SystemInfo.getProcessInfo')) as { processInfo: ProcessInfo[] };
      for (const p of processInfo) if (p.type === 'renderer') out.set(`${b}:${p.id}`, p.cpuTime);
    } finally {
      await session.detach().catch(() => {});
    }
  }
  return out;
}

/**
 * Main-thread task time of a page so far, seconds (CDP Performance.getMetrics TaskDuration). It
 * is wall time inside tasks, not CPU time: on a busy machine it grows while the thread waits for a core.
 */
async function mainThreadSeconds(session: CDPSession): Promise<number> {
  const { metrics } = (await session.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> };
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
}

export interface IdleCpu {
  /** Renderer processes (page, protocol worker, kernel workers), % of one core per tab, steady idle. */
  pctPerTab: number | null;
  /** The same, in the window idleSettleMs after the load drained (its tail: GC, last renders). */
  tailPctPerTab: number | null;
  /** The page's main thread (UI, transport): time busy in tasks (wall time, see mainThreadSeconds), % per tab. */
  mainThreadBusyPctPerTab: number | null;
}

/**
 * CPU per tab while nobody does anything: renderer CPU time (pages and their workers) over an
 * idle window, divided by the tabs and the window, as % of one core, and how busy the main
 * threads were; once in the tail of the earlier load (idleSettleMs after it drained), and once
 * steady (steadyAfterQuietMs after).
 */
export async function measureIdleCpu(rig: BenchRig, tabs: readonly Tab[], windowMs: number): Promise<IdleCpu> {
  if (tabs.length === 0) return { pctPerTab: null, tailPctPerTab: null, mainThreadBusyPctPerTab: null };
  await untilQuiet(tabs);
  const quietAt = performance.now() - idleSettleMs;
  const tail = await idleWindow(rig, tabs, windowMs);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, quietAt + steadyAfterQuietMs - performance.now())));
  const steady = await idleWindow(rig, tabs, windowMs);
  return { pctPerTab: steady.pctPerTab, tailPctPerTab: tail.pctPerTab, mainThreadBusyPctPerTab: steady.mainThreadBusyPctPerTab };
}

async function idleWindow(rig: BenchRig, tabs: readonly Tab[], windowMs: number): Promise<{ pctPerTab: number; mainThreadBusyPctPerTab: number }> {
  const sessions = await Promise.all(tabs.map((t) => t.page.context().newCDPSession(t.page)));
  await Promise.all(sessions.map((s) => s.send('Performance.enable')));
  const mainBefore = await Promise.all(sessions.map(mainThreadSeconds));
  const before = await rendererCpuSeconds(rig);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await rendererCpuSeconds(rig);
  const mainAfter = await Promise.all(sessions.map(mainThreadSeconds));
  const elapsedS = (performance.now() - t0) / 1000;
  await Promise.all(sessions.map((s) => s.detach().catch(() => {})));
  const mainUsed = mainAfter.reduce((sum, m, i) => sum + m - (mainBefore[i] ?? m), 0);
  let used = 0;
  // Processes that exist at both ends of the window only (a renderer that came or went is not idle cost).
  for (const [key, cpu] of after) {
    const start = before.get(key);
    if (start !== undefined) used += cpu - start;
  }
  return { pctPerTab: (used / elapsedS / tabs.length) * 100, mainThreadBusyPctPerTab: (mainUsed / elapsedS / tabs.length) * 100 };
}
