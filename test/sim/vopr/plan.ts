// Every fault probability of a VOPR run, drawn from its seed (as TigerBeetle's VOPR does): each
// kind of fault is switched on or off by the seed, and its rate and size drawn from a range, so
// runs differ in kind, not only in detail. Rates are per tick (100 virtual ms).
import { byzantineModes, type ByzantineMode } from '../../../src/core/pbft/byzantine.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { LinkFaults } from '../real-node/sim-links.ts';

/** Virtual milliseconds per tick. */
export const tickMs = 100;

export const floodKinds = ['malformed', 'replayed', 'forged', 'oversized'] as const;
export type FloodKind = (typeof floodKinds)[number];

export interface FaultPlan {
  nodes: number;
  links: LinkFaults;
  partition: { perTick: number; ticks: { min: number; max: number } };
  signalingOutage: { perTick: number; ticks: { min: number; max: number } };
  crash: { perTick: number; torn: number; restartTicks: { min: number; max: number } };
  clockJump: { perTick: number; maxMs: number };
  sleep: { perTick: number; ticks: { min: number; max: number } };
  join: { perTick: number };
  leave: { perTick: number };
  /** Byzantine replicas (node index → mode), at most f of the first nodes. */
  byzantine: Array<{ node: number; mode: ByzantineMode }>;
  /** Nodes (among the Byzantine ones) that also flood their links with bad frames. */
  flooders: Array<{ node: number; kinds: FloodKind[]; perTick: number; burst: number }>;
  workload: { proposePerTick: number; memoryPerTick: number; jobPerTick: number };
}

/** Half the seeds switch a fault off entirely; the rest draw its rate from [0, max]. */
const maybe = (rng: Rng, max: number): number => (rng.next() < 0.5 ? 0 : rng.next() * max);
const between = (rng: Rng, min: number, max: number): number => min + rng.int(max - min + 1);

export function drawPlan(rng: Rng, nodesOverride?: number): FaultPlan {
  const nodes = nodesOverride ?? between(rng, 4, 9);
  const f = Math.floor((nodes - 1) / 3);
  const delayMin = between(rng, 2, 40);
  const links: LinkFaults = {
    delayMs: { min: delayMin, max: delayMin + between(rng, 0, 150) },
    loss: maybe(rng, 0.05),
    duplicate: maybe(rng, 0.03),
    reorder: maybe(rng, 0.1),
  };
  const byzantineCount = rng.next() < 0.4 ? 0 : between(rng, 0, f);
  // Byzantine nodes are drawn among all: the founder may be one.
  const byzantineNodes = rng.shuffle([...Array(nodes).keys()]).slice(0, byzantineCount);
  const byzantine = byzantineNodes.map((node) => ({ node, mode: rng.pick(byzantineModes) as ByzantineMode }));
  const flooders = byzantineNodes
    .filter(() => rng.next() < 0.6)
    .map((node) => ({ node, kinds: floodKinds.filter(() => rng.next() < 0.6), perTick: 0.05 + rng.next() * 0.3, burst: between(rng, 1, 50) }))
    .filter((fl) => fl.kinds.length > 0);
  return {
    nodes,
    links,
    partition: { perTick: maybe(rng, 0.01), ticks: { min: 10, max: between(rng, 20, 150) } },
    signalingOutage: { perTick: maybe(rng, 0.005), ticks: { min: 10, max: between(rng, 20, 200) } },
    crash: { perTick: maybe(rng, 0.01), torn: rng.next(), restartTicks: { min: 5, max: between(rng, 10, 150) } },
    clockJump: { perTick: maybe(rng, 0.005), maxMs: between(rng, 1_000, 120_000) },
    sleep: { perTick: maybe(rng, 0.005), ticks: { min: 10, max: between(rng, 20, 300) } },
    join: { perTick: maybe(rng, 0.004) },
    leave: { perTick: maybe(rng, 0.004) },
    byzantine,
    flooders,
    workload: { proposePerTick: 0.05 + rng.next() * 0.4, memoryPerTick: 0.02 + rng.next() * 0.2, jobPerTick: rng.next() * 0.02 },
  };
}

/** The plan in one line per fault kind, for the run's header. */
export function describePlan(plan: FaultPlan): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const l = plan.links;
  return [
    `nodes ${plan.nodes}; links ${l.delayMs.min}–${l.delayMs.max} ms, loss ${pct(l.loss)}, dup ${pct(l.duplicate)}, reorder ${pct(l.reorder)}`,
    [
      `per tick: partition ${pct(plan.partition.perTick)}, signaling outage ${pct(plan.signalingOutage.perTick)}`,
      `crash ${pct(plan.crash.perTick)} (torn ${pct(plan.crash.torn)}), clock jump ${pct(plan.clockJump.perTick)} (±${plan.clockJump.maxMs} ms)`,
      `sleep ${pct(plan.sleep.perTick)}, join ${pct(plan.join.perTick)}, leave ${pct(plan.leave.perTick)}`,
    ].join(', '),
    `byzantine: ${plan.byzantine.map((b) => `n${b.node} ${b.mode}`).join(', ') || 'none'}; flooders: ${plan.flooders.map((f) => `n${f.node} ${f.kinds.join('+')}`).join(', ') || 'none'}`,
    `workload per tick: propose ${pct(plan.workload.proposePerTick)}, memory ${pct(plan.workload.memoryPerTick)}, job ${pct(plan.workload.jobPerTick)}`,
  ];
}
