// The node's overall coordination score (src/core/health/score.ts): every few seconds this
// reads the other services' views — overlay graph, gossip members and agreement, consensus,
// the balancer's load — and shows `snapshot().health` = { score, components, values, weights,
// recent }. Like the status record it exchanges nothing with peers.
import { FaultWindow, healthScore, type HealthReport, type RecentFaults } from '../../core/health/index.ts';
import type { Millis } from '../../core/types.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { GossipService } from './gossip.ts';
import type { OverlayService } from './overlay.ts';
import type { ConsensusView } from './pbft-snapshot.ts';
import type { ComputeSnapshot } from './steal-snapshot.ts';

/** How often the score is recomputed (the snapshot is re-posted only when it changed). */
export const healthRefreshIntervalMs = 2_000;

export interface HealthDeps {
  gossip: Pick<GossipService, 'view' | 'memberTable'>;
  overlay: OverlayService;
  /** null where no consensus service runs. */
  consensus?: () => ConsensusView | null;
  /** null where no balancer runs. */
  compute?: () => ComputeSnapshot | null;
}

/** `snapshot().health`: the score, each component's share, and the faults it counted. */
export interface HealthView extends HealthReport {
  /** Faults of the last minute that the `faults` component is computed from. */
  recent: RecentFaults;
  /** When it was computed (wall-clock ms). */
  at: number;
}

/**
 * Refusals that are routine in a healthy mesh, not faults: a late vote for a number already
 * checkpointed ('stale') or a copy of a message already counted ('duplicate').
 */
const routineRefusal = /(^|: )(stale|duplicate)$/;

/** Refused inputs, routine ones left out. */
const sum = (counts: Record<string, number> | undefined): number =>
  Object.entries(counts ?? {}).reduce((a, [reason, n]) => a + (Number.isFinite(n) && !routineRefusal.test(reason) ? n : 0), 0);

export class HealthService implements Service {
  readonly protocol = 'health' as const;
  private ctx!: ServiceContext;
  private nextAt = 0;
  private readonly faults = new FaultWindow();
  private latest: HealthView | null = null;

  constructor(private readonly deps: HealthDeps) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.nextAt = ctx.now();
  }

  receive(): void {
    this.ctx.reject('health is not exchanged between nodes');
  }

  tick(now: Millis): void {
    this.nextAt = now + healthRefreshIntervalMs;
    const previous = this.latest;
    this.latest = this.compute(now);
    if (!previous || previous.score !== this.latest.score || JSON.stringify(previous.components) !== JSON.stringify(this.latest.components)) this.ctx.changed();
  }

  nextWakeAt(): Millis {
    return this.nextAt;
  }

  snapshot(): Record<string, unknown> {
    return { health: this.latest ?? this.compute(this.ctx.now()) };
  }

  /** The current health (for other parts of the node). */
  view(): HealthView | null {
    return this.latest;
  }

  private compute(now: Millis): HealthView {
    const gossip = this.deps.gossip.view();
    const aliveIds = new Set<string>(gossip.members.filter((m) => m.status === 'alive').map((m) => m.id));
    const alive = aliveIds.size;
    // In a sampled member table (a room beyond gossip's viewSize) a replica absent from the
    // sample has rotated out of it, not failed: deaths and departures are kept by every node
    // whatever the sample, so only a replica held and not alive counts as down.
    const sampled = this.deps.gossip.memberTable().sampled;
    const held = new Set<string>(gossip.members.map((m) => m.id));
    const replicaAlive = (id: string) => id === this.ctx.self || aliveIds.has(id) || (sampled && !held.has(id));
    const suspect = gossip.members.filter((m) => m.status === 'suspect').length;
    const { metrics } = this.deps.overlay.metrics();
    const consensus = this.deps.consensus?.() ?? null;
    const compute = this.deps.compute?.() ?? null;
    this.faults.record(now, {
      refused: sum(gossip.rejected) + sum(consensus?.rejected) + sum(compute?.refused),
      viewChanges: consensus?.viewChanges ?? 0,
      suspicions: gossip.metrics.suspicionsRaised,
    });
    const recent = this.faults.recent();
    const report = healthScore({
      mesh: { links: this.ctx.linkedPeers().length, nodes: Math.max(alive + suspect, metrics.nodes), partitionRisk: metrics.partitionRisk },
      consensus: consensus
        ? {
            status: consensus.status,
            mode: consensus.mode,
            halted: consensus.halted,
            replicas: consensus.replicas.length,
            replicasAlive: consensus.replicas.filter(replicaAlive).length,
            f: consensus.f,
            quorum: consensus.quorum,
          }
        : null,
      gossip: { peerAgreement: gossip.metrics.peerAgreement, alive, suspect },
      loadVariance: compute?.loadVariance ?? 0,
      faults: recent,
    });
    return { ...report, recent, at: now };
  }
}
