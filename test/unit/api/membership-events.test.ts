// The worker side of peer-join / peer-leave: the members service publishes the whole present
// set whenever gossip's member statuses change it (one list per burst), and answers 'members'.
import { describe, expect, it } from 'vitest';
import { MembershipEventsService, membersEventName } from '../../../src/worker/services/membership-events.ts';
import type { MemberView } from '../../../src/core/gossip/index.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { fakeServiceContext } from '../fake-service-context.ts';

const id = (s: string) => s as NodeId;

describe('MembershipEventsService', () => {
  it('publishes who is present at start and after each burst of status changes', async () => {
    const published: unknown[] = [];
    const members: MemberView[] = [
      { id: id('n-self'), status: 'alive', incarnation: 0 } as MemberView,
      { id: id('a'), status: 'alive', incarnation: 0 } as MemberView,
      { id: id('d'), status: 'dead', incarnation: 0 } as MemberView,
    ];
    const service = new MembershipEventsService({ view: () => ({ members }) });
    await service.start(fakeServiceContext(() => 0, 1, { publishEvent: (name, payload) => published.push({ name, payload }) }));
    expect(published).toEqual([{ name: membersEventName, payload: { members: ['a'] } }]);
    service.onEvent({ type: 'member-status', peer: id('b'), status: 'alive' });
    service.onEvent({ type: 'member-status', peer: id('a'), status: 'suspect' }); // still present: no change
    service.onEvent({ type: 'member-status', peer: id('c'), status: 'alive' });
    service.onEvent({ type: 'member-status', peer: id('n-self'), status: 'alive' });
    await Promise.resolve();
    service.onEvent({ type: 'member-status', peer: id('a'), status: 'left' });
    service.onEvent({ type: 'member-status', peer: id('b'), status: 'dead' });
    await Promise.resolve();
    expect(published.slice(1)).toEqual([
      { name: membersEventName, payload: { members: ['a', 'b', 'c'] } },
      { name: membersEventName, payload: { members: ['c'] } },
    ]);
    expect(service.commands.members()).toEqual(['c']);
  });
});
