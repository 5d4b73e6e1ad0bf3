// The whole runtime at scale in the simulator: N real nodes (NodeRuntime + every default
// service) join one room at once on a calm network and run for a while of virtual time. Prints,
// per N, one JSON line (stdout) and a table row (stderr): memory per node, virtual seconds per
// wall second and per CPU second of this process (the machine is shared: CPU time is the steadier
// figure), frames and bytes per node per virtual second split by protocol (so the cost is
// attributable), how many links and how far consensus got — with the load average and the
// commit, since the wall-clock figures depend on what else the machine runs. Each N is bounded
// in wall time (--max-wall-s): a run cut short says how far it got. docs/simulation.md.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { emitRow, printTable, type Row } from '../../../bench/report.ts';
import { RealCluster } from '../real-node/real-cluster.ts';
import type { SignatureMode } from '../real-node/sim-crypto.ts';
import { FrameKinds, type Tally } from './frame-kinds.ts';
import { consensusOf } from './observer.ts';

export interface BenchOptions {
  nodes: number[];
  virtualSeconds: number;
  signatures: SignatureMode;
  seed?: number;
  /** Wall seconds one N may take; the run stops at the first virtual instant past it. */
  maxWallSeconds?: number;
  /** Every node builds its snapshots as a tab's worker does for its page (off: built on demand). */
  snapshots?: boolean;
  /** Also print frames per message type. */
  byType?: boolean;
}

/** The protocols the traffic is split by, in table order ('keepalive': the link layer's pings). */
const protocols = ['overlay', 'gossip', 'pbft', 'steal', 'route', 'keepalive', 'link', 'channel', 'demo'] as const;

/** Virtual time run between two looks at the wall clock and two progress lines. */
const stepMs = 1_000;

/** A full collection, so heap figures are what the nodes hold, not garbage. */
function collect(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

const round = (x: number): number => Math.round(x * 100) / 100;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export async function benchOne(nodes: number, options: BenchOptions): Promise<{ row: Row; kinds: FrameKinds }> {
  const { virtualSeconds, signatures, seed = 1 } = options;
  // Read before the run: a commit made while it runs is not the code it runs.
  const runningCommit = commit();
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  // CPU time of this process too: on a shared machine wall time says as much about the others.
  const cpuStarted = process.cpuUsage();
  const deadline = options.maxWallSeconds === undefined ? Infinity : started + options.maxWallSeconds * 1000;
  const cluster = new RealCluster({ seed, signatures, maxNodesPerRoom: Math.max(256, nodes) });
  cluster.network.faults = { delayMs: { min: 5, max: 40 }, loss: 0, duplicate: 0, reorder: 0 };
  const kinds = new FrameKinds();
  cluster.network.meter = (bytes) => kinds.count(bytes);
  const page = options.snapshots ? { publishSnapshot: () => {} } : {};
  for (let i = 0; i < nodes; i++) cluster.add(page);
  // CPU seconds each virtual second took: formation is not the steady state.
  const perSecond: number[] = [];
  const cpuSeconds = (): number => {
    const used = process.cpuUsage(cpuStarted);
    return (used.user + used.system) / 1e6;
  };
  let cut = false;
  while (cluster.now < virtualSeconds * 1000) {
    const stepCpu = cpuSeconds();
    await cluster.scheduler.runUntil(Math.min(virtualSeconds * 1000, cluster.now + stepMs), () => performance.now() > deadline);
    perSecond.push(round(cpuSeconds() - stepCpu));
    const progress = `${round(cluster.now / 1000)} virtual s in ${round((performance.now() - started) / 1000)} wall s, ${round(cpuSeconds())} CPU s`;
    console.error(`  ${nodes} nodes: ${progress} (load ${load()})`);
    if (performance.now() > deadline) {
      cut = cluster.now < virtualSeconds * 1000;
      break;
    }
  }
  const wallMs = performance.now() - started;
  const cpu = cpuSeconds();
  const ranSeconds = cluster.now / 1000;
  collect();
  const heapAfter = process.memoryUsage().heapUsed;
  const snapshots = cluster.up().map((n) => cluster.snapshot(n));
  const consensus = snapshots.map(consensusOf);
  const perNodeSecond = (x: number): number => round(x / nodes / Math.max(ranSeconds, 1e-3));
  const row: Row = {
    suite: 'vopr-scale',
    nodes,
    virtualSeconds: round(ranSeconds),
    cut,
    wallSeconds: round(wallMs / 1000),
    virtualPerWall: round((ranSeconds * 1000) / wallMs),
    cpuSeconds: round(cpu),
    virtualPerCpu: round(ranSeconds / cpu),
    heapMbPerNode: round((heapAfter - heapBefore) / nodes / 1e6),
    framesPerNodePerSecond: perNodeSecond(cluster.network.stats.frames),
    kBPerNodePerSecond: perNodeSecond(cluster.network.stats.bytes / 1000),
  };
  for (const p of protocols) {
    const tally: Tally = kinds.byProtocol.get(p) ?? { frames: 0, bytes: 0 };
    row[`${p}Frames`] = perNodeSecond(tally.frames);
    row[`${p}KB`] = perNodeSecond(tally.bytes / 1000);
  }
  const other = [...kinds.byProtocol].filter(([p]) => !(protocols as readonly string[]).includes(p));
  row['otherFrames'] = perNodeSecond(other.reduce((s, [, t]) => s + t.frames, 0));
  Object.assign(row, {
    signalingFramesPerNodePerSecond: perNodeSecond(cluster.signaling.stats.sent),
    events: cluster.scheduler.eventsRun,
    meanLinks: round(snapshots.reduce((s, x) => s + ((x?.links as unknown[] | undefined)?.length ?? 0), 0) / nodes),
    joined: snapshots.filter((s) => s?.signaling === 'joined').length,
    followingGenesis: consensus.filter((c) => c?.genesis).length,
    replicas: consensus.filter((c) => c?.status === 'replica').length,
    committed: Math.max(0, ...consensus.map((c) => c?.lastCommitted ?? 0)),
    signatures,
    snapshots: options.snapshots === true,
    cpuPerVirtualSecond: perSecond.join(' '),
    load: load(),
    commit: runningCommit,
  });
  if (cluster.errors.length > 0) throw new Error(`the bench run failed: ${cluster.errors[0]}`);
  return { row, kinds };
}

export async function runBench(options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of options.nodes) {
    const { row, kinds } = await benchOne(n, options);
    emitRow(row);
    rows.push(row);
    if (options.byType) printByType(n, Number(row['virtualSeconds']), kinds);
  }
  console.error('');
  const columns = ['nodes', 'virtualSeconds', 'cut', 'wallSeconds', 'virtualPerWall', 'cpuSeconds', 'virtualPerCpu', 'heapMbPerNode', 'framesPerNodePerSecond'];
  columns.push('kBPerNodePerSecond');
  printTable(rows, [...columns, 'meanLinks', 'joined', 'followingGenesis', 'replicas', 'committed', 'load', 'commit']);
  console.error('');
  console.error('Frames / node / virtual s by protocol (kB / node / virtual s in the JSON lines):');
  printTable(rows, ['nodes', ...protocols.map((p) => `${p}Frames`), 'otherFrames', 'signalingFramesPerNodePerSecond']);
  return rows;
}

function printByType(nodes: number, seconds: number, kinds: FrameKinds): void {
  const rows: Row[] = [...kinds.byType]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([type, t]) => ({
      nodes,
      type,
      framesPerNodePerSecond: round(t.frames / nodes / seconds),
      kBPerNodePerSecond: round(t.bytes / 1000 / nodes / seconds),
      bytesPerFrame: Math.round(t.bytes / t.frames),
    }));
  printTable(rows);
}
