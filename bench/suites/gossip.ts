// `npm run bench -- gossip [--quick] [--seeds K] [--fd-seeds K] [--fd-minutes M] [--n 16,64]`
// `node --expose-gc --import tsx bench/main.ts gossip --scale 10000 [--seeds 1]`
//
// The gossip core on the deterministic simulator (one process, virtual time, default network:
// 10–50 ms one-way latency), for N ∈ {16, 64, 256, 1024}, 20 seeds each. Per seed:
//  1. spread: a settled cluster (fanout 3, 2 s cycle, 1 s probe period); one random node
//     writes a key; rounds = ⌈time until every live node holds it ÷ cycle⌉;
//  2. detection: a random node crashes; time until every live node holds it dead;
//  3. false deaths: a fresh cluster runs 10 simulated minutes at 5 % loss with nobody failing,
//     writing a key every 20 s; any live node declared dead by a live node is a false death,
//     every suspicion raised is a false suspicion; afterwards the memory must have converged.
// converged_fraction is the worst, over all runs, share of live nodes holding the newest write
// of every key once the run's budget is over. One JSON line per N on stdout, a table on stderr.
//
// --scale N (a room larger than viewSize, so every table is a sample; see scaleRun below):
// memory per node, simulated seconds per wall second, messages per node per second and per
// round, rounds for one write to reach every live node, time until no live node holds a
// crashed one as live, and convergence. --gc-free skips the heap figure (no --expose-gc).
import type { BenchArgs } from '../main.ts';
import { emitRow, judgeTargets, machine, percentile, printTable, type Row, type Target } from '../report.ts';
import { gossipCluster, watchFalseDeaths, type GossipCluster } from '../../test/core/gossip/harness.ts';
import { isLive } from '../../src/core/gossip/members.ts';
import { defaultGossipConfig } from '../../src/core/gossip/config.ts';
import type { GossipEffect } from '../../src/core/gossip/types.ts';
import { createRng } from '../../src/core/rng.ts';
import type { NodeId } from '../../src/core/types.ts';
import { flag, numberFlag, numberListFlag } from '../flags.ts';

const cycleMs = defaultGossipConfig.cycleMs;
const fanout = defaultGossipConfig.fanout;
/** Budget for one spread or one detection before the run counts as not converged. */
const spreadBudgetMs = 120_000;
const warmupMs = 5_000;
const falseDeathLoss = 0.05;
const falseDeathWriteEveryMs = 20_000;
/** After the lossy run: quiet time for the last writes to settle before convergence is judged. */
const settleMs = 30_000;

interface SpreadResult {
  rounds: number;
  spreadMs: number;
  converged: number;
  detectMs: number | null;
  msgsPerNodePerRound: number;
  bytesPerNodePerRound: number;
}

interface LossResult {
  falseDeaths: number;
  falseSuspicions: number;
  converged: number;
}

/** Share of running nodes whose memory matches the majority fingerprint (the newest of every key, once settled). */
function convergedShare(cluster: GossipCluster): number {
  const counts = new Map<number, number>();
  const up = cluster.upIds();
  for (const id of up) {
    const f = cluster.node(id).core.memoryFingerprint;
    counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values()) / up.length;
}

/** Runs until every running node other than `exclude` has reported `event`, or the budget ends. */
function timeUntilAll(cluster: GossipCluster, matches: (e: GossipEffect) => boolean, exclude: NodeId | undefined, budgetMs: number): number | null {
  const seen = new Set<NodeId>();
  const start = cluster.now;
  let doneAt: number | null = null;
  const need = (): number => cluster.upIds().filter((id) => id !== exclude).length;
  const stop = cluster.onEvent((e) => {
    if (doneAt !== null || !cluster.isUp(e.id) || e.id === exclude || !matches(e.event as GossipEffect)) return;
    seen.add(e.id);
    // Counted only on a matching event: at 10,000 nodes the sampling's member events are many.
    if (seen.size >= need()) doneAt = e.at;
  });
  cluster.runUntil(() => doneAt !== null, { timeoutMs: budgetMs, checkEveryMs: 50 });
  stop();
  return doneAt === null ? null : doneAt - start;
}

function spreadRun(n: number, seed: number): SpreadResult {
  const rng = createRng(`gossip-bench/${n}/${seed}`);
  const cluster = gossipCluster({ seed, nodes: n });
  cluster.runFor(warmupMs + rng.int(cycleMs));
  const ids = cluster.ids();
  const writer = rng.pick(ids) as NodeId;
  const key = `bench/${seed}`;
  const sentBefore = cluster.network.stats.sent;
  const bytesBefore = cluster.network.stats.bytesSent;
  const t0 = cluster.now;
  const isWrite = (e: GossipEffect): boolean => e.type === 'memory-changed' && e.key === key;
  // The writer's own event comes from the command itself; wait for all the others.
  cluster.act(writer, (node, now) => node.run(now, { type: 'set-memory', key, value: { seed, at: now } }));
  const spreadMs = timeUntilAll(cluster, isWrite, writer, spreadBudgetMs);
  const windowMs = cluster.now - t0;
  const msgs = cluster.network.stats.sent - sentBefore;
  const bytes = cluster.network.stats.bytesSent - bytesBefore;
  const roundsInWindow = Math.max(windowMs / cycleMs, 1e-9);
  const converged = spreadMs === null ? convergedShare(cluster) : 1;

  // Detection: crash someone other than the writer at a random point of the probe period.
  cluster.runFor(rng.int(defaultGossipConfig.probeIntervalMs));
  const victim = rng.pick(ids.filter((id) => id !== writer)) as NodeId;
  cluster.crash(victim);
  const detectMs = timeUntilAll(cluster, (e) => e.type === 'member-status-changed' && e.id === victim && e.status === 'dead', victim, spreadBudgetMs);

  return {
    rounds: spreadMs === null ? Infinity : Math.max(1, Math.ceil(spreadMs / cycleMs)),
    spreadMs: spreadMs ?? Infinity,
    converged,
    detectMs,
    msgsPerNodePerRound: msgs / n / roundsInWindow,
    bytesPerNodePerRound: bytes / n / roundsInWindow,
  };
}

function lossRun(n: number, seed: number, minutes: number): LossResult {
  const rng = createRng(`gossip-bench-loss/${n}/${seed}`);
  const cluster = gossipCluster({ seed: seed + 1_000_000, nodes: n, network: { lossRate: falseDeathLoss } });
  const falseDeaths = watchFalseDeaths(cluster);
  const ids = cluster.ids();
  const end = cluster.now + minutes * 60_000;
  for (let t = falseDeathWriteEveryMs; t < minutes * 60_000; t += falseDeathWriteEveryMs) {
    const writer = rng.pick(ids) as NodeId;
    const key = `k${rng.int(8)}`;
    cluster.at(t, `write ${key}`, () => {
      if (cluster.isUp(writer)) cluster.act(writer, (node, now) => node.run(now, { type: 'set-memory', key, value: t }));
    });
  }
  cluster.runUntilTime(end);
  let suspicions = 0;
  for (const id of cluster.upIds()) suspicions += cluster.node(id).core.metrics().suspicionsRaised;
  cluster.runFor(settleMs);
  return { falseDeaths: falseDeaths.length, falseSuspicions: suspicions, converged: convergedShare(cluster) };
}

// ── scale: one large room ─────────────────────────────────────────────────

/** Simulated warm-up of a large room before measuring: tables fill by peer sampling from 16 introductions. */
const scaleWarmupMs = 8_000;
/** Simulated steady time over which traffic and wall speed are measured (no writes, no failures). */
const scaleSteadyMs = 4_000;
/** How often the detection check scans every node's table (simulated). */
const scaleCheckEveryMs = 250;

function heapUsed(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Running nodes (other than `subject`) that hold `subject` as alive or suspect. */
function holdingLive(cluster: GossipCluster, subject: NodeId): number {
  let count = 0;
  for (const id of cluster.upIds()) {
    const status = id === subject ? undefined : cluster.node(id).core.member(subject)?.status;
    if (status && isLive(status)) count++;
  }
  return count;
}

function scaleRun(n: number, seed: number): Row {
  const rng = createRng(`gossip-bench-scale/${n}/${seed}`);
  const heapBefore = heapUsed();
  const wallStart = performance.now();
  const cluster = gossipCluster({ seed, nodes: n, introduce: 'sample', briefTrace: true });
  const buildWallS = (performance.now() - wallStart) / 1000;
  cluster.runFor(scaleWarmupMs);
  const heapAfter = heapUsed();
  let held = 0;
  let heldMax = 0;
  for (const id of cluster.upIds()) {
    const size = cluster.node(id).core.metrics().membersHeld;
    held += size;
    heldMax = Math.max(heldMax, size);
  }
  // Steady state: traffic and speed with nothing happening but probes, syncs and sampling.
  const sent0 = cluster.network.stats.sent;
  const bytes0 = cluster.network.stats.bytesSent;
  const steadyWall = performance.now();
  const steadyCpu = process.cpuUsage();
  cluster.runFor(scaleSteadyMs);
  const steadyWallS = (performance.now() - steadyWall) / 1000;
  const cpu = process.cpuUsage(steadyCpu);
  const steadyCpuS = (cpu.user + cpu.system) / 1e6;
  // Progress on stderr (a run at 10,000 nodes on a shared machine takes long; a cut-off run still says this much).
  const heapMb = heapAfter === null || heapBefore === null ? null : round((heapAfter - heapBefore) / 2 ** 20, 1);
  const steadyRate = round((cluster.network.stats.sent - sent0) / n / (scaleSteadyMs / 1000), 2);
  console.error(`scale n=${n}: built in ${round(buildWallS, 1)} s, heap ${heapMb ?? '?'} MB, ${round(held / n, 1)} members/node`);
  console.error(`scale n=${n}: ${scaleSteadyMs / 1000} sim s in ${round(steadyWallS, 1)} wall s (${round(steadyCpuS, 1)} CPU s), ${steadyRate} msgs/node/s`);
  const steadyMsgs = cluster.network.stats.sent - sent0;
  const steadyBytes = cluster.network.stats.bytesSent - bytes0;

  const ids = cluster.ids();
  const writer = rng.pick(ids) as NodeId;
  const key = `scale/${seed}`;
  cluster.act(writer, (node, now) => node.run(now, { type: 'set-memory', key, value: { seed, at: now } }));
  const spreadMs = timeUntilAll(cluster, (e) => e.type === 'memory-changed' && e.key === key, writer, spreadBudgetMs);
  console.error(`scale n=${n}: write reached every live node in ${spreadMs === null ? 'not within budget' : `${round(spreadMs, 0)} ms`}`);

  cluster.runFor(rng.int(defaultGossipConfig.probeIntervalMs));
  const victim = rng.pick(ids.filter((id) => id !== writer)) as NodeId;
  const holdersAtCrash = holdingLive(cluster, victim);
  cluster.crash(victim);
  const crashedAt = cluster.now;
  const detected = cluster.runUntil(() => holdingLive(cluster, victim) === 0, { timeoutMs: spreadBudgetMs, checkEveryMs: scaleCheckEveryMs });
  const detectMs = detected ? cluster.now - crashedAt : null;
  const seconds = scaleSteadyMs / 1000;
  return {
    suite: 'gossip-scale',
    n,
    seed,
    view_size: defaultGossipConfig.viewSize,
    members_held_mean: round(held / n, 1),
    members_held_max: heldMax,
    heap_mb: heapAfter === null || heapBefore === null ? null : round((heapAfter - heapBefore) / 2 ** 20, 1),
    kb_per_node: heapAfter === null || heapBefore === null ? null : round((heapAfter - heapBefore) / n / 1024, 1),
    sim_s_per_wall_s: round(seconds / steadyWallS, 3),
    sim_s_per_cpu_s: round(seconds / steadyCpuS, 3),
    msgs_per_node_per_s: round(steadyMsgs / n / seconds, 2),
    msgs_per_node_per_round: round((steadyMsgs / n / seconds) * (cycleMs / 1000), 2),
    bytes_per_node_per_s: round(steadyBytes / n / seconds, 0),
    rounds: spreadMs === null ? null : Math.max(1, Math.ceil(spreadMs / cycleMs)),
    spread_ms: spreadMs,
    converged_fraction: round(convergedShare(cluster), 4),
    holders_at_crash: holdersAtCrash,
    detect_s: detectMs === null ? null : round(detectMs / 1000, 2),
    build_wall_s: round(buildWallS, 1),
    wall_s: round((performance.now() - wallStart) / 1000, 1),
    cores: machine.cores,
    node: machine.node,
  };
}

async function runScale(args: BenchArgs, n: number): Promise<void> {
  const seeds = numberFlag(args.rest, '--seeds', 1);
  const rows: Row[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const row = scaleRun(n, seed);
    emitRow(row, args.out);
    rows.push(row);
  }
  printTable(rows, [
    'n',
    'seed',
    'members_held_mean',
    'kb_per_node',
    'sim_s_per_wall_s',
    'sim_s_per_cpu_s',
    'msgs_per_node_per_s',
    'msgs_per_node_per_round',
    'bytes_per_node_per_s',
    'rounds',
    'converged_fraction',
    'holders_at_crash',
    'detect_s',
    'wall_s',
  ]);
  judgeTargets(
    rows.flatMap((row) => [
      { what: `n=${n} seed ${row.seed as number}: write reached every live node`, measured: row.converged_fraction as number, limit: 1, kind: 'min' as const },
      {
        what: `n=${n} seed ${row.seed as number}: rounds ≤ ⌈log₂N⌉`,
        measured: row.rounds as number | null,
        limit: Math.ceil(Math.log2(n)),
        kind: 'max' as const,
      },
      {
        what: `n=${n} seed ${row.seed as number}: members held ≤ 2·viewSize`,
        measured: row.members_held_max as number,
        limit: 2 * defaultGossipConfig.viewSize,
        kind: 'max' as const,
      },
    ]),
  );
}

export async function run(args: BenchArgs): Promise<void> {
  if (flag(args.rest, '--scale') !== undefined) return runScale(args, numberFlag(args.rest, '--scale', 0, 2));
  const sizes = numberListFlag(args.rest, '--n', [16, 64, 256, 1024]);
  const seeds = numberFlag(args.rest, '--seeds', args.quick ? 3 : 20);
  const fdSeeds = numberFlag(args.rest, '--fd-seeds', args.quick ? 1 : 20);
  const fdMinutes = numberFlag(args.rest, '--fd-minutes', args.quick ? 2 : 10);
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const n of sizes) {
    const started = performance.now();
    const spread = Array.from({ length: seeds }, (_, i) => spreadRun(n, i + 1));
    const loss = Array.from({ length: fdSeeds }, (_, i) => lossRun(n, i + 1, fdMinutes));
    const rounds = spread.map((r) => r.rounds);
    const detects = spread.flatMap((r) => (r.detectMs === null ? [] : [r.detectMs / 1000]));
    const converged = Math.min(...spread.map((r) => r.converged), ...loss.map((r) => r.converged));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const row: Row = {
      suite: 'gossip',
      n,
      fanout,
      cycle_ms: cycleMs,
      seeds,
      rounds_p50: percentile(rounds, 50),
      rounds_max: Math.max(...rounds),
      spread_ms_p50: round(
        percentile(
          spread.map((r) => r.spreadMs),
          50,
        ),
      ),
      converged_fraction: converged,
      msgs_per_node_per_round: round(mean(spread.map((r) => r.msgsPerNodePerRound)), 2),
      bytes_per_node_per_round: round(mean(spread.map((r) => r.bytesPerNodePerRound)), 0),
      detect_s_p50: round(percentile(detects, 50), 2),
      detect_s_max: detects.length === spread.length ? round(Math.max(...detects), 2) : null,
      false_suspicions: loss.reduce((a, r) => a + r.falseSuspicions, 0),
      false_deaths: loss.reduce((a, r) => a + r.falseDeaths, 0),
      fd_runs: `${fdSeeds}×${fdMinutes}min@${falseDeathLoss * 100}%`,
      wall_s: round((performance.now() - started) / 1000, 1),
      cores: machine.cores,
      node: machine.node,
    };
    emitRow(row, args.out);
    rows.push(row);
    targets.push(
      { what: `n=${n} converged_fraction (every run)`, measured: converged, limit: 1, kind: 'min' },
      { what: `n=${n} rounds_p50 ≤ ⌈log₄N⌉+2`, measured: row.rounds_p50 as number | null, limit: Math.ceil(Math.log(n) / Math.log(4)) + 2, kind: 'max' },
      { what: `n=${n} rounds_max ≤ ⌈log₂N⌉`, measured: row.rounds_max as number, limit: Math.ceil(Math.log2(n)), kind: 'max' },
      { what: `n=${n} live nodes declared dead (${row.fd_runs as string})`, measured: row.false_deaths as number, limit: 0, kind: 'max' },
    );
    if (n <= 64) targets.push({ what: `n=${n} detect_s_p50 (1 s probe period)`, measured: row.detect_s_p50 as number | null, limit: 5, kind: 'max' });
  }
  printTable(rows, [
    'n',
    'fanout',
    'rounds_p50',
    'rounds_max',
    'spread_ms_p50',
    'converged_fraction',
    'msgs_per_node_per_round',
    'bytes_per_node_per_round',
    'detect_s_p50',
    'detect_s_max',
    'false_suspicions',
    'false_deaths',
    'fd_runs',
    'wall_s',
  ]);
  judgeTargets(targets);
}

function round(value: number | null, digits = 3): number | null {
  if (value === null || !Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
