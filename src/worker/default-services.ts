// The protocol services every node runs, in start order — a tab's worker and the headless
// Node peer alike (src/worker/node.worker.ts, src/node/peer.ts). A new protocol joins every
// kind of node by being added here, once.
import type { Service } from './service.ts';
import { GossipService } from './services/gossip.ts';
import { OverlayService } from './services/overlay.ts';
import { RouteService } from './services/route.ts';
import { StatusRecordService, type ConsensusStatus } from './services/status-record.ts';
import { PbftService } from './services/pbft.ts';
import { gossipAccessFor } from './services/pbft-gossip.ts';
import { StealService } from './services/steal.ts';
import type { ComputePoolFactory } from './services/steal-pool.ts';
import { HealthService } from './services/health.ts';
import { SettingsService } from './services/settings.ts';
import { MembershipEventsService } from './services/membership-events.ts';
import { AppChannelService } from './services/app-channel.ts';
import type { ComputeSnapshot } from './services/steal-snapshot.ts';
import { DemoService } from './services/demo.ts';

export interface DefaultServiceOptions {
  /**
   * Where this node's compute kernels run. Default: kernel Web Workers where `Worker` exists (a
   * tab), else none (the node hands its tasks out but computes none). The Node peer passes its
   * worker_threads pool here.
   */
  computePool?: ComputePoolFactory;
}

export function createDefaultServices(options: DefaultServiceOptions = {}): Service[] {
  const gossip = new GossipService();
  // The overlay decides the links and knows the graph; routing reaches nodes beyond them.
  const overlay = new OverlayService();
  // Consensus reads the room's genesis record and the member list from gossip.
  const pbft = new PbftService({ gossip: gossipAccessFor(gossip) });
  // Start order: links first, then membership, consensus, the balancer; the status record last.
  const steal = new StealService(options.computePool ? { createPool: options.computePool } : {});
  return [
    overlay,
    new RouteService(overlay),
    gossip,
    pbft,
    steal,
    new StatusRecordService({ gossip, overlay, consensus: () => (pbft.snapshot().consensus as ConsensusStatus | undefined) ?? null }),
    // The coordination score reads the others; settings change them live.
    new HealthService({ gossip, overlay, consensus: () => pbft.consensus(), compute: () => (steal.snapshot().compute as ComputeSnapshot | undefined) ?? null }),
    new SettingsService({ gossip, overlay, pbft }),
    // The app's peer-join / peer-leave come from gossip's member list (src/api/peers.ts). Last,
    // so the services before it keep the random streams they had (seeded runs replay as before).
    new MembershipEventsService(gossip),
    // The app's channels: messages to any member (gossip's list for 'everyone'), routed when not
    // linked. After the others for the same reason.
    new AppChannelService({ members: () => gossip.view().members }),
    // Traces and fault requests for the consensus demo view (src/ui/demo); after the others for
    // the same reason.
    new DemoService({ pbft, steal, members: () => gossip.view().members }),
  ];
}
