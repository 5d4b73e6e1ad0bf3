// room.consensus(name, machine): the Room's hook to createConsensus. Over the fake room's node
// (fake-room.ts), a machine proposed to through the Room applies like any other; leave() closes
// it (open proposals reject with 'closed') and later calls are refused with RoomClosedError.
import { describe, expect, test } from 'vitest';
import { RoomImpl } from '../../../src/api/room.ts';
import { RoomClosedError } from '../../../src/api/errors.ts';
import { asNodeId } from '../../../src/core/types.ts';
import { commitAll, FakeRoom } from './fake-room.ts';

const tally = () => ({
  n: 0,
  apply(op: number) {
    this.n += op;
    return this.n;
  },
  snapshot() {
    return this.n;
  },
  restore(n: number) {
    this.n = n;
  },
});

describe('room.consensus', () => {
  test('runs a machine through the Room; leave closes it', async () => {
    const fake = new FakeRoom(['A', 'B', 'C', 'D'].map(asNodeId));
    const room = new RoomImpl(fake.node('A').backend, 'A', 'r');
    const other = createdElsewhere(fake);
    const machine = tally();
    const tallyInRoom = room.consensus('tally', machine);
    const result = tallyInRoom.propose(5);
    await commitAll(fake);
    expect(await result).toBe(5);
    expect(other.n).toBe(5);
    const open = tallyInRoom.propose(1).catch((error: unknown) => error);
    await room.leave();
    expect(await open).toMatchObject({ code: 'closed' });
    expect(() => room.consensus('tally', tally())).toThrow(RoomClosedError);
  });
});

/** The same machine on another node of the room. */
function createdElsewhere(fake: FakeRoom) {
  const machine = tally();
  new RoomImpl(fake.node('B').backend, 'B', 'r').consensus('tally', machine);
  return machine;
}
