// CPU profiles of a tab: its page's main thread and its dedicated workers (the protocol worker,
// kernel workers), recorded with the CDP Profiler domain over a window, then boiled down to
// self time per function (mapped back to the source file through the build's source maps).
// Workers are reached through the page session's non-flattened Target domain, as heapOfTab does.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SourceMapConsumer, type RawSourceMap } from 'source-map-js';
import type { CDPSession, Page } from 'playwright-core';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** One thread's profile: 'page' or the worker's name (or URL). */
export interface ThreadProfile {
  thread: string;
  profile: CpuProfile;
}

/** Sampling interval, µs: fine enough for a 10 s window of a mostly idle thread. */
const samplingIntervalUs = 250;
const answerTimeoutMs = 10_000;

/** A recording under way in one tab; stop() returns every thread's profile. */
export interface TabRecording {
  stop(): Promise<ThreadProfile[]>;
}

let nextCallId = 1_000_000;

function workerCall(session: CDPSession, sessionId: string, method: string, params: object = {}): Promise<unknown> {
  const id = nextCallId++;
  const answer = new Promise<unknown>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), answerTimeoutMs);
    const onMessage = (event: { sessionId: string; message: string }) => {
      if (event.sessionId !== sessionId) return;
      const parsed = JSON.parse(event.message) as { id?: number; result?: unknown };
      if (parsed.id !== id) return;
      clearTimeout(timer);
      session.off('Target.receivedMessageFromTarget', onMessage);
      resolve(parsed.result);
    };
    session.on('Target.receivedMessageFromTarget', onMessage);
  });
  return session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).then(() => answer);
}

/** Starts profiling the page's main thread and every dedicated worker it has now. */
export async function startTabProfile(page: Page): Promise<TabRecording> {
  const session = await page.context().newCDPSession(page);
  const workers: Array<{ sessionId: string; name: string }> = [];
  session.on('Target.attachedToTarget', (event: { sessionId: string; targetInfo: { type: string; title: string; url: string } }) => {
    if (event.targetInfo.type === 'worker') workers.push({ sessionId: event.sessionId, name: event.targetInfo.title || event.targetInfo.url });
  });
  await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  for (const w of workers) {
    await workerCall(session, w.sessionId, 'Profiler.enable');
    await workerCall(session, w.sessionId, 'Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  }
  await Promise.all([session.send('Profiler.start'), ...workers.map((w) => workerCall(session, w.sessionId, 'Profiler.start'))]);
  return {
    async stop() {
      const [main, ...rest] = await Promise.all([
        session.send('Profiler.stop') as Promise<{ profile: CpuProfile }>,
        ...workers.map((w) => workerCall(session, w.sessionId, 'Profiler.stop') as Promise<{ profile: CpuProfile } | undefined>),
      ]);
      await session.detach().catch(() => {});
      const out: ThreadProfile[] = [{ thread: 'page', profile: main.profile }];
      rest.forEach((r, i) => {
        if (r?.profile) out.push({ thread: workers[i]?.name ?? 'worker', profile: r.profile });
      });
      return out;
    },
  };
}

/** Self time of one function (µs), keyed by name and where it is. */
export interface SelfTime {
  fn: string;
  file: string;
  thread: string;
  us: number;
}

/** V8's pseudo-frames: (idle) is not CPU; (program) is native work outside JS; (garbage collector) is GC. */
const idleFrame = '(idle)';

/** Per-sample self time: each time delta is charged to the sample it ends on. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const byNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 1; i < samples.length; i++) {
    const node = samples[i - 1] as number;
    byNode.set(node, (byNode.get(node) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  return byNode;
}

/** Maps a bundle's (url, line, column) to the source file through its .map, when the build has one. */
export class SourceLocator {
  private readonly maps = new Map<string, SourceMapConsumer | null>();
  constructor(private readonly distDir: string) {}

  file(url: string, line: number, column: number): string {
    if (!url) return '(native)';
    const path = new URL(url, 'http://x/').pathname;
    let map = this.maps.get(path);
    if (map === undefined) {
      const mapFile = join(this.distDir, `${path}.map`);
      map = existsSync(mapFile) ? new SourceMapConsumer(JSON.parse(readFileSync(mapFile, 'utf8')) as RawSourceMap) : null;
      this.maps.set(path, map);
    }
    if (!map) return path;
    const at = map.originalPositionFor({ line: line + 1, column });
    return at.source ? at.source.replace(/^(\.\.\/)+/, '') : path;
  }
}

/** Every (function, file, thread)'s self time over the profiles, largest first; and busy time per thread. */
export function aggregate(threads: readonly ThreadProfile[], locate: SourceLocator): { functions: SelfTime[]; busyUsByThread: Map<string, number> } {
  const functions = new Map<string, SelfTime>();
  const busyUsByThread = new Map<string, number>();
  for (const { thread, profile } of threads) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const [id, us] of selfTimes(profile)) {
      const frame = nodes.get(id)?.callFrame;
      if (!frame || frame.functionName === idleFrame) continue;
      busyUsByThread.set(thread, (busyUsByThread.get(thread) ?? 0) + us);
      const file = locate.file(frame.url, frame.lineNumber, frame.columnNumber);
      const fn = frame.functionName || '(anonymous)';
      const key = `${thread}\u0000${fn}\u0000${file}`;
      const entry = functions.get(key) ?? { fn, file, thread, us: 0 };
      entry.us += us;
      functions.set(key, entry);
    }
  }
  return { functions: [...functions.values()].sort((a, b) => b.us - a.us), busyUsByThread };
}
