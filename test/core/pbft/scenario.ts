// Script helpers for pBFT scenarios on the simulator: build a cluster, submit operations,
// check safety all along and liveness at the end, and explain failures.
import { always, eventually } from '../../sim/checkers.ts';
import { SimCluster } from '../../sim/cluster.ts';
import type { NetworkOptions } from '../../sim/network.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import type { ByzantineMode } from '../../../src/core/pbft/byzantine.ts';
import type { PbftParams, PbftTiming } from '../../../src/core/pbft/constants.ts';
import type { Op } from '../../../src/core/pbft/ops.ts';
import { PbftSimNode, PbftWorld, type PbftCluster } from './sim-node.ts';

export interface ScenarioOptions {
  seed: number;
  /** Nodes started (n0 … n{nodes-1}). */
  nodes: number;
  /** How many of them form the first replica set (default: all). */
  genesis?: number;
  byzantine?: Record<string, ByzantineMode>;
  network?: NetworkOptions;
  params?: Partial<PbftParams>;
  timing?: Partial<PbftTiming>;
  /** Keep UI events (phase events are many; off by default in scenarios). */
  events?: boolean;
  /** How long a disk flush takes (messages of a step wait for it; a crash loses both). */
  flushDelayMs?: number;
}

export interface Scenario {
  cluster: PbftCluster;
  world: PbftWorld;
  ids: NodeId[];
  /** Nodes not Byzantine (by the world's current settings). */
  honest(): NodeId[];
  /** Honest nodes that are running. */
  honestUp(): NodeId[];
  submit(from: NodeId, op: Op, tag?: string): void;
  /** `count` decisions from the given nodes in turn; returns their tags. */
  submitMany(from: readonly NodeId[], count: number, prefix?: string): string[];
  /** Throws if two honest nodes executed different batches at one sequence number. */
  checkSafety(): void;
  /** Checks safety every `everyMs` for the rest of the run. */
  watchSafety(everyMs?: number): void;
  /** Waits until every tag has an ok result at its submitter. */
  waitResults(tags: readonly string[], withinMs: number): void;
  /** Waits until the given nodes agree on the executed log up to the highest sequence number. */
  waitConverged(ids: readonly NodeId[], withinMs: number): void;
  /** The tags that ended ok (anywhere). */
  okTags(): Set<string>;
}

export function scenario(options: ScenarioOptions): Scenario {
  const world = new PbftWorld();
  world.genesis = Array.from({ length: options.genesis ?? options.nodes }, (_, i) => asNodeId(`n${i}`));
  world.params = options.params ?? {};
  world.timing = options.timing ?? {};
  world.keepEvents = options.events ?? false;
  for (const [id, mode] of Object.entries(options.byzantine ?? {})) world.byzantine.set(asNodeId(id), mode);
  const cluster: PbftCluster = new SimCluster<unknown, PbftSimNode>({
    seed: options.seed,
    network: options.network,
    flushDelayMs: options.flushDelayMs,
    create: (ctx) => new PbftSimNode(ctx, world),
  });
  const ids = cluster.addMany(options.nodes);
  const honest = () => ids.filter((id) => !world.byzantine.has(id));
  const okTags = () => {
    const tags = new Set<string>();
    for (const list of world.results.values()) for (const r of list) if (r.ok && r.tag !== undefined) tags.add(r.tag);
    return tags;
  };
  let counter = 0;
  const s: Scenario = {
    cluster,
    world,
    ids,
    honest,
    honestUp: () => honest().filter((id) => cluster.isUp(id)),
    submit(from, op, tag) {
      cluster.act(from, (node, now) => node.submit(now, op, tag));
    },
    submitMany(from, count, prefix = 'op') {
      const tags: string[] = [];
      for (let i = 0; i < count; i++) {
        const tag = `${prefix}-${counter++}`;
        tags.push(tag);
        s.submit(from[i % from.length] as NodeId, { kind: 'decision', value: tag }, tag);
      }
      return tags;
    },
    checkSafety() {
      const conflicts = world.conflicts(honest());
      if (conflicts.length > 0) throw new Error(`safety broken: ${conflicts.slice(0, 3).join('; ')}`);
    },
    watchSafety(everyMs = 250) {
      always(
        cluster,
        'no conflicting commits',
        () => {
          const conflicts = world.conflicts(honest());
          return conflicts.length === 0 ? true : conflicts.slice(0, 3).join('; ');
        },
        { everyMs },
      );
    },
    waitResults(tags, withinMs) {
      eventually(
        cluster,
        `${tags.length} operations commit`,
        () => {
          const ok = okTags();
          const missing = tags.filter((t) => !ok.has(t));
          return missing.length === 0 ? true : `${missing.length} not committed (e.g. ${missing.slice(0, 3).join(', ')}); ${describeNodes(s)}`;
        },
        { withinMs, checkEveryMs: 50 },
      );
    },
    waitConverged(nodes, withinMs) {
      eventually(
        cluster,
        'replicas converge',
        () => {
          const up = nodes.filter((id) => cluster.isUp(id));
          const views = up.map((id) => cluster.node(id).core.view());
          const top = Math.max(...views.map((v) => v.lastCommitted));
          const lagging = up.filter((_, i) => (views[i] as { lastCommitted: number }).lastCommitted < top);
          return lagging.length === 0 ? true : `${lagging.join(',')} behind ${top}; ${describeNodes(s)}`;
        },
        { withinMs, checkEveryMs: 50 },
      );
    },
    okTags,
  };
  return s;
}

/** One line per running node: where it is and why it may be stuck (for failure messages). */
export function describeNodes(s: Scenario): string {
  return s.ids
    .filter((id) => s.cluster.isUp(id))
    .map((id) => {
      const v = s.cluster.node(id).core.view();
      const bz = s.world.byzantine.get(id);
      return `${id}${bz ? `(${bz})` : ''}: ${v.role} e${v.epoch} v${v.view}${v.mode === 'view-change' ? '*' : ''} exec ${v.lastCommitted} stable ${v.stableCheckpoint}${v.stalled ? ` [${v.stalled}]` : ''}`;
    })
    .join(' | ');
}

/** Total of one refusal reason over the given nodes (core counters). */
export function rejectedTotal(s: Scenario, ids: readonly NodeId[], reason: string): number {
  let total = 0;
  for (const id of ids) if (s.cluster.isUp(id)) total += s.cluster.node(id).core.view().rejected[reason] ?? 0;
  return total;
}

export const nid = asNodeId;
export { eventually };
