// The node's status record, `swarm/mesh/topology` in its memory store (docs/reference.md, "Mesh topology"):
// what this node knows of the mesh, refreshed as the mesh changes and written to storage, so
// `window.tabmesh.statusRecord()` reads back exactly what is on disk. Every field is truthful:
// a service that is not running, or not ready, says so.
import { meshTopologyBlock, type MeshTopologyBlock } from '../../core/graph/metrics.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { statusRecordKey } from '../../store/storage.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';
import type { GossipService } from './gossip.ts';
import type { OverlayService } from './overlay.ts';

/** How often the record is rebuilt; it is written only when it changed. */
export const statusRefreshIntervalMs = 2_000;

export type ServiceState = 'active' | 'degraded' | 'inactive';

export interface StatusRecord {
  swarm_id: string;
  coordinator_node: string | null;
  /**
   * `total_active_nodes` counts the live members gossip holds; `membership` says whether that
   * is the whole room or a sample of a larger one (then the count is a lower bound of the room).
   */
  mesh_topology: MeshTopologyBlock & { membership: 'whole-room' | 'sample' };
  services_status: {
    gossip_protocol: ServiceState;
    heartbeat_monitoring: ServiceState;
    peer_discovery: ServiceState;
    topology_optimization: ServiceState;
    consensus_ready: boolean;
  };
  /** Which node wrote this record, and when (wall-clock ms). */
  reported_by: string;
  updated_at: number;
}

/** What the record needs to know of consensus; absent where no consensus service runs. */
export interface ConsensusStatus {
  primary: string | null;
  replicas: string[];
  quorum: number;
  /** Faulty replicas the replica set tolerates (0 with fewer than 4 replicas). */
  f: number;
  halted: string | null;
}

export interface StatusRecordDeps {
  gossip: Pick<GossipService, 'view' | 'memberTable'>;
  overlay: OverlayService;
  consensus?: () => ConsensusStatus | null;
}

export class StatusRecordService implements Service {
  readonly protocol = 'status' as const;
  private ctx!: ServiceContext;
  private nextAt = 0;
  private lastWritten = '';
  private latest: StatusRecord | null = null;
  private signalingJoined = false;

  constructor(private readonly deps: StatusRecordDeps) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.nextAt = ctx.now() + statusRefreshIntervalMs;
  }

  onEvent(event: ServiceEvent): void {
    if (event.type === 'signaling') this.signalingJoined = event.joined;
  }

  receive(): void {
    this.ctx.reject('status records are not exchanged between nodes');
  }

  tick(now: Millis): void {
    this.nextAt = now + statusRefreshIntervalMs;
    this.refresh();
  }

  nextWakeAt(): Millis {
    return this.nextAt;
  }

  readonly commands = {
    /** The record as stored (read back from the node's storage, not from memory). */
    statusRecord: async () => {
      this.refresh();
      await this.writing;
      return (await this.ctx.storage.get(statusRecordKey)) ?? null;
    },
  };

  snapshot(): Record<string, unknown> {
    return { statusRecord: this.latest };
  }

  private writing: Promise<void> = Promise.resolve();

  /** Builds the record and writes it if anything but the timestamp changed. */
  private refresh(): void {
    const record = this.build();
    this.latest = record;
    const comparable = JSON.stringify({ ...record, updated_at: 0 });
    if (comparable === this.lastWritten) return;
    this.lastWritten = comparable;
    this.writing = this.ctx.storage.set(statusRecordKey, record).catch((error: unknown) => this.ctx.reject(`status record not saved: ${String(error)}`));
  }

  private build(): StatusRecord {
    const gossip = this.deps.gossip.view();
    const live = gossip.members.filter((m) => m.status === 'alive' || m.status === 'suspect');
    const sampled = this.deps.gossip.memberTable().sampled;
    const { metrics } = this.deps.overlay.metrics();
    const consensus = this.deps.consensus?.() ?? null;
    // Consensus's f counts only once this node follows a replica set ('bootstrapping' has none).
    const block = meshTopologyBlock(metrics, consensus && consensus.replicas.length > 0 ? consensus.f : null);
    const linked = this.ctx.linkedPeers().length;
    const gossipLive = gossip.status === 'alive' || gossip.status === 'suspect';
    return {
      swarm_id: `swarm-${this.ctx.room}`,
      // The consensus primary coordinates; without consensus, the smallest live id, which every
      // node that agrees on membership picks alike. A sampled table is no such agreement (each
      // node holds its own sample, and the smallest id comes and goes as the sample rotates):
      // there is no coordinator to name then.
      coordinator_node: consensus?.primary ?? (sampled ? null : (live.map((m) => m.id as NodeId).sort()[0] ?? null)),
      mesh_topology: { ...block, total_active_nodes: live.length, membership: sampled ? 'sample' : 'whole-room' },
      services_status: {
        gossip_protocol: gossipLive ? (linked > 0 || live.length <= 1 ? 'active' : 'degraded') : 'inactive',
        heartbeat_monitoring: gossipLive ? 'active' : 'inactive',
        peer_discovery: this.signalingJoined ? 'active' : linked > 0 ? 'degraded' : 'inactive',
        topology_optimization: 'active',
        consensus_ready: consensus !== null && consensus.halted === null && consensus.replicas.length > 0 && consensus.primary !== null,
      },
      reported_by: this.ctx.self,
      updated_at: this.ctx.now(),
    };
  }
}
