// Consensus figures in real tabs, for `npm run bench:peers` (measure.ts calls measureConsensus)
// and on their own (`npx tsx bench/peers/consensus-measure.ts [--tabs 4] [--baseline DIR]
// [--rounds 1]`, which opens the tabs, waits for consensus and prints JSON lines and tables):
//  - commit latency: `propose()` from a backup, one at a time, p50/p95 as the page sees it;
//  - where that time goes: the stages the client and the primary record
//    (snapshot().consensus.proposals.timing, src/worker/services/pbft-timing.ts), the page⇄worker
//    hops (the page's time less the worker's), IndexedDB writes, signing and verifying;
//  - throughput: every tab keeps `maxOpenPerTab` proposals open for a fixed window; committed
//    operations per second over all tabs.
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { NodeSnapshot } from '../../src/mesh-node.ts';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { chromiumArgs, findChromium } from '../../test/e2e/find-chromium.ts';
import { buildCheckout, withRunDir } from '../browser/builds.ts';
import { openTabsInOwnContexts, snapshotOf, waitFor } from '../browser/launch.ts';
import { emitRow, percentile } from '../report.ts';
import { tabmeshSystem } from './systems.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Proposals timed one at a time. */
export const latencyProposals = 30;
/** Proposals each tab keeps open under load (the service's window, maxOpenProposals). */
const maxOpenPerTab = 256;
/** The throughput window. */
const loadWindowMs = 5_000;
/** Replicas agreeing takes longer in bigger rooms on a loaded machine. */
const readyTimeoutMs = (tabs: number) => Math.max(90_000, 10_000 * tabs);
/** A proposal not committed in this long ends the figure: a room that cannot commit must not hang the run. */
const proposalTimeoutMs = 30_000;

export interface ConsensusFigures {
  p50Ms: number | null;
  p95Ms: number | null;
  opsPerS: number | null;
  failedUnderLoad: number;
  /** Stage → mean ms (null where the build records no timing: a baseline). */
  breakdown: Record<string, number | null>;
}

type Stage = { n: number; meanMs: number | null; p50Ms: number | null };
type Timing = Record<string, Stage> | undefined;

/** Waits until every tab is a replica of one settled genesis; the primary's id and every tab's id. */
async function ready(pages: readonly Page[]): Promise<{ primary: string | null; ids: string[] }> {
  return waitFor(
    async () => {
      const snaps = await Promise.all(pages.map(snapshotOf));
      if (snaps.some((s) => s === null)) return undefined;
      const all = (snaps as NodeSnapshot[])
        .map((s) => s.id)
        .sort()
        .join();
      const ok = (snaps as NodeSnapshot[]).every(
        (s) => s.consensus.status === 'replica' && s.consensus.genesis?.settled === true && [...s.consensus.replicas].sort().join() === all,
      );
      return ok ? { primary: snaps[0]?.consensus.primary ?? null, ids: (snaps as NodeSnapshot[]).map((s) => s.id) } : undefined;
    },
    `all ${pages.length} tabs are replicas under a settled genesis`,
    readyTimeoutMs(pages.length),
    250,
  );
}

const timingOf = async (page: Page): Promise<Timing> => (await snapshotOf(page))?.consensus.proposals.timing;

const storageWriteP50 = async (page: Page): Promise<number | null> => (await snapshotOf(page))?.consensus.storage.writeMs.p50 ?? null;

/** One at a time from a backup: the page's latencies, and the worker's own figure for the same proposals. */
async function latencies(client: Page, n: number): Promise<{ page: number[]; workerP50: number | null }> {
  const outcome = await client.evaluate(
    async ([count, timeoutMs]) => {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
        const result = await Promise.race([window.tabmesh.propose(`bench:consensus ${i}`), late]).finally(() => clearTimeout(timer));
        if (result === 'late') return { out, late: i };
        out.push(performance.now() - t0);
      }
      return { out, late: null };
    },
    [n, proposalTimeoutMs] as const,
  );
  if (outcome.late !== null) throw new Error(`proposal ${outcome.late + 1} of ${n} not committed within ${proposalTimeoutMs / 1000} s`);
  const page = outcome.out;
  const workerP50 = (await snapshotOf(client))?.consensus.proposals.latencyMs.p50 ?? null;
  return { page, workerP50 };
}

/** Every tab keeps `open` proposals in flight for `windowMs`; committed ops/s over all tabs. */
export async function throughput(pages: readonly Page[], open = maxOpenPerTab, windowMs = loadWindowMs): Promise<{ opsPerS: number; failed: number }> {
  const t0 = performance.now();
  const results = await Promise.all(
    pages.map((p) =>
      p.evaluate(
        async ([concurrency, ms]) => {
          const until = performance.now() + ms;
          let committed = 0;
          let failed = 0;
          let n = 0;
          const loop = async () => {
            while (performance.now() < until) {
              try {
                await window.tabmesh.propose(`bench load ${n++}`);
                committed++;
              } catch {
                failed++;
              }
            }
          };
          await Promise.all(Array.from({ length: concurrency }, loop));
          return { committed, failed };
        },
        [open, windowMs] as const,
      ),
    ),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  return { opsPerS: results.reduce((s, r) => s + r.committed, 0) / elapsedS, failed: results.reduce((s, r) => s + r.failed, 0) };
}

/** Latency (one at a time, from a backup), where it goes, then throughput. */
export async function measureConsensus(pages: readonly Page[], options: { withThroughput: boolean }): Promise<ConsensusFigures> {
  const { primary, ids } = await ready(pages);
  const clientIndex = Math.max(
    0,
    ids.findIndex((id) => id !== primary),
  );
  const client = pages[clientIndex] as Page;
  const primaryPage = pages[Math.max(0, ids.indexOf(primary ?? ''))] as Page;
  const { page, workerP50 } = await latencies(client, latencyProposals);
  const p50 = percentile(page, 50);
  const clientTiming = await timingOf(client);
  const primaryTiming = await timingOf(primaryPage);
  const mean = (t: Timing, stage: string) => t?.[stage]?.meanMs ?? null;
  const breakdown: Record<string, number | null> = {
    pageWorkerHops: p50 !== null && workerP50 !== null ? Math.max(0, p50 - workerP50) : null,
    submitToRequestSent: mean(clientTiming, 'submitToRequestSent'),
    requestToPrePrepare: mean(clientTiming, 'requestSentToPrePrepareReceived'),
    primaryTurn: mean(primaryTiming, 'primaryRequestToPrePrepareSent'),
    prePrepareToPrepareSent: mean(clientTiming, 'prePrepareReceivedToPrepareSent'),
    prepareToCommitSent: mean(clientTiming, 'prepareSentToCommitSent'),
    commitToQuorum: mean(clientTiming, 'commitSentToQuorum'),
    quorumToResult: mean(clientTiming, 'quorumToResult'),
    signMs: mean(clientTiming, 'sign'),
    verifyMs: mean(clientTiming, 'verify'),
    idbWriteP50Ms: await storageWriteP50(client),
  };
  const load = options.withThroughput ? await throughput(pages) : null;
  return { p50Ms: p50, p95Ms: percentile(page, 95), opsPerS: load?.opsPerS ?? null, failedUnderLoad: load?.failed ?? 0, breakdown };
}

// ── on its own ──────────────────────────────────────────────────────────────────────────

interface Options {
  tabs: number;
  rounds: number;
  baseline: string | null;
}

function parseArgs(argv: readonly string[]): Options | string {
  const options: Options = { tabs: 4, rounds: 1, baseline: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--tabs' && Number.isInteger(Number(value)) && Number(value) >= 2 && Number(value) <= 16) options.tabs = Number(value);
    else if (arg === '--rounds' && Number.isInteger(Number(value)) && Number(value) >= 1 && Number(value) <= 10) options.rounds = Number(value);
    else if (arg === '--baseline' && value) options.baseline = value;
    else return `unknown or bad option ${arg} ${value ?? ''} (--tabs 2…16, --rounds 1…10, --baseline DIR)`;
    i++;
  }
  return options;
}

async function oneRound(browser: Browser, url: string, tabs: number, room: string): Promise<ConsensusFigures> {
  const system = tabmeshSystem('tabmesh', url);
  const contexts: BrowserContext[] = [];
  try {
    const pages = await openTabsInOwnContexts(browser, tabs, () => system.pageUrl(room), contexts);
    await waitFor(async () => ((await system.formed(pages)) ? true : undefined), 'the mesh forms', readyTimeoutMs(pages.length), 100);
    return await measureConsensus(pages, { withThroughput: true });
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  }
}

const log = (line: string) => console.error(`bench consensus: ${line}`);

/** Builds this checkout (and the baseline) into a directory of this run's own, removed at the end, and runs the rounds. */
function main(options: Options): Promise<void> {
  return withRunDir('bench-consensus', async (dir) => {
    const builds = [{ name: 'tabmesh', dir: await buildCheckout(repoRoot, join(dir, 'tabmesh')) }];
    if (options.baseline) builds.push({ name: 'baseline', dir: await buildCheckout(options.baseline, join(dir, 'baseline')) });
    await runRounds(options, builds);
  });
}

async function runRounds(options: Options, builds: ReadonlyArray<{ name: string; dir: string }>): Promise<void> {
  const servers: TabmeshServer[] = [];
  const browser = await chromium.launch({ executablePath: findChromium(log), headless: true, args: chromiumArgs });
  try {
    const urls: Array<{ name: string; url: string }> = [];
    for (const b of builds) {
      const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: b.dir });
      servers.push(server);
      urls.push({ name: b.name, url: (await server.listen()).url });
    }
    const out = fileURLToPath(new URL('../results/consensus.jsonl', import.meta.url));
    for (let round = 0; round < options.rounds; round++) {
      const order = urls.map((_, i) => urls[(i + round) % urls.length] as (typeof urls)[number]);
      for (const { name, url } of order) {
        const load1 = os.loadavg()[0] ?? 0;
        log(`round ${round + 1}, ${name}, ${options.tabs} tabs (load ${load1.toFixed(1)})`);
        const f = await oneRound(browser, url, options.tabs, `consensus-${process.pid}-${round}-${name}`);
        const row = {
          bench: 'consensus',
          system: name,
          tabs: options.tabs,
          round,
          load1: Number(load1.toFixed(2)),
          loadEnd: Number((os.loadavg()[0] ?? 0).toFixed(2)),
        };
        const figures = { p50Ms: f.p50Ms, p95Ms: f.p95Ms, opsPerS: f.opsPerS === null ? null : Math.round(f.opsPerS), failedUnderLoad: f.failedUnderLoad };
        const round2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
        emitRow({ ...row, ...figures, ...Object.fromEntries(Object.entries(f.breakdown).map(([k, v]) => [k, round2(v)])), at: new Date().toISOString() }, out);
      }
    }
  } finally {
    await browser.close().catch(() => {});
    await Promise.all(servers.map((s) => s.close().catch(() => {})));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    console.error(`bench consensus: ${parsed}`);
    process.exit(2);
  }
  main(parsed).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`bench consensus: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
