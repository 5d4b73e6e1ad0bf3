// `npm run bench:browser -- [--tabs N] [--quick] [--out FILE]`
// The mesh measured in real tabs against the bare WebRTC floor, in one run: builds the app with
// Vite (always fresh, into a directory of this run's own under the temp directory, removed at the end), starts our server and two
// headless Chromium processes, opens N tabs split over them, drives them through window.tabmesh,
// and prints one JSON line on stdout (also appended to the results file) and a table with every
// target judged MET or MISSED on stderr. A figure that could not be measured is null.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { defaultGossipConfig } from '../../src/core/gossip/config.ts';
import { emitRow, judgeTargets, printTable, type Row } from '../report.ts';
import { measureHeap, measureIdleCpu } from './cost-measure.ts';
import { measureFloor } from './floor-measure.ts';
import { buildForBench, withRunDir } from './builds.ts';
import { startRig } from './launch.ts';
import { closeQuarterAndHeal, openMesh } from './mesh-measure.ts';
import { benchGossipCycleMs, measureCompute, measureConsensus, measureGossipSpread, setGossipCycle } from './protocol-measure.ts';

/** Where results go unless --out says otherwise: one JSON line per run, appended. */
const defaultOut = fileURLToPath(new URL('../results/browser.jsonl', import.meta.url));
/** Tabs are real Chromium renderers: more than this on one machine measures the machine, not us. */
const maxTabs = 16;

interface Options {
  tabs: number;
  quick: boolean;
  out: string;
}

export function parseArgs(argv: readonly string[]): Options | string {
  const options: Options = { tabs: 4, quick: false, out: defaultOut };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--tabs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 2 || n > maxTabs) return `--tabs needs a whole number from 2 to ${maxTabs}`;
      options.tabs = n;
    } else if (arg === '--out') {
      const out = argv[++i];
      if (!out) return '--out needs a file name';
      options.out = out;
    } else return `unknown option ${arg}`;
  }
  return options;
}

const round = (x: number | null, digits: number): number | null => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

/** Runs one measurement; if it throws, says why and gives `fallback` (null figures), so the others still run. */
async function attempt<T>(what: string, measure: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await measure();
  } catch (error) {
    console.error(`bench:browser: ${what} not measured: ${error instanceof Error ? error.message : String(error)}`);
    return fallback;
  }
}

const log = (line: string) => console.error(`bench:browser: ${line}`);

/** Builds the app into a directory of this run's own, measures, and removes the build. */
function main(options: Options): Promise<void> {
  return withRunDir('bench-browser', async (dir) => {
    log(`building the app with Vite…`);
    await measure(options, await buildForBench(dir));
  });
}

async function measure(options: Options, dist: string): Promise<void> {
  const { tabs: n, quick } = options;
  const rig = await startRig(dist);
  // Other work on the machine skews every wall-clock figure: the row says how busy it was.
  const loadAtStart = os.loadavg()[0] ?? null;
  const room = `bench-${process.pid}-${Date.now().toString(36)}`;
  try {
    log(`Chromium ${rig.chromium}, ${os.cpus().length} cores; floor…`);
    const floor = await attempt('floor', () => measureFloor(rig, quick), null);
    log(`floor: RTT ${floor?.rttMs.toFixed(3) ?? '—'} ms, ${floor?.mbPerS.toFixed(1) ?? '—'} MB/s; opening ${n} tabs…`);
    const mesh = await openMesh(rig, n, room);
    log(`mesh formed in ${mesh.formedS?.toFixed(2) ?? '—'} s; gossip…`);
    const gossipCycleMs = await attempt('gossip cycle', () => setGossipCycle(mesh.tabs, benchGossipCycleMs), null);
    const gossipMs = await attempt('gossip', () => measureGossipSpread(mesh.tabs, quick ? 2 : 10), null);
    // Back to the default cycle: every other figure (idle CPU above all) is for the mesh as shipped.
    if (gossipCycleMs !== null) await attempt('gossip cycle', () => setGossipCycle(mesh.tabs, defaultGossipConfig.cycleMs), null);
    log('consensus…');
    const consensus = await attempt('consensus', () => measureConsensus(mesh.tabs, quick), {
      p50Ms: null,
      p99Ms: null,
      opsPerS: null,
      failedUnderLoad: 0,
      viewChangesUnderLoad: null,
    });
    log('compute…');
    const compute = await attempt('compute', () => measureCompute(rig, mesh.tabs, room, quick), { oneTabMs: null, allTabsMs: null, speedup: null });
    log('cost (heap, idle CPU)…');
    const heap = await attempt('heap', () => measureHeap(mesh.tabs), { mbPerTab: null, workersPerTab: 0 });
    const idleCpu = await attempt('idle CPU', () => measureIdleCpu(rig, mesh.tabs, quick ? 2_000 : 10_000), {
      pctPerTab: null,
      tailPctPerTab: null,
      mainThreadBusyPctPerTab: null,
    });
    log('closing a quarter of the tabs…');
    const heal = await attempt('heal', () => closeQuarterAndHeal(mesh.tabs), { survivors: [], healS: null });

    const floorOneWay = floor ? floor.rttMs / 2 : null;
    const row: Row = {
      suite: 'browser',
      tabs: n,
      cores: os.cpus().length,
      chromium: rig.chromium,
      quick,
      floor_rtt_ms: round(floor?.rttMs ?? null, 3),
      floor_mb_per_s: round(floor?.mbPerS ?? null, 1),
      mesh_formed_s: round(mesh.formedS, 2),
      heal_s: round(heal.healS, 2),
      gossip_spread_ms: round(gossipMs, 0),
      // The cycle in force in every tab while the spread was measured (null: the tabs disagreed).
      gossip_cycle_ms: gossipCycleMs,
      commit_p50_ms: round(consensus.p50Ms, 2),
      commit_p99_ms: round(consensus.p99Ms, 2),
      ops_per_s: round(consensus.opsPerS, 0),
      failed_under_load: consensus.failedUnderLoad,
      view_changes_under_load: consensus.viewChangesUnderLoad,
      latency_over_floor: round(consensus.p50Ms !== null && floorOneWay ? consensus.p50Ms / floorOneWay : null, 1),
      compute_one_tab_s: round(compute.oneTabMs === null ? null : compute.oneTabMs / 1000, 2),
      compute_all_tabs_s: round(compute.allTabsMs === null ? null : compute.allTabsMs / 1000, 2),
      compute_speedup: round(compute.speedup, 2),
      heap_mb_per_tab: round(heap.mbPerTab, 1),
      heap_workers_per_tab: round(heap.workersPerTab, 1),
      idle_cpu_pct_per_tab: round(idleCpu.pctPerTab, 2),
      // The same 5 s after the load drained, in its tail (cost-measure.ts steadyAfterQuietMs).
      idle_cpu_tail_pct_per_tab: round(idleCpu.tailPctPerTab, 2),
      // Wall time in main-thread tasks: above the CPU figure when the machine is contended.
      idle_main_busy_pct_per_tab: round(idleCpu.mainThreadBusyPctPerTab, 2),
      load_avg_1m_start: round(loadAtStart, 2),
      load_avg_1m_end: round(os.loadavg()[0] ?? null, 2),
      node: process.version,
      at: new Date().toISOString(),
    };
    emitRow(row, options.out);
    const { suite: _suite, at: _at, node: _node, ...shown } = row;
    printTable(Object.entries(shown).map(([figure, value]) => ({ figure, value })));
    console.error('');
    if (n !== 4) console.error(`(targets are set for 4 tabs; this run has ${n})`);
    judgeTargets([
      { what: 'consensus commit p50, ms', measured: row['commit_p50_ms'] as number | null, limit: 20, kind: 'max' },
      { what: 'committed ops/s with batching', measured: row['ops_per_s'] as number | null, limit: 5_000, kind: 'min' },
      {
        what: `memory write at every tab, ms (gossip cycle ${gossipCycleMs ?? 'not set'} ms)`,
        // The target holds for a 250 ms cycle: a spread measured under another cycle does not count.
        measured: gossipCycleMs === benchGossipCycleMs ? (row['gossip_spread_ms'] as number | null) : null,
        limit: 1_000,
        kind: 'max',
      },
      { what: 'mesh formed, s', measured: row['mesh_formed_s'] as number | null, limit: 3, kind: 'max' },
      { what: 'idle CPU per tab, % of a core', measured: row['idle_cpu_pct_per_tab'] as number | null, limit: 2, kind: 'max' },
    ]);
  } finally {
    await rig.close();
  }
}

const parsed = parseArgs(process.argv.slice(2));
if (typeof parsed === 'string') {
  console.error(`error: ${parsed}\nusage: npm run bench:browser -- [--tabs N] [--quick] [--out FILE]`);
  process.exit(2);
}
await main(parsed).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:browser failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
