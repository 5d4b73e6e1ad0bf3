// Gossip, consensus and compute figures, driven through window.tabmesh in real tabs.
import type { Page } from 'playwright-core';
import type { JobSnapshot } from '../../src/worker/services/steal-snapshot.ts';
import { percentile } from '../report.ts';
import { openPage, snapshotOf, waitFor, type BenchRig } from './launch.ts';
import type { Tab } from './mesh-measure.ts';
import { throughput } from '../peers/consensus-measure.ts';

/** A write not seen everywhere by then counts as not spread (the figure becomes null). */
const spreadTimeoutMs = 30_000;
/** How long the replicas may take to agree on a genesis and on all N being replicas. */
const consensusReadyTimeoutMs = 90_000;
/** Proposals each tab keeps open under load: the service's window (maxOpenProposals, 256), less a little room. */
const loadConcurrencyPerTab = 240;
/** The longest a compute job may run before the figure is given up. */
const jobTimeoutMs = 300_000;

/** The cycle the gossip target is set for. */
export const benchGossipCycleMs = 250;

/**
 * Sets the gossip cycle in every tab (window.tabmesh.setSettings, live) and returns the cycle in
 * force everywhere, or null when the tabs could not agree on one (then the figure says so).
 */
export async function setGossipCycle(tabs: readonly Tab[], cycleMs: number): Promise<number | null> {
  const inForce = await Promise.all(
    tabs.map((t) =>
      t.page
        .evaluate(async (ms) => {
          if (typeof window.tabmesh.setSettings !== 'function') return null;
          return (await window.tabmesh.setSettings({ gossipCycleMs: ms })).gossipCycleMs;
        }, cycleMs)
        .catch((error: unknown) => {
          console.error(`gossip: setSettings refused: ${error instanceof Error ? error.message : String(error)}`);
          return null;
        }),
    ),
  );
  const [first] = inForce;
  return first !== undefined && first !== null && inForce.every((c) => c === first) ? first : null;
}

/**
 * Writes a key in the first tab and times until every tab's snapshot shows it (the tabs share
 * one machine's clock). Median over `rounds` writes, in ms.
 */
export async function measureGossipSpread(tabs: readonly Tab[], rounds: number): Promise<number | null> {
  const [writer] = tabs;
  if (!writer) return null;
  const spreads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const key = `bench/spread/${round}`;
    const seen = tabs.slice(1).map((t) =>
      t.page
        .evaluate(
          ([k, timeout]) =>
            new Promise<number | null>((resolve) => {
              const until = Date.now() + timeout;
              const look = () => {
                if (window.tabmesh.snapshot()?.memory[k] !== undefined) return resolve(Date.now());
                if (Date.now() > until) return resolve(null);
                setTimeout(look, 2);
              };
              look();
            }),
          [key, spreadTimeoutMs] as const,
        )
        // A page that went away saw nothing (and must not leave a rejection unhandled).
        .catch(() => null),
    );
    // Each watcher has started once a later evaluate in its page has run.
    await Promise.all(tabs.slice(1).map((t) => t.page.evaluate(() => true)));
    const writtenAt = await writer.page.evaluate(async (k) => {
      const at = Date.now();
      await window.tabmesh.setMemory(k, { at });
      return at;
    }, key);
    const times = await Promise.all(seen);
    if (times.some((t) => t === null)) return null;
    spreads.push(Math.max(0, ...(times as number[]).map((t) => t - writtenAt)));
  }
  return percentile(spreads, 50);
}

export interface ConsensusFigures {
  p50Ms: number | null;
  p99Ms: number | null;
  opsPerS: number | null;
  failedUnderLoad: number;
  /** View changes a replica completed during the load window (a sign of timeouts under load). */
  viewChangesUnderLoad: number | null;
}

export async function measureConsensus(tabs: readonly Tab[], quick: boolean): Promise<ConsensusFigures> {
  const none: ConsensusFigures = { p50Ms: null, p99Ms: null, opsPerS: null, failedUnderLoad: 0, viewChangesUnderLoad: null };
  const all = tabs
    .map((t) => t.id)
    .sort()
    .join();
  let primary: string | null = null;
  try {
    await waitFor(
      async () => {
        const snapshots = await Promise.all(tabs.map((t) => snapshotOf(t.page)));
        const ready = snapshots.every(
          (s) => s !== null && s.consensus.status === 'replica' && s.consensus.genesis?.settled === true && [...s.consensus.replicas].sort().join() === all,
        );
        if (ready) primary = snapshots[0]?.consensus.primary ?? null;
        return ready ? true : undefined;
      },
      `all ${tabs.length} tabs are replicas under a settled genesis`,
      consensusReadyTimeoutMs,
      200,
    );
  } catch (error) {
    console.error(`consensus: ${error instanceof Error ? error.message : String(error)}`);
    return none;
  }
  // Low load: one proposal at a time from a backup (a client that is not the primary).
  const client = (tabs.find((t) => t.id !== primary) ?? tabs[0]) as Tab;
  const latencies = await client.page.evaluate(
    async (n) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await window.tabmesh.propose(`bench low-load ${i}`);
        out.push(performance.now() - t0);
      }
      return out;
    },
    quick ? 20 : 200,
  );
  // Under load: every tab keeps many proposals open for a fixed window; the replicas batch them.
  const windowMs = quick ? 2_000 : 10_000;
  const viewChanges = async () => (await snapshotOf(client.page))?.consensus.viewChanges ?? null;
  const viewChangesBefore = await viewChanges();
  const load = await throughput(
    tabs.map((t) => t.page),
    loadConcurrencyPerTab,
    windowMs,
  );
  const viewChangesAfter = await viewChanges();
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    opsPerS: load.opsPerS,
    failedUnderLoad: load.failed,
    viewChangesUnderLoad: viewChangesBefore !== null && viewChangesAfter !== null ? viewChangesAfter - viewChangesBefore : null,
  };
}

/** Submits a primes job in `home` and waits until it is done: its run time from the home's own record, ms. */
async function runPrimes(home: Page, to: number, chunks: number): Promise<number | null> {
  const id = await home.evaluate((job) => window.tabmesh.submitJob(job), { kind: 'primes', params: { from: 0, to }, chunks });
  try {
    const job = await waitFor(
      async () => {
        const found = (await snapshotOf(home))?.jobs.find((j) => j.id === id && j.mine);
        if (found && (found.status === 'failed' || found.status === 'cancelled')) throw new Error(`the primes job ${found.status}: ${found.error}`);
        return found?.status === 'done' ? found : undefined;
      },
      `the primes job up to ${to} finishes`,
      jobTimeoutMs,
      100,
    );
    return timeOf(job);
  } catch (error) {
    console.error(`compute: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

const timeOf = (job: JobSnapshot): number | null => (job.createdAt !== null && job.finishedAt !== null ? job.finishedAt - job.createdAt : null);

export interface ComputeFigures {
  oneTabMs: number | null;
  allTabsMs: number | null;
  speedup: number | null;
}

/** The same primes job on one tab alone (its own room) and on the N-tab mesh. */
export async function measureCompute(rig: BenchRig, tabs: readonly Tab[], room: string, quick: boolean): Promise<ComputeFigures> {
  const to = quick ? 20_000_000 : 400_000_000;
  const chunks = quick ? 8 : 32;
  const solo = await openPage(rig.users[0] as NonNullable<(typeof rig.users)[0]>, `${rig.url}?room=${encodeURIComponent(`${room}-solo`)}`);
  let oneTabMs: number | null;
  try {
    await waitFor(async () => ((await snapshotOf(solo))?.signaling === 'joined' ? true : undefined), 'the solo tab joined', 30_000);
    oneTabMs = await runPrimes(solo, to, chunks);
  } finally {
    await solo.close();
  }
  const allTabsMs = await runPrimes((tabs[0] as Tab).page, to, chunks);
  return { oneTabMs, allTabsMs, speedup: oneTabMs !== null && allTabsMs !== null && allTabsMs > 0 ? oneTabMs / allTabsMs : null };
}
