// CPU time of every thread of the renderer processes, from Linux's /proc/<pid>/task/*/stat,
// grouped by the thread's name (CrRendererMain, DedicatedWorker, Compositor, WebRTC's network
// and signaling threads, V8's GC helpers…). Profiles see JavaScript only; this sees the rest
// of what a tab costs. Renderer pids come from CDP SystemInfo.getProcessInfo. Linux only:
// elsewhere (or when /proc is not readable) the table is empty.
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux we run on). */
const ticksPerSecond = 100;

async function rendererPids(browser: Browser): Promise<number[]> {
  const session = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = (await session.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; id: number }> };
    return processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
  } finally {
    await session.detach().catch(() => {});
  }
}

/** Thread name with digits folded ("ThreadPoolForegroundWorker3" → "ThreadPoolForegroundWorker#"). */
const threadKind = (comm: string): string => comm.trim().replace(/\d+$/, '#');

/** CPU seconds so far per `pid:tid`, with the thread's kind. */
function readThreads(pids: readonly number[]): Map<string, { kind: string; seconds: number }> {
  const out = new Map<string, { kind: string; seconds: number }>();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // "tid (comm) state ppid …": comm may hold spaces, so split after its closing parenthesis.
        const close = stat.lastIndexOf(')');
        const comm = stat.slice(stat.indexOf('(') + 1, close);
        const fields = stat.slice(close + 2).split(' ');
        const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
        out.set(`${pid}:${tid}`, { kind: threadKind(comm), seconds });
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  }
  return out;
}

/** Starts counting; the returned function gives CPU seconds per thread kind since, over the renderers that existed at the start. */
export async function startThreadCpu(browser: Browser): Promise<() => Map<string, number>> {
  const pids = await rendererPids(browser);
  const before = readThreads(pids);
  return () => {
    const used = new Map<string, number>();
    for (const [key, now] of readThreads(pids)) {
      const was = before.get(key)?.seconds ?? 0;
      used.set(now.kind, (used.get(now.kind) ?? 0) + now.seconds - was);
    }
    return used;
  };
}
