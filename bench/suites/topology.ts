// `npm run bench -- topology [--quick] [--seeds K] [--n 16,64] [--detect-ms 1000] [--rest-s 300]
//  [--join-ms 50] [--out FILE]` (20 seeds per N by default).
// At 10,000 nodes: `node --expose-gc --import tsx bench/main.ts topology --n 10000 --seeds 1`
// (with --expose-gc the heap after a full GC, divided by N, is reported as memory per node).
// Above 2,048 nodes the diameter is sampled: the largest eccentricity found by BFS from 16
// random nodes and from the farthest node each of them found (a double sweep), a lower bound
// that is the true diameter in practice on graphs like these; clustering is not computed.
//
// The self-healing overlay at scale (issue 4, item 6), on the lean overlay simulator
// (test/core/overlay/fast-mesh.ts: the real overlay core, links that open 50–100 ms after a
// dial, FIFO frames with 10–50 ms latency, crashes noticed after `detect-ms` ± 50 %).
// For each N, per seed:
//   1. N nodes join in random order, one every 50 ms, each told of up to 8 random nodes already
//      there (what the signaling server's join answer gives);
//   2. once every degree is in [3, 5] and the mesh is one component, 30 s more at rest, then the
//      degrees, diameter and clustering of the true link graph are measured;
//   3. overlay frames sent over one advert-refresh period at rest (300 s) give msgs/node/s
//      (the link layer's own keepalives are not the overlay's and are not counted; frames sent
//      while healing are reported separately, per surviving node);
//   4. 20 % of the nodes crash at once; healing time = until the survivors are one component
//      with every degree back in [3, 5] (checked every 50 ms; 60 s budget, "not healed" if missed).
// One JSON line per N: degree range and diameter are the worst over seeds, clustering and
// msgs/node/s the mean, healing p50 and max. Targets: degrees in [3, 5] at rest,
// diameter ≤ ⌈log₂ N⌉, healing p50 ≤ 5 s.
import type { BenchArgs } from '../main.ts';
import { emitRow, judgeTargets, machine, percentile, printTable, type Row, type Target } from '../report.ts';
import { FastMesh } from '../../test/core/overlay/fast-mesh.ts';
import { computeMetrics, hopDistances } from '../../src/core/graph/index.ts';
import type { Rng } from '../../src/core/rng.ts';
import { advertRefreshMs, defaultOverlayConfig } from '../../src/core/overlay/config.ts';
import type { NodeId } from '../../src/core/types.ts';
import { numberFlag, numberListFlag } from '../flags.ts';

const joinSpacingMs = 50;
const joinSampleSize = 8;
const settleBudgetMs = 120_000;
const restMs = 30_000;
const crashShare = 0.2;
const healBudgetMs = 60_000;
const healCheckMs = 50;

interface SeedResult {
  settled: boolean;
  degreeMin: number;
  degreeMax: number;
  diameter: number;
  clustering: number;
  msgsPerNodePerS: number;
  healMs: number | null;
  /** Overlay frames per surviving node from the crash until healed (or the budget ran out). */
  healMsgsPerNode: number;
}

/** Above this many nodes the diameter is sampled (see the top comment). */
const exactMetricsMaxNodes = 2_048;
const diameterSamples = 16;

interface PhaseFigures {
  /** Overlay frames per node per simulated second while nodes joined and the mesh settled. */
  formingMsgsPerNodePerS: number;
  /** Heap used after a full GC, per node, bytes (null without --expose-gc). */
  heapBytesPerNode: number | null;
  /** Simulated seconds per wall second over the whole run. */
  simSPerWallS: number;
  /** Simulated seconds per CPU second of this process (user + system) over the whole run. */
  simSPerCpuS: number;
}

/** Joins between progress lines, so a long run shows where it is and what it holds. */
const progressEveryJoins = 1_000;

function runSeed(n: number, seed: number, detectMs: number, rateWindowMs: number, joinMs: number): SeedResult & PhaseFigures {
  const { minLinks, maxLinks } = defaultOverlayConfig;
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const heapBefore = heapAfterGc();
  const mesh = new FastMesh({ seed: seed * 7919 + n, detectMs });
  const order = mesh.rng.shuffle(Array.from({ length: n }, (_, i) => `n${i}`));
  const up: NodeId[] = [];
  const progress = (what: string): void =>
    console.error(
      `topology n=${n} seed ${seed}: ${what} at ${(mesh.now / 1000).toFixed(1)} sim s, ${((performance.now() - wallStart) / 1000).toFixed(0)} wall s`,
    );
  for (const name of order) {
    const sample = Array.from({ length: Math.min(joinSampleSize, up.length) }, () => mesh.rng.pick(up) as NodeId);
    up.push(mesh.add(name, [...new Set(sample)]));
    mesh.runFor(joinMs);
    if (up.length % progressEveryJoins === 0 && up.length < n) {
      const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
      const { heapUsed, rss } = process.memoryUsage();
      progress(`${up.length} joined, ${mesh.queuedEvents} events queued, ${mesh.framesSent} frames, heap ${mb(heapUsed)} MiB, rss ${mb(rss)} MiB`);
    }
  }
  progress('all joined');
  const settled = mesh.runUntil(() => mesh.healthy(minLinks, maxLinks) === true, settleBudgetMs, 100) !== null;
  const formingMsgsPerNodePerS = mesh.framesSent / n / (mesh.now / 1000);
  progress(`${settled ? 'settled' : 'NOT settled'} (${formingMsgsPerNodePerS.toFixed(1)} msgs/node/s while forming)`);
  mesh.runFor(restMs);
  const heapAfter = heapAfterGc();
  const heapBytesPerNode = heapBefore === null || heapAfter === null ? null : (heapAfter - heapBefore) / n;
  progress(`at rest, heap ${heapBytesPerNode === null ? '?' : (heapBytesPerNode / 1024).toFixed(1)} KiB/node`);
  const rest = restMetrics(mesh.graph(), mesh.rng);
  const framesBefore = mesh.framesSent;
  mesh.runFor(rateWindowMs);
  const msgsPerNodePerS = (mesh.framesSent - framesBefore) / n / (rateWindowMs / 1000);
  // The resting figures now, so a run stopped while healing (10,000 nodes) still reports them.
  progress(
    `at rest: degrees ${rest.minDegree}–${rest.maxDegree}, diameter ${rest.connected ? rest.diameter : 'split'}` +
      `${n > exactMetricsMaxNodes ? ' (sampled)' : ''}, ${msgsPerNodePerS.toFixed(2)} msgs/node/s; crashing 20 %`,
  );

  const victims = mesh.rng.shuffle(mesh.upIds()).slice(0, Math.round(n * crashShare)) as NodeId[];
  for (const v of victims) mesh.crash(v);
  const framesAtCrash = mesh.framesSent;
  const healMs = mesh.runUntil(() => mesh.healthy(minLinks, maxLinks) === true, healBudgetMs, healCheckMs);
  const healMsgsPerNode = (mesh.framesSent - framesAtCrash) / (n - victims.length);
  return {
    formingMsgsPerNodePerS,
    heapBytesPerNode,
    simSPerWallS: mesh.now / (performance.now() - wallStart),
    simSPerCpuS: mesh.now / 1000 / cpuSeconds(process.cpuUsage(cpuStart)),
    settled,
    degreeMin: rest.minDegree,
    degreeMax: rest.maxDegree,
    diameter: rest.connected ? rest.diameter : Infinity,
    clustering: rest.clustering,
    msgsPerNodePerS,
    healMs,
    healMsgsPerNode,
  };
}

export async function run(args: BenchArgs): Promise<void> {
  // --quick: 3 seeds (1 at 1,024 nodes, whose link-state floods make one seed take minutes).
  const seedsFor = (n: number): number => numberFlag(args.rest, '--seeds', args.quick ? (n >= 1024 ? 1 : 3) : 20, 1);
  const sizes = numberListFlag(args.rest, '--n', [16, 64, 256, 1024]);
  const detectMs = numberFlag(args.rest, '--detect-ms', 1_000);
  const rateWindowMs = numberFlag(args.rest, '--rest-s', advertRefreshMs / 1000) * 1000;
  const joinMs = numberFlag(args.rest, '--join-ms', joinSpacingMs);
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const n of sizes) {
    const seeds = seedsFor(n);
    const results: Array<SeedResult & PhaseFigures> = [];
    const started = performance.now();
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runSeed(n, seed, detectMs, rateWindowMs, joinMs);
      results.push(r);
      const heal = r.healMs === null ? 'not healed' : `healed ${(r.healMs / 1000).toFixed(2)} s`;
      console.error(
        `topology n=${n} seed ${seed}/${seeds}: degrees ${r.degreeMin}–${r.degreeMax}, diameter ${r.diameter}, ` +
          `${r.msgsPerNodePerS.toFixed(2)} msgs/node/s at rest, ${r.formingMsgsPerNodePerS.toFixed(2)} forming, ${heal}, ` +
          `${r.heapBytesPerNode === null ? '? ' : (r.heapBytesPerNode / 1024).toFixed(1)} KiB/node, ` +
          `${r.simSPerWallS.toFixed(2)} sim s/wall s (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    const healed = results.map((r) => r.healMs).filter((ms): ms is number => ms !== null);
    const diameterTarget = Math.ceil(Math.log2(n));
    const worstDiameter = Math.max(...results.map((r) => r.diameter));
    const healP50 = healed.length === results.length ? (percentile(healed, 50) as number) / 1000 : null;
    const row: Row = {
      suite: 'topology',
      n,
      seeds,
      settled: results.filter((r) => r.settled).length,
      degree_min: Math.min(...results.map((r) => r.degreeMin)),
      degree_max: Math.max(...results.map((r) => r.degreeMax)),
      diameter: Number.isFinite(worstDiameter) ? worstDiameter : null,
      diameter_target: diameterTarget,
      diameter_sampled: n > exactMetricsMaxNodes,
      clustering: n > exactMetricsMaxNodes ? null : round(mean(results.map((r) => r.clustering)), 4),
      msgs_per_node_per_s: round(mean(results.map((r) => r.msgsPerNodePerS)), 2),
      forming_msgs_per_node_per_s: round(mean(results.map((r) => r.formingMsgsPerNodePerS)), 2),
      heap_kib_per_node: results.every((r) => r.heapBytesPerNode !== null) ? round(mean(results.map((r) => r.heapBytesPerNode as number)) / 1024, 1) : null,
      sim_s_per_wall_s: round(mean(results.map((r) => r.simSPerWallS)), 2),
      sim_s_per_cpu_s: round(mean(results.map((r) => r.simSPerCpuS)), 2),
      heal_s_p50: healP50 === null ? null : round(healP50, 2),
      heal_s_max: healed.length === results.length ? round(Math.max(...healed) / 1000, 2) : null,
      healed: healed.length,
      heal_msgs_per_node: round(mean(results.map((r) => r.healMsgsPerNode)), 1),
      join_ms: joinMs,
      detect_ms: detectMs,
      rate_window_s: rateWindowMs / 1000,
      wall_s: round((performance.now() - started) / 1000, 1),
      cores: machine.cores,
      node: machine.node,
    };
    emitRow(row, args.out);
    rows.push(row);
    targets.push(
      { what: `n=${n} smallest degree at rest`, measured: row.degree_min as number, limit: 3, kind: 'min' },
      { what: `n=${n} largest degree at rest`, measured: row.degree_max as number, limit: 5, kind: 'max' },
      { what: `n=${n} diameter (worst seed)`, measured: row.diameter as number | null, limit: diameterTarget, kind: 'max' },
      { what: `n=${n} healing after 20 % crash, p50 s`, measured: row.heal_s_p50 as number | null, limit: 5, kind: 'max' },
    );
  }
  printTable(rows, [
    'n',
    'seeds',
    'degree_min',
    'degree_max',
    'diameter',
    'diameter_target',
    'clustering',
    'msgs_per_node_per_s',
    'forming_msgs_per_node_per_s',
    'heal_msgs_per_node',
    'heap_kib_per_node',
    'sim_s_per_wall_s',
    'sim_s_per_cpu_s',
    'heal_s_p50',
    'heal_s_max',
    'healed',
    'wall_s',
  ]);
  const missed = judgeTargets(targets);
  if (missed > 0) process.exitCode = 1;
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function heapAfterGc(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  return process.memoryUsage().heapUsed;
}

/** Degrees, diameter and clustering of the true graph; the diameter sampled above exactMetricsMaxNodes. */
function restMetrics(
  graph: Map<NodeId, Set<NodeId>>,
  rng: Rng,
): { minDegree: number; maxDegree: number; diameter: number; connected: boolean; clustering: number } {
  if (graph.size <= exactMetricsMaxNodes) return computeMetrics(graph);
  const degrees = [...graph.values()].map((p) => p.size);
  const ids = [...graph.keys()];
  let diameter = 0;
  let connected = true;
  for (let i = 0; i < diameterSamples; i++) {
    const first = hopDistances(graph, rng.pick(ids) as NodeId);
    if (first.size < graph.size) connected = false;
    let far = ids[0] as NodeId;
    for (const [id, d] of first) if (d > (first.get(far) ?? -1)) far = id;
    for (const d of hopDistances(graph, far).values()) diameter = Math.max(diameter, d);
  }
  return { minDegree: Math.min(...degrees), maxDegree: Math.max(...degrees), diameter, connected, clustering: 0 };
}

function mean(values: number[]): number {
  return values.reduce((s, x) => s + x, 0) / Math.max(1, values.length);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
