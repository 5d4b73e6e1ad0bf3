// The gossip core on the simulator: a SimNode adapter that turns the core's effects into
// simulator calls (persist → disk, send → network, UI events → cluster events), a cluster
// builder, and the checks the scenario tests and the benchmark share.
import { GossipCore } from '../../../src/core/gossip/core.ts';
import type { GossipConfig } from '../../../src/core/gossip/config.ts';
import { describe as describeMsg, type GossipMsg } from '../../../src/core/gossip/messages.ts';
import { gossipStoragePrefix } from '../../../src/core/gossip/persist.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { GossipEffect, GossipInput, MemberStatus } from '../../../src/core/gossip/types.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { SimCluster, type ClusterOptions, type SimNode, type SimNodeContext } from '../../sim/cluster.ts';
import type { NetworkOptions } from '../../sim/network.ts';

/** On the simulated wire a message travels with its size (the sender's count), so the receiver need not measure it again. */
export interface Wire {
  m: unknown;
  b: number;
}

export class GossipSimNode implements SimNode<Wire> {
  readonly core: GossipCore;
  readonly refusals: string[] = [];

  constructor(
    private readonly ctx: SimNodeContext<Wire>,
    config: Partial<GossipConfig>,
    peers: readonly NodeId[],
  ) {
    this.core = new GossipCore({
      id: ctx.id,
      rng: ctx.rng,
      now: ctx.now(),
      config,
      persisted: ctx.storage.entries(gossipStoragePrefix),
      peers: peers.filter((p) => p !== ctx.id),
    });
  }

  deliver(now: Millis, from: NodeId, wire: Wire): void {
    this.run(now, { type: 'message', from, msg: wire.m, bytes: wire.b });
  }

  tick(now: Millis): void {
    this.run(now, { type: 'tick' });
  }

  nextWakeAt(): Millis | undefined {
    return this.core.nextWakeAt();
  }

  /** Feeds one input and carries out the effects, in the order the runtime must: persist first. */
  run(now: Millis, input: GossipInput): GossipEffect[] {
    const effects = this.core.step(now, input);
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          this.ctx.storage.write([
            ...effect.writes.map(([key, value]) => ({ kind: 'set' as const, key, value })),
            ...effect.deletes.map((key) => ({ kind: 'del' as const, key })),
          ]);
          break;
        case 'send':
          this.ctx.send(effect.to, { m: effect.msg, b: effect.bytes });
          break;
        case 'command-refused':
          this.refusals.push(effect.reason);
          this.ctx.emit(effect);
          break;
        default:
          this.ctx.emit(effect);
      }
    }
    return effects;
  }
}

export type GossipCluster = SimCluster<Wire, GossipSimNode>;

export interface GossipClusterOptions {
  seed: number;
  nodes: number;
  config?: Partial<GossipConfig>;
  network?: NetworkOptions;
  /**
   * Who each node knows at start: 'all' (a settled cluster), 'seed' (only node 0, and node 0
   * nobody — membership must spread by gossip), 'sample' (`introductions` random others, as a
   * large room's server would hand out: each table fills by peer sampling), or 'none' (the
   * test gives links itself).
   */
  introduce?: 'all' | 'seed' | 'sample' | 'none';
  /** With introduce 'sample': how many random others each node knows at start (default 16). */
  introductions?: number;
  /**
   * Trace messages by their one-line description instead of their JSON (the trace is hashed
   * on every delivery; at 10,000 nodes JSON dominates the run). Still seeded and replayable.
   */
  briefTrace?: boolean;
  wire?: ClusterOptions<Wire, GossipSimNode>['wire'];
  flushDelayMs?: Millis;
  traceLines?: number;
}

export const simConfig: Partial<GossipConfig> = { contactMode: 'members' };

/** A cluster of gossip nodes named n0, n1, …; nodes added later know the first node. */
export function gossipCluster(options: GossipClusterOptions): GossipCluster {
  const config = { ...simConfig, ...options.config };
  const names = Array.from({ length: options.nodes }, (_, i) => `n${i}` as NodeId);
  const introduce = options.introduce ?? 'all';
  const introductionRng = createRng(`gossip-introductions/${options.seed}`);
  const introductions = options.introductions ?? 16;
  const cluster: GossipCluster = new SimCluster<Wire, GossipSimNode>({
    seed: options.seed,
    network: options.network,
    wire: options.wire ?? 'reference',
    sizeOf: (w) => w.b,
    flushDelayMs: options.flushDelayMs,
    traceLines: options.traceLines,
    ...(options.briefTrace ? { describe: (w: Wire) => describeMsg(w.m as GossipMsg) } : {}),
    create: (ctx) => {
      const initial = names.includes(ctx.id) ? names : [];
      let peers: readonly NodeId[] = [];
      if (introduce === 'all' && initial.length) peers = initial;
      else if (introduce === 'sample') peers = Array.from({ length: introductions }, () => introductionRng.pick(names) as NodeId);
      else if (introduce !== 'none' && ctx.id !== names[0]) peers = [names[0] as NodeId];
      return new GossipSimNode(ctx, config, peers);
    },
  });
  cluster.addMany(options.nodes);
  return cluster;
}

/** Feeds a command to a node as one step. */
export function command(cluster: GossipCluster, id: NodeId, input: GossipInput): GossipEffect[] {
  return cluster.act(id, (node, now) => node.run(now, input));
}

// ── checks ─────────────────────────────────────────────────────────────────

/** Every running node holds the same memory (by fingerprint); else who differs. */
export function memoryConverged(cluster: GossipCluster): true | string {
  const ids = cluster.upIds();
  const first = ids[0];
  if (first === undefined) return true;
  const want = cluster.node(first).core.memoryFingerprint;
  const off = ids.filter((id) => cluster.node(id).core.memoryFingerprint !== want);
  return off.length === 0 ? true : `${off.length}/${ids.length} nodes differ from ${first} (e.g. ${off.slice(0, 5).join(', ')})`;
}

/** Running nodes that do not (yet) hold `value` under `key`. */
export function lacking(cluster: GossipCluster, key: string, value: unknown): NodeId[] {
  const want = JSON.stringify(value);
  return cluster.upIds().filter((id) => JSON.stringify(cluster.node(id).core.get(key)?.value) !== want);
}

/** Every running node sees `subject` with a status in `statuses`; else who does not. */
export function allSee(cluster: GossipCluster, subject: NodeId, statuses: readonly MemberStatus[]): true | string {
  const wrong: string[] = [];
  for (const id of cluster.upIds()) {
    if (id === subject) continue;
    const status = cluster.node(id).core.member(subject)?.status;
    if (!status || !statuses.includes(status)) wrong.push(`${id}:${status ?? 'unknown'}`);
  }
  return wrong.length === 0 ? true : `${wrong.length} nodes see ${subject} otherwise (${wrong.slice(0, 6).join(', ')})`;
}

/** Every running node sees every running node alive (members agree on who is up). */
export function allAliveEverywhere(cluster: GossipCluster): true | string {
  const up = cluster.upIds();
  let wrong = 0;
  let example = '';
  for (const viewer of up) {
    const core = cluster.node(viewer).core;
    for (const subject of up) {
      if (subject === viewer) continue;
      const status = core.member(subject)?.status;
      if (status !== 'alive') {
        wrong++;
        if (!example) example = `${viewer} sees ${subject} as ${status ?? 'unknown'}`;
      }
    }
  }
  return wrong === 0 ? true : `${wrong} (viewer, member) pairs not alive, e.g. ${example}`;
}

/**
 * Watches for any running node being declared dead by another running node (a false death).
 * Returns the list it fills.
 */
export function watchFalseDeaths(cluster: GossipCluster): string[] {
  const found: string[] = [];
  cluster.onEvent((e) => {
    const event = e.event as GossipEffect;
    if (event.type === 'member-status-changed' && event.status === 'dead' && cluster.isUp(event.id) && cluster.isUp(e.id)) {
      found.push(`t=${e.at}: ${e.id} declared ${event.id} dead (inc ${event.incarnation})`);
    }
  });
  return found;
}
