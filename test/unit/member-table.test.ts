// The member table's description in the snapshot (src/worker/services/member-table.ts): what
// gossip's view says of it, the decoder every reader checks it with, and the phrase shown.
import { describe, expect, test } from 'vitest';
import { decodeMemberTable, memberTableOf, memberTableText } from '../../src/worker/services/member-table.ts';
import { GossipService } from '../../src/worker/services/gossip.ts';
import { decodeWorkerToPage } from '../../src/worker/protocol.ts';
import type { MemberView } from '../../src/core/gossip/index.ts';
import type { NodeId } from '../../src/core/types.ts';
import { fakeServiceContext } from './fake-service-context.ts';

const m = (id: string, status: MemberView['status']): MemberView => ({ id: id as NodeId, status, incarnation: 0 });
const members = [m('a', 'alive'), m('b', 'suspect'), m('c', 'dead'), m('d', 'left'), m('e', 'alive')];

describe('memberTableOf', () => {
  test('a full table is a sample; live counts alive and suspect members, not dead or departed ones', () => {
    expect(memberTableOf({ members, metrics: { partialView: true } as never }, 3)).toEqual({ sampled: true, live: 3, viewSize: 3 });
    expect(memberTableOf({ members, metrics: { partialView: false } as never }, 320)).toEqual({ sampled: false, live: 3, viewSize: 320 });
  });

  test('says a sample is one, and claims no more of the room than the live members held', () => {
    expect(memberTableText({ sampled: true, live: 320, viewSize: 320 })).toBe('a sample of 320 from a room of ≥ 320');
    expect(memberTableText({ sampled: false, live: 12, viewSize: 320 })).toBe('the whole room');
  });
});

describe('decodeMemberTable', () => {
  test('accepts the shape the gossip service posts', () => {
    expect(decodeMemberTable({ sampled: true, live: 320, viewSize: 320 })).toEqual({ ok: true, value: { sampled: true, live: 320, viewSize: 320 } });
  });

  test.each<[unknown, RegExp]>([
    [null, /object/i],
    [{ sampled: 'yes', live: 1, viewSize: 3 }, /^sampled: /],
    [{ sampled: true, live: -1, viewSize: 3 }, /^live: /],
    [{ sampled: true, live: 1.5, viewSize: 3 }, /^live: /],
    [{ sampled: true, live: 1, viewSize: 0 }, /^viewSize: /],
    [{ sampled: true, live: 1e9, viewSize: 3 }, /^live: /],
    [{ sampled: true, live: 1 }, /^viewSize: /],
    [{ sampled: true, live: 1, viewSize: 3, extra: 1 }, /^extra: /],
  ])('refuses %j with a reason naming the field', (raw, reason) => {
    const decoded = decodeMemberTable(raw);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error).toMatch(reason);
  });
});

describe("the gossip service's snapshot", () => {
  test('carries the member table (a lone node holds the whole room) and it crosses to the page intact', async () => {
    const service = new GossipService();
    await service.start(fakeServiceContext(() => 1_000, 1, { self: `${'B'.repeat(42)}A` as NodeId }));
    const snapshot = service.snapshot();
    expect(snapshot.memberTable).toEqual({ sampled: false, live: 1, viewSize: 320 });
    const posted = decodeWorkerToPage({ type: 'snapshot', snapshot });
    expect(posted.ok).toBe(true);
    if (posted.ok && posted.value.type === 'snapshot') expect(decodeMemberTable(posted.value.snapshot.memberTable).ok).toBe(true);
  });
});
