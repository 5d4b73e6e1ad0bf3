// The protocol services every node runs, in start order — a tab's worker and the headless
// Node peer alike (src/worker/node.worker.ts, src/node/peer.ts). A new protocol joins every
// kind of node by being added here, once.
import type { Service } from './service.ts';
import { GossipService } from './services/gossip.ts';

export function createDefaultServices(): Service[] {
  return [new GossipService()];
}
