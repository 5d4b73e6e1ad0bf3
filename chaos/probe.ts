// What the chaos run reads from a tab: a compact slice of window.tabmesh.snapshot() (one
// page.evaluate per tab and sample, so sampling stays cheap while seven tabs are busy), and the
// tab's JS heap (the page and its protocol worker) over CDP.
import type { CDPSession, Page } from 'playwright-core';
import type { LogEntryView } from './logs.ts';
// Also brings window.tabmesh's declaration into every file that evaluates in a page.
export type { TabmeshApi } from '../src/window-api.ts';

export interface Probe {
  id: string;
  signaling: string;
  genesis: string | null;
  status: string;
  view: number;
  mode: string;
  replicas: string[];
  f: number;
  lastCommitted: number;
  byzantine: string | null;
  halted: string | null;
  log: LogEntryView[];
  links: string[];
  members: Array<{ id: string; status: string }>;
  jobs: Array<{ id: string; home: string; mine: boolean; status: string; done: number; total: number; redundancy: number; shares: Record<string, number> }>;
  rejected: Record<string, number>;
  keptOut: string[];
}

/** Reads the probe; null when the tab has no node yet, or is closing, crashed or reloading. */
export async function probe(page: Page): Promise<Probe | null> {
  return page
    .evaluate(() => {
      const s = window.tabmesh?.snapshot();
      if (!s) return null;
      const c = s.consensus;
      return {
        id: s.id,
        signaling: s.signaling,
        genesis: c?.genesis?.id ?? null,
        status: c?.status ?? 'none',
        view: c?.view ?? 0,
        mode: c?.mode ?? 'none',
        replicas: c?.replicas ?? [],
        f: c?.f ?? 0,
        lastCommitted: c?.lastCommitted ?? 0,
        byzantine: c?.byzantine ?? null,
        halted: c?.halted ?? null,
        log: (c?.log ?? []).map((e) => ({ seq: e.seq, digest: e.digest, client: e.client, ts: e.ts, op: e.op as unknown })),
        links: s.links.map((l) => l.peer),
        members: (s.members ?? []).map((m) => ({ id: m.id, status: m.status })),
        jobs: (s.jobs ?? []).map((j) => ({
          id: j.id,
          home: j.home,
          mine: j.mine,
          status: j.status,
          done: j.done,
          total: j.total,
          redundancy: j.redundancy,
          shares: { ...j.shares },
        })),
        rejected: { ...s.rejected },
        keptOut: (s.keptOut ?? []).map((k) => k.peer),
      };
    })
    .catch(() => null);
}

/** How long to wait for a worker's heap answer before counting the page's own heap only. */
const workerAnswerTimeoutMs = 3_000;

interface HeapUsage {
  usedSize: number;
}

/**
 * JS heap in use by the page's main thread and its workers (the protocol worker; kernel workers
 * nested in it are not reached) after a garbage collection, bytes — what the tab holds on to,
 * which is what must stay bounded; null if the tab could not be measured (closing).
 * Workers are reached through CDP's (non-flattened) Target domain, as in bench/browser/cost-measure.ts.
 */
export async function heapOfTab(page: Page): Promise<number | null> {
  let session: CDPSession | null = null;
  try {
    session = await page.context().newCDPSession(page);
    // Garbage not yet collected is not memory the tab holds on to: collect first, then measure.
    await session.send('HeapProfiler.collectGarbage');
    const main = (await session.send('Runtime.getHeapUsage')) as HeapUsage;
    const workers: string[] = [];
    session.on('Target.attachedToTarget', (event: { sessionId: string; targetInfo: { type: string } }) => {
      if (event.targetInfo.type === 'worker') workers.push(event.sessionId);
    });
    await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    let bytes = main.usedSize;
    for (const [n, sessionId] of workers.entries()) bytes += await workerHeap(session, sessionId, 2 * n + 2);
    return bytes;
  } catch {
    return null;
  } finally {
    await session?.detach().catch(() => {});
  }
}

async function workerHeap(session: CDPSession, sessionId: string, id: number): Promise<number> {
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
  // The worker answers in order: its garbage is collected before its heap is measured.
  await session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: id - 1, method: 'HeapProfiler.collectGarbage' }) });
  await session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
  return answer;
}
