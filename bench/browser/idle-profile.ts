// `npm run bench:idle -- [--tabs 4] [--window 10] [--burst 0|2000] [--top 25] [--out FILE]`
// Where an idle tab's CPU goes. Opens N tabs of the production build (dashboard mounted, each
// tab in a browser context of its own, as bench:peers does), waits for the mesh and a quiet
// spell (and, with --burst, for a burst of writes to arrive everywhere and 20 s more), then over
// one window records: a CDP CPU profile of every page and its workers, the renderer processes'
// CPU time, and the frames every tab received by protocol/type. Prints JSON lines (top
// functions, files, threads, frame rates; also appended to bench/results/idle.jsonl) and tables.
// The build is not minified and has source maps, so functions keep their names and files.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTabmeshServer } from '../../signaling/server.ts';
import { chromiumArgs, findChromium } from '../../test/e2e/find-chromium.ts';
import { emitRow, printTable, type Row } from '../report.ts';
import { rendererCpuSeconds } from './cost-measure.ts';
import { buildForBench, withRunDir } from './builds.ts';
import { openTabsInOwnContexts, snapshotOf, waitFor } from './launch.ts';
import { meshIsWhole } from './mesh-measure.ts';
import { aggregate, SourceLocator, startTabProfile, type ThreadProfile } from './cpu-profile.ts';
import { startThreadCpu } from './thread-cpu.ts';
import type { NodeSnapshot } from '../../src/mesh-node.ts';

const defaultOut = fileURLToPath(new URL('../results/idle.jsonl', import.meta.url));
const formTimeoutMs = 90_000;
const settleMs = 5_000;
const afterBurstMs = 20_000;
const burstTimeoutMs = 180_000;

interface Options {
  tabs: number;
  windowS: number;
  burst: number;
  top: number;
  out: string;
}

export function parseIdleArgs(argv: readonly string[]): Options | string {
  const options: Options = { tabs: 4, windowS: 10, burst: 0, top: 25, out: defaultOut };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = Number(argv[i + 1]);
    i++;
    if (arg === '--tabs' && Number.isInteger(value) && value >= 2 && value <= 16) options.tabs = value;
    else if (arg === '--window' && value >= 2 && value <= 120) options.windowS = value;
    else if (arg === '--burst' && Number.isInteger(value) && value >= 0 && value <= 10_000) options.burst = value;
    else if (arg === '--top' && Number.isInteger(value) && value >= 1 && value <= 200) options.top = value;
    else if (arg === '--out' && argv[i]) options.out = argv[i] as string;
    else return `bad option ${arg} ${argv[i] ?? ''}: --tabs 2..16, --window 2..120 (s), --burst 0..10000, --top 1..200, --out FILE`;
  }
  return options;
}

/** One tab writes `count` keys at once; resolves when every tab holds them all. */
async function burst(pages: readonly Page[], count: number): Promise<void> {
  const [writer] = pages;
  if (!writer || count === 0) return;
  await writer.evaluate(async (n) => {
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) calls.push(window.tabmesh.setMemory(`idle/burst/${i}`, { i, pad: 'x'.repeat(40) }));
    await Promise.all(calls);
  }, count);
  const holdsAll = (p: Page) => p.evaluate((n) => window.tabmesh.getMemory(`idle/burst/${n - 1}`) !== undefined, count).catch(() => false);
  await waitFor(
    async () => ((await Promise.all(pages.map(holdsAll))).every(Boolean) ? true : undefined),
    `every tab holds the ${count} writes`,
    burstTimeoutMs,
    250,
  );
}

const framesOf = (s: NodeSnapshot | null): Record<string, number> => s?.framesIn ?? {};
const linksOf = (snapshots: ReadonlyArray<NodeSnapshot | null>): number => snapshots.reduce((sum, s) => sum + (s?.links.length ?? 0), 0);

/** Frames received per second per tab and per link, by protocol/type, over the window. */
function frameRates(before: ReadonlyArray<NodeSnapshot | null>, after: ReadonlyArray<NodeSnapshot | null>, seconds: number): Row[] {
  const totals = new Map<string, number>();
  after.forEach((s, i) => {
    const was = framesOf(before[i] ?? null);
    for (const [type, n] of Object.entries(framesOf(s))) totals.set(type, (totals.get(type) ?? 0) + n - (was[type] ?? 0));
  });
  const tabs = after.length;
  const links = Math.max(1, linksOf(after));
  const posted = after.reduce((sum, s, i) => sum + (s?.snapshotsPaced?.posted ?? 0) - (before[i]?.snapshotsPaced?.posted ?? 0), 0);
  const held = after.reduce((sum, s, i) => sum + (s?.snapshotsPaced?.held ?? 0) - (before[i]?.snapshotsPaced?.held ?? 0), 0);
  totals.set('(snapshots posted to the page)', posted);
  totals.set('(snapshots built and held back)', held);
  return [...totals.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => ({ kind: 'frames', type, perTabPerS: n / tabs / seconds, perLinkEndPerS: n / links / seconds }));
}

/** Renderer CPU per tab with no profiler attached (sampling costs CPU itself), and per OS thread kind. */
async function plainWindow(browser: Browser, tabs: number, windowS: number): Promise<Row[]> {
  const threadCpu = await startThreadCpu(browser);
  const before = await rendererCpuSeconds({ browsers: [browser] });
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowS * 1000));
  const after = await rendererCpuSeconds({ browsers: [browser] });
  const seconds = (performance.now() - t0) / 1000;
  const byThread = threadCpu();
  let renderer = 0;
  for (const [key, cpu] of after) renderer += cpu - (before.get(key) ?? cpu);
  const pct = (s: number) => (s / seconds / tabs) * 100;
  const rows: Row[] = [{ kind: 'renderer', profiled: false, pctPerTab: pct(renderer), seconds }];
  for (const [thread, s] of [...byThread].sort((a, b) => b[1] - a[1])) if (s > 0) rows.push({ kind: 'os-thread', thread, pctPerTab: pct(s) });
  return rows;
}

async function cpuWindow(browser: Browser, pages: readonly Page[], windowS: number, locate: SourceLocator): Promise<Row[]> {
  const snapshotsBefore = await Promise.all(pages.map(snapshotOf));
  const recordings = await Promise.all(pages.map(startTabProfile));
  const cpuBefore = await rendererCpuSeconds({ browsers: [browser] });
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowS * 1000));
  const cpuAfter = await rendererCpuSeconds({ browsers: [browser] });
  const seconds = (performance.now() - t0) / 1000;
  const threads: ThreadProfile[] = (await Promise.all(recordings.map((r) => r.stop()))).flat();
  const snapshotsAfter = await Promise.all(pages.map(snapshotOf));
  let renderer = 0;
  for (const [key, cpu] of cpuAfter) renderer += cpu - (cpuBefore.get(key) ?? cpu);
  const { functions, busyUsByThread } = aggregate(threads, locate);
  const tabs = pages.length;
  const pct = (us: number) => (us / 1e6 / seconds / tabs) * 100;
  const rows: Row[] = [{ kind: 'renderer', profiled: true, pctPerTab: (renderer / seconds / tabs) * 100, seconds }];
  for (const [thread, us] of busyUsByThread) rows.push({ kind: 'thread', thread, pctPerTab: pct(us) });
  const byFile = new Map<string, number>();
  for (const f of functions) byFile.set(`${f.thread} ${f.file}`, (byFile.get(`${f.thread} ${f.file}`) ?? 0) + f.us);
  for (const [file, us] of [...byFile].sort((a, b) => b[1] - a[1])) rows.push({ kind: 'file', file, pctPerTab: pct(us) });
  for (const f of functions) rows.push({ kind: 'function', thread: f.thread, fn: f.fn, file: f.file, pctPerTab: pct(f.us) });
  rows.push(...frameRates(snapshotsBefore, snapshotsAfter, seconds));
  return rows;
}

function report(rows: Row[], options: Options, meta: Row): void {
  for (const row of rows) emitRow({ ...meta, ...row }, options.out);
  const pick = (kind: string, title: string, cols: string[], n = options.top) => {
    const chosen = rows.filter((r) => r.kind === kind).slice(0, n);
    if (chosen.length === 0) return;
    console.error(`\n${title} (${options.tabs} tabs, load ${meta.load1Start}→${meta.load1End}):`);
    printTable(chosen, cols);
  };
  const cpu = '% of one core per tab';
  pick('renderer', `renderer processes, ${cpu} (profiled: with the sampling profiler running)`, ['profiled', 'pctPerTab', 'seconds']);
  pick('os-thread', `renderer threads by name (/proc), ${cpu}`, ['thread', 'pctPerTab']);
  pick('thread', `JavaScript threads, sampled, ${cpu}`, ['thread', 'pctPerTab']);
  pick('file', `self time by source file, ${cpu}`, ['file', 'pctPerTab']);
  pick('function', `self time by function, ${cpu}`, ['thread', 'fn', 'file', 'pctPerTab']);
  pick('frames', 'frames received (and snapshots) per second', ['type', 'perTabPerS', 'perLinkEndPerS'], 100);
}

async function main(): Promise<void> {
  const options = parseIdleArgs(process.argv.slice(2));
  if (typeof options === 'string') throw new Error(options);
  // The production build, unminified and with source maps, in a directory of this run's own.
  await withRunDir('bench-idle', async (dir) => profile(options, await buildForBench(dir, { readable: true })));
}

async function profile(options: Options, distDir: string): Promise<void> {
  const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: distDir });
  const { url } = await server.listen();
  const browser = await chromium.launch({ executablePath: findChromium((l) => console.error(l)), headless: true, args: chromiumArgs });
  const load1Start = os.loadavg()[0] as number;
  try {
    const room = `idle-${Date.now().toString(36)}`;
    const pages = await openTabsInOwnContexts(
      browser,
      options.tabs,
      () => `${url}?room=${room}`,
      [],
      (page) => page.on('pageerror', (error) => console.error(`[page error] ${error.message}`)),
    );
    const formed = async () => {
      const s = await Promise.all(pages.map(snapshotOf));
      return s.every((x) => x !== null) && meshIsWhole(s as NodeSnapshot[]) ? true : undefined;
    };
    const openedAt = performance.now();
    await waitFor(formed, `${options.tabs} tabs form a mesh`, formTimeoutMs, 250);
    const formedS = +((performance.now() - openedAt) / 1000).toFixed(2);
    console.error(`bench:idle: ${options.tabs} tabs formed a mesh in ${formedS} s (after the pages loaded)`);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    if (options.burst > 0) {
      await burst(pages, options.burst);
      await new Promise((resolve) => setTimeout(resolve, afterBurstMs));
    }
    const plain = await plainWindow(browser, pages.length, options.windowS);
    const rows = [...plain, ...(await cpuWindow(browser, pages, options.windowS, new SourceLocator(distDir)))];
    const meta: Row = {
      bench: 'idle',
      tabs: options.tabs,
      burst: options.burst,
      load1Start: +load1Start.toFixed(2),
      load1End: +(os.loadavg()[0] as number).toFixed(2),
    };
    report(rows, options, meta);
  } finally {
    await browser.close().catch(() => {});
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
