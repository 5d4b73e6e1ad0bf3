// The status record's membership fields (src/worker/services/status-record.ts) over a gossip
// view held whole and one that is a sample of a larger room: a sample's count is marked as one,
// and its smallest id — which rotates with the sample — is not named coordinator.
import { describe, expect, test } from 'vitest';
import type { MemberStatus } from '../../src/core/gossip/index.ts';
import type { NodeId } from '../../src/core/types.ts';
import { GossipService } from '../../src/worker/services/gossip.ts';
import { OverlayService } from '../../src/worker/services/overlay.ts';
import { StatusRecordService, type ConsensusStatus, type StatusRecord } from '../../src/worker/services/status-record.ts';
import { fakeServiceContext } from './fake-service-context.ts';
import { gossipWithTable } from './sampled-gossip.ts';

const self = 'n-self' as NodeId;

async function recordWith(members: Array<[string, MemberStatus]>, sampled: boolean, consensus: ConsensusStatus | null = null): Promise<StatusRecord> {
  const ctx = () => fakeServiceContext(() => 1_700_000_000_000, 7, { self });
  const gossip = new GossipService();
  const overlay = new OverlayService();
  await overlay.start(ctx());
  await gossip.start(ctx());
  const status = new StatusRecordService({ gossip: gossipWithTable(gossip, [[self, 'alive'], ...members], sampled), overlay, consensus: () => consensus });
  await status.start(ctx());
  return (await status.commands.statusRecord()) as StatusRecord;
}

describe('status record over the member table', () => {
  test('a table held whole: its live count and smallest live id, as before', async () => {
    const record = await recordWith(
      [
        ['m-b', 'alive'],
        ['m-a', 'suspect'],
        ['a-gone', 'dead'],
      ],
      false,
    );
    expect(record.mesh_topology).toMatchObject({ total_active_nodes: 3, membership: 'whole-room' });
    expect(record.coordinator_node).toBe('m-a');
  });

  test('a sampled table: the count is marked as a sample, and no coordinator is made up from it', async () => {
    const record = await recordWith(
      [
        ['m-b', 'alive'],
        ['m-a', 'alive'],
      ],
      true,
    );
    expect(record.mesh_topology).toMatchObject({ total_active_nodes: 3, membership: 'sample' });
    expect(record.coordinator_node).toBeNull();
  });

  test('a sampled table with consensus: the primary is the coordinator, held in the sample or not', async () => {
    const consensus: ConsensusStatus = { primary: 'z-primary', replicas: ['z-primary', 'm-a', 'm-b', 'm-c'], quorum: 3, f: 1, halted: null };
    const record = await recordWith([['m-a', 'alive']], true, consensus);
    expect(record.coordinator_node).toBe('z-primary');
    expect(record.services_status.consensus_ready).toBe(true);
  });

  test('members rotating through a sample do not change the record', async () => {
    const before = await recordWith(
      [
        ['m-b', 'alive'],
        ['m-a', 'alive'],
      ],
      true,
    );
    const after = await recordWith(
      [
        ['m-c', 'alive'],
        ['a-new', 'alive'],
      ],
      true,
    );
    expect({ ...after, updated_at: 0 }).toEqual({ ...before, updated_at: 0 });
  });
});
