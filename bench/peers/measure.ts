// One round of `npm run bench:peers`: one system at N tabs, each tab in a browser context of
// its own, measured from opening the tabs to closing them. Figures are wall-clock on a shared
// machine: the caller records the load average with them.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { heapOfTab, rendererCpuSeconds } from '../browser/cost-measure.ts';
import { openTabsInOwnContexts, waitFor } from '../browser/launch.ts';
import { measureConsensus } from './consensus-measure.ts';
import { percentile } from '../report.ts';
import { hasAllSource, readKeySource, writeKeySource, type System } from './systems.ts';

/**
 * How long a mesh may take to form before the round is given up: longer for more tabs, since on
 * a 2-core machine 16 tabs take 20 s just to load under the usual load (10–30).
 */
export const formTimeoutMs = (tabs: number) => Math.max(90_000, 12_000 * tabs);
/** Quiet time after the mesh formed, before the empty-room CPU window. */
const settleMs = 5_000;
/** CPU windows. */
const cpuWindowMs = 10_000;
/** The "20 s after the burst". */
const afterBurstMs = 20_000;
/** Writes timed one at a time (p50/p95 of the time until every tab holds it). */
const singleWrites = 20;
/** The burst. */
export const burstWrites = 2_000;
const burstTimeoutMs = (tabs: number) => Math.max(180_000, 20_000 * tabs);
const singleTimeoutMs = 30_000;

export interface RoundFigures {
  formedS: number | null;
  writeP50Ms: number | null;
  writeP95Ms: number | null;
  burstS: number | null;
  /** Time for the writer's 2,000 calls to return. */
  burstCallsMs: number | null;
  idleEmptyPct: number | null;
  idleAfterPct: number | null;
  heapMb: number | null;
  commitP50Ms: number | null;
  commitP95Ms: number | null;
  /** Committed operations per second with every tab keeping its window of proposals open (4 tabs only). */
  commitOpsPerS: number | null;
}

const call = <T>(page: Page, source: string, ...args: unknown[]): Promise<T> => page.evaluate(`(${source})(...${JSON.stringify(args)})`) as Promise<T>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function attempt<T>(what: string, fn: () => Promise<T>, log: (line: string) => void): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    log(`${what} not measured: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** Renderer CPU (pages and their workers) over a window, % of one core per tab. Only this round's tabs are open. */
async function cpuPerTab(browser: Browser, tabs: number, windowMs: number): Promise<number> {
  const before = await rendererCpuSeconds({ browsers: [browser] });
  const t0 = performance.now();
  await sleep(windowMs);
  const after = await rendererCpuSeconds({ browsers: [browser] });
  const elapsedS = (performance.now() - t0) / 1000;
  let used = 0;
  for (const [key, cpu] of after) {
    const start = before.get(key);
    if (start !== undefined) used += cpu - start;
  }
  return (used / elapsedS / tabs) * 100;
}

/** Polls in the page until `readKey(key)` is defined; resolves with the page's Date.now() then (null on timeout). */
const watchKeySource = `(key, timeoutMs) => new Promise((resolve) => {
  const read = ${readKeySource};
  const until = Date.now() + timeoutMs;
  const look = () => {
    if (read(key) !== undefined) return resolve(Date.now());
    if (Date.now() > until) return resolve(null);
    setTimeout(look, 2);
  };
  look();
})`;

const watchAllSource = `(prefix, count, timeoutMs) => new Promise((resolve) => {
  const hasAll = ${hasAllSource};
  const until = Date.now() + timeoutMs;
  const look = () => {
    if (hasAll(prefix, count)) return resolve(Date.now());
    if (Date.now() > until) return resolve(null);
    setTimeout(look, 25);
  };
  look();
})`;

/** Times one write from `writer` until every other tab holds it (ms), or null. */
async function oneWrite(pages: readonly Page[], writer: Page, key: string): Promise<number | null> {
  const others = pages.filter((p) => p !== writer);
  const seen = others.map((p) => call<number | null>(p, watchKeySource, key, singleTimeoutMs).catch(() => null));
  await Promise.all(others.map((p) => p.evaluate(() => true)));
  // Sources are spliced into the expression here (a page's CSP may forbid eval inside it).
  const writtenAt = (await writer.evaluate(
    `(async () => { const at = Date.now(); await (${writeKeySource})(${JSON.stringify(key)}, { at }); return at; })()`,
  )) as number;
  const times = await Promise.all(seen);
  if (times.some((t) => t === null)) return null;
  return Math.max(0, ...(times as number[]).map((t) => t - writtenAt));
}

async function burst(pages: readonly Page[], prefix: string): Promise<{ seconds: number; callsMs: number }> {
  const [writer] = pages;
  if (!writer) throw new Error('no tabs');
  const others = pages.slice(1);
  const seen = others.map((p) => call<number | null>(p, watchAllSource, prefix, burstWrites, burstTimeoutMs(pages.length)).catch(() => null));
  await Promise.all(others.map((p) => p.evaluate(() => true)));
  const { startedAt, callsMs } = (await writer.evaluate(`(async () => {
    const write = ${writeKeySource};
    const startedAt = Date.now();
    const t0 = performance.now();
    const calls = [];
    for (let i = 0; i < ${burstWrites}; i++) calls.push(write(${JSON.stringify(prefix)} + i, { i, pad: 'x'.repeat(40) }));
    await Promise.all(calls);
    return { startedAt, callsMs: performance.now() - t0 };
  })()`)) as { startedAt: number; callsMs: number };
  const times = await Promise.all(seen);
  if (times.some((t) => t === null)) throw new Error(`not every tab held all ${burstWrites} writes within ${burstTimeoutMs(pages.length) / 1000} s`);
  return { seconds: Math.max(0, ...(times as number[]).map((t) => t - startedAt)) / 1000, callsMs };
}

/** Opens `n` tabs of `system` (a context each), measures everything, closes them. */
export async function runRound(browser: Browser, system: System, n: number, room: string, log: (line: string) => void): Promise<RoundFigures> {
  const figures: RoundFigures = {
    formedS: null,
    writeP50Ms: null,
    writeP95Ms: null,
    burstS: null,
    burstCallsMs: null,
    idleEmptyPct: null,
    idleAfterPct: null,
    heapMb: null,
    commitP50Ms: null,
    commitP95Ms: null,
    commitOpsPerS: null,
  };
  const contexts: BrowserContext[] = [];
  try {
    const t0 = performance.now();
    const pages = await openTabsInOwnContexts(
      browser,
      n,
      () => system.pageUrl(room),
      contexts,
      (page) => {
        page.on('pageerror', (error) => log(`[${system.name} page error] ${error.message}`));
        page.on('crash', () => log(`[${system.name}] a tab crashed`));
      },
    );
    const formed = await attempt(
      'mesh',
      () => waitFor(async () => ((await system.formed(pages)) ? true : undefined), `${n} ${system.name} tabs form a mesh`, formTimeoutMs(n), 100),
      log,
    );
    if (!formed) {
      log(`${system.name} ×${n}: links per tab when the wait ended: ${await system.degrees(pages)}`);
      return figures;
    }
    figures.formedS = (performance.now() - t0) / 1000;
    log(`${system.name} ×${n}: formed in ${figures.formedS.toFixed(2)} s; idle (empty room)…`);
    await sleep(settleMs);
    figures.idleEmptyPct = await cpuPerTab(browser, n, cpuWindowMs);
    const singles: number[] = [];
    for (let i = 0; i < singleWrites; i++) {
      const ms = await attempt('one write', () => oneWrite(pages, pages[i % n] as Page, `peers/one/${i}`), log);
      if (ms === null || ms === undefined) break;
      singles.push(ms);
    }
    if (singles.length === singleWrites) {
      figures.writeP50Ms = percentile(singles, 50);
      figures.writeP95Ms = percentile(singles, 95);
    }
    log(`${system.name} ×${n}: one write p50 ${figures.writeP50Ms ?? '—'} ms, p95 ${figures.writeP95Ms ?? '—'} ms; burst…`);
    const burstAt = performance.now();
    const b = await attempt('burst', () => burst(pages, 'peers/burst/'), log);
    if (b) {
      figures.burstS = b.seconds;
      figures.burstCallsMs = b.callsMs;
    }
    log(`${system.name} ×${n}: ${burstWrites} writes everywhere in ${figures.burstS?.toFixed(2) ?? '—'} s; idle after…`);
    await sleep(Math.max(0, burstAt + (figures.burstS ?? 0) * 1000 + afterBurstMs - performance.now()));
    figures.idleAfterPct = await cpuPerTab(browser, n, cpuWindowMs);
    const heaps = await attempt('heap', () => Promise.all(pages.map((p) => heapOfTab(p, { collectGarbage: true }))), log);
    if (heaps) figures.heapMb = heaps.reduce((sum, h) => sum + h.bytes, 0) / heaps.length / 1e6;
    if (system.consensus) {
      const c = await attempt('consensus', () => measureConsensus(pages, { withThroughput: n === 4 }), log);
      figures.commitP50Ms = c?.p50Ms ?? null;
      figures.commitP95Ms = c?.p95Ms ?? null;
      figures.commitOpsPerS = c?.opsPerS ?? null;
      if (c) log(`${system.name} ×${n}: consensus breakdown (mean ms) ${JSON.stringify(c.breakdown)}`);
    }
    return figures;
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  }
}
