// The worker side of peer-join / peer-leave: the members service publishes the members it has
// learnt and those it heard depart — everything at start, then what each burst of gossip's
// member statuses changed — and answers 'members' with the whole lists.
import { describe, expect, it } from 'vitest';
import { MembershipEventsService, maxDepartedListed, membersEventName } from '../../../src/worker/services/membership-events.ts';
import type { MemberView } from '../../../src/core/gossip/index.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { fakeServiceContext } from '../fake-service-context.ts';

const id = (s: string) => s as NodeId;

describe('MembershipEventsService', () => {
  it('publishes who is present and departed at start, then the changes of each burst; the command answers the whole lists', async () => {
    const published: unknown[] = [];
    const members: MemberView[] = [
      { id: id('n-self'), status: 'alive', incarnation: 0 } as MemberView,
      { id: id('a'), status: 'alive', incarnation: 0 } as MemberView,
      { id: id('d'), status: 'dead', incarnation: 0 } as MemberView,
    ];
    const service = new MembershipEventsService({ view: () => ({ members }) });
    await service.start(fakeServiceContext(() => 0, 1, { publishEvent: (name, payload) => published.push({ name, payload }) }));
    expect(published).toEqual([{ name: membersEventName, payload: { members: ['a'], departed: ['d'] } }]);
    service.onEvent({ type: 'member-status', peer: id('b'), status: 'alive' });
    service.onEvent({ type: 'member-status', peer: id('a'), status: 'suspect' }); // still present: no change
    service.onEvent({ type: 'member-status', peer: id('c'), status: 'alive' });
    service.onEvent({ type: 'member-status', peer: id('n-self'), status: 'alive' });
    await Promise.resolve();
    service.onEvent({ type: 'member-status', peer: id('a'), status: 'left' });
    service.onEvent({ type: 'member-status', peer: id('b'), status: 'dead' });
    await Promise.resolve();
    expect(published.slice(1)).toEqual([
      { name: membersEventName, payload: { members: ['b', 'c'], departed: [] } },
      { name: membersEventName, payload: { members: [], departed: ['a', 'b'] } },
    ]);
    expect(service.commands.members()).toEqual({ members: ['c'], departed: ['d', 'a', 'b'] });
    service.onEvent({ type: 'member-status', peer: id('a'), status: 'alive' }); // a came back: no longer departed
    service.onEvent({ type: 'member-status', peer: id('b'), status: 'left' }); // said again: nothing new
    await Promise.resolve();
    service.onEvent({ type: 'member-status', peer: id('e'), status: 'alive' }); // joins and dies within one burst
    service.onEvent({ type: 'member-status', peer: id('e'), status: 'dead' });
    await Promise.resolve();
    expect(published.slice(3)).toEqual([
      { name: membersEventName, payload: { members: ['a'], departed: [] } },
      { name: membersEventName, payload: { members: [], departed: ['e'] } },
    ]);
    expect(service.commands.members()).toEqual({ members: ['c', 'a'], departed: ['d', 'b', 'e'] });
  });

  it('lists a departure even of a member it never held (a restarted worker: the page may know it), and drops the oldest beyond the cap', async () => {
    const published: Array<{ members: string[]; departed: string[] }> = [];
    const service = new MembershipEventsService({ view: () => ({ members: [] }) });
    await service.start(fakeServiceContext(() => 0, 1, { publishEvent: (_name, payload) => published.push(payload as (typeof published)[number]) }));
    for (let i = 0; i <= maxDepartedListed; i++) service.onEvent({ type: 'member-status', peer: id(`gone-${i}`), status: 'dead' });
    await Promise.resolve();
    expect(published).toHaveLength(2);
    for (const lists of [published[1], service.commands.members()]) {
      expect(lists?.members).toEqual([]);
      expect(lists?.departed).toHaveLength(maxDepartedListed);
      expect(lists?.departed[0]).toBe('gone-1');
      expect(lists?.departed.at(-1)).toBe(`gone-${maxDepartedListed}`);
    }
  });
});
