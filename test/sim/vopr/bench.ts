// The whole runtime at scale in the simulator: N real nodes (NodeRuntime + every default
// service) join one room at once on a calm network and run for a while of virtual time. Prints,
// per N, one JSON line and a table row: memory per node, virtual seconds per wall second,
// frames per node per virtual second, how many links and how far consensus got — with the load
// average, since the wall-clock figures depend on what else the machine runs.
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RealCluster } from '../real-node/real-cluster.ts';
import type { SignatureMode } from '../real-node/sim-crypto.ts';
import { consensusOf } from './observer.ts';

export interface BenchOptions {
  nodes: number[];
  virtualSeconds: number;
  signatures: SignatureMode;
  seed?: number;
}

export interface BenchRow {
  suite: 'vopr-scale';
  nodes: number;
  virtualSeconds: number;
  wallSeconds: number;
  virtualPerWall: number;
  heapMbPerNode: number;
  framesPerNodePerSecond: number;
  bytesPerNodePerSecond: number;
  events: number;
  meanLinks: number;
  joined: number;
  followingGenesis: number;
  replicas: number;
  committed: number;
  signatures: SignatureMode;
  load: string;
}

/** A full collection, so heap figures are what the nodes hold, not garbage. */
function collect(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

export async function benchOne(nodes: number, virtualSeconds: number, signatures: SignatureMode, seed = 1): Promise<BenchRow> {
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const cluster = new RealCluster({ seed, signatures, maxNodesPerRoom: Math.max(256, nodes) });
  cluster.network.faults = { delayMs: { min: 5, max: 40 }, loss: 0, duplicate: 0, reorder: 0 };
  for (let i = 0; i < nodes; i++) cluster.add();
  const framesAt = (s: { frames: number; bytes: number }) => ({ frames: s.frames, bytes: s.bytes });
  await cluster.runFor(virtualSeconds * 1000);
  const wallMs = performance.now() - started;
  const traffic = framesAt(cluster.network.stats);
  collect();
  const heapAfter = process.memoryUsage().heapUsed;
  const snapshots = cluster.up().map((n) => cluster.snapshot(n));
  const consensus = snapshots.map(consensusOf);
  const row: BenchRow = {
    suite: 'vopr-scale',
    nodes,
    virtualSeconds,
    wallSeconds: round(wallMs / 1000),
    virtualPerWall: round((virtualSeconds * 1000) / wallMs),
    heapMbPerNode: round((heapAfter - heapBefore) / nodes / 1e6),
    framesPerNodePerSecond: round(traffic.frames / nodes / virtualSeconds),
    bytesPerNodePerSecond: Math.round(traffic.bytes / nodes / virtualSeconds),
    events: cluster.scheduler.eventsRun,
    meanLinks: round(snapshots.reduce((s, x) => s + ((x?.links as unknown[] | undefined)?.length ?? 0), 0) / nodes),
    joined: snapshots.filter((s) => s?.signaling === 'joined').length,
    followingGenesis: consensus.filter((c) => c?.genesis).length,
    replicas: consensus.filter((c) => c?.status === 'replica').length,
    committed: Math.max(0, ...consensus.map((c) => c?.lastCommitted ?? 0)),
    signatures,
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  if (cluster.errors.length > 0) throw new Error(`the bench run failed: ${cluster.errors[0]}`);
  return row;
}

const round = (x: number): number => Math.round(x * 100) / 100;

export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const n of options.nodes) {
    const row = await benchOne(n, options.virtualSeconds, options.signatures, options.seed);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.log('');
  console.log(
    '| nodes | virtual s | wall s | virtual s / wall s | heap MB / node | frames / node / s | bytes / node / s | mean links | joined | on genesis | replicas | committed | load |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const cells: unknown[] = [r.nodes, r.virtualSeconds, r.wallSeconds, r.virtualPerWall, r.heapMbPerNode, r.framesPerNodePerSecond, r.bytesPerNodePerSecond];
    cells.push(r.meanLinks, r.joined, r.followingGenesis, r.replicas, r.committed, r.load);
    console.log(`| ${cells.join(' | ')} |`);
  }
  return rows;
}
