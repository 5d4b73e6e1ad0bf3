// A gossip service's view with its member table replaced: the members a test names, and whether
// the table is full (a sample of a larger room, `partialView`). Gossip fills its table only past
// viewSize (320) live members, too many for a unit test of a reader; every other field of the
// view is the real service's.
import type { MemberStatus } from '../../src/core/gossip/index.ts';
import type { NodeId } from '../../src/core/types.ts';
import type { GossipService } from '../../src/worker/services/gossip.ts';
import { memberTableOf } from '../../src/worker/services/member-table.ts';

export type SampledGossip = Pick<GossipService, 'view' | 'memberTable'>;

export function gossipWithTable(real: GossipService, members: Array<[string, MemberStatus]>, sampled: boolean, viewSize = 4): SampledGossip {
  const view = () => {
    const base = real.view();
    return {
      ...base,
      members: members.map(([id, status]) => ({ id: id as NodeId, status, incarnation: 0 })),
      metrics: { ...base.metrics, partialView: sampled },
    };
  };
  return { view, memberTable: () => memberTableOf(view(), viewSize) };
}
