// What consensus needs from the gossip layer on the same node: the replicated memory (where the
// room's genesis record lives, see src/core/pbft-room/genesis.ts) and the member list (live peers to ask for
// news; dead and departed ones to remove). A narrow interface, so the consensus service can be
// tested with a fake and does not depend on the gossip service's internals.
import type { MemberStatus } from '../../core/gossip/index.ts';
import type { NodeId } from '../../core/types.ts';
import type { GossipService } from './gossip.ts';

export interface GossipAccess {
  /** The value under `key` in the replicated memory, or undefined. */
  memoryGet(key: string): unknown;
  /** Writes `key` (throws with the gossip layer's reason if it refuses). */
  memorySet(key: string, value: unknown): void;
  /** Every member known, this node included. */
  members(): ReadonlyArray<{ id: NodeId; status: MemberStatus }>;
  /** Whether the member table is full, so `members()` is a random sample of a larger room. */
  partialView(): boolean;
}

export function gossipAccessFor(gossip: GossipService): GossipAccess {
  return {
    memoryGet(key) {
      return gossip.get(key)?.value;
    },
    memorySet(key, value) {
      gossip.commands.setMemory([key, value]);
    },
    members: () => gossip.view().members,
    partialView: () => gossip.view().metrics.partialView,
  };
}
