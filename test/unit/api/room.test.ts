// The Room over a node (a FakeBackend plays the node): peer-join / peer-leave follow the node's
// member lists with the promised guarantees, memory calls check their arguments and report
// changes, and after leave() nothing is delivered and every call is refused with RoomClosedError.
import { describe, expect, it, vi } from 'vitest';
import { RoomImpl } from '../../../src/api/room.ts';
import { roomWhenReady } from '../../../src/api/join.ts';
import { AbortError, InvalidArgumentError, NodeRefusedError, NodeUnavailableError, RoomClosedError } from '../../../src/api/errors.ts';
import { membersEventName } from '../../../src/worker/services/membership-events.ts';
import { FakeBackend, nodeId } from './fake-backend.ts';

const self = nodeId(0);
const [a, b, c] = [nodeId(1), nodeId(2), nodeId(3)];

/** Lets promise callbacks (the room's first 'members' command) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function roomOver(backend = new FakeBackend()) {
  const room = new RoomImpl(backend, self, 'r');
  const log: string[] = [];
  room.on('peer-join', (peer) => log.push(`join ${peer.slice(0, 3)}`));
  room.on('peer-leave', (peer) => log.push(`leave ${peer.slice(0, 3)}`));
  return { room, backend, log };
}

describe('Room peer events', () => {
  /** A 'members' payload as the node's members service sends it. */
  const lists = (members: string[], departed: string[] = []) => ({ members, departed });

  it('starts from the members the node has now, then follows its lists: one join per membership, leaves only after joins', async () => {
    const backend = new FakeBackend();
    backend.members = [a];
    const { room, log } = roomOver(backend);
    await settle();
    expect(log).toEqual(['join 001']);
    backend.publishEvent(membersEventName, lists([a, b]));
    backend.publishEvent(membersEventName, lists([a, b])); // repeated: nothing new
    backend.publishEvent(membersEventName, lists([b, self], [a])); // self is never a peer; a departed
    backend.publishEvent(membersEventName, lists([b, a])); // a rejoins after its leave
    expect(log).toEqual(['join 001', 'join 002', 'leave 001', 'join 001']);
    expect(room.peers()).toEqual([b, a]);
  });

  it('never reports a leave for a peer it did not report joining', async () => {
    const { backend, log } = roomOver();
    await settle();
    backend.publishEvent(membersEventName, lists([], [a]));
    backend.publishEvent(membersEventName, lists([c]));
    backend.publishEvent(membersEventName, lists([], [c]));
    backend.publishEvent(membersEventName, lists([], [c]));
    expect(log).toEqual(['join 003', 'leave 003']);
  });

  it('keeps a peer missing from a list that does not say it departed (a rotating sample, a restarted worker relearning the room)', async () => {
    const { room, backend, log } = roomOver();
    await settle();
    backend.publishEvent(membersEventName, lists([a, b, c]));
    backend.publishEvent(membersEventName, lists([b])); // a restarted worker that has relearnt only b
    backend.publishEvent(membersEventName, lists([])); // a sample that rotated b out
    expect(room.peers()).toEqual([a, b, c]);
    backend.publishEvent(membersEventName, lists([a], [c])); // c died meanwhile, wherever it was in the sample
    expect(log).toEqual(['join 001', 'join 002', 'join 003', 'leave 003']);
    expect(room.peers()).toEqual([a, b]);
  });

  it('refuses a malformed members list without touching the peers', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { room, backend, log } = roomOver();
    await settle();
    backend.publishEvent(membersEventName, lists([a]));
    backend.publishEvent(membersEventName, lists(['not an id']));
    backend.publishEvent(membersEventName, 'garbage');
    backend.publishEvent(membersEventName, { members: [b] }); // no departed list
    backend.publishEvent(membersEventName, lists([b], [a, b])); // b both present and departed
    expect(log).toEqual(['join 001']);
    expect(room.peers()).toEqual([a]);
    expect(warn).toHaveBeenCalledTimes(4);
    expect(warn).toHaveBeenLastCalledWith(expect.any(String), 'a peer is listed both present and departed');
    warn.mockRestore();
  });

  it('keeps telling other listeners when one throws, and stops a listener on unsubscribe or off', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { room, backend, log } = roomOver();
    await settle();
    room.on('peer-join', () => {
      throw new Error('app bug');
    });
    const seen: string[] = [];
    const listener = (peer: string) => seen.push(peer);
    const unsubscribe = room.on('peer-join', listener);
    backend.publishEvent(membersEventName, lists([a]));
    unsubscribe();
    backend.publishEvent(membersEventName, lists([a, b]));
    room.on('peer-join', listener);
    room.off('peer-join', listener);
    backend.publishEvent(membersEventName, lists([a, b, c]));
    expect(seen).toEqual([a]);
    expect(log).toEqual(['join 001', 'join 002', 'join 003']);
    expect(error).toHaveBeenCalledTimes(3);
    error.mockRestore();
  });

  it('checks on() arguments', () => {
    const { room } = roomOver();
    expect(() => room.on('peer-joined' as 'peer-join', () => {})).toThrow(InvalidArgumentError);
    expect(() => room.on('peer-join', 'nope' as unknown as () => void)).toThrow(/room.on: listener: must be a function/);
  });
});

describe('Room leave', () => {
  it('is idempotent, closes the node once, delivers nothing afterwards and refuses every call with RoomClosedError', async () => {
    const { room, backend, log } = roomOver();
    await settle();
    const first = room.leave();
    expect(room.leave()).toBe(first);
    await first;
    expect(backend.closedCount).toBe(1);
    expect(room.closed).toBe(true);
    expect(backend.eventListenerCount(membersEventName)).toBe(0);
    backend.publishEvent(membersEventName, { members: [a], departed: [] });
    expect(log).toEqual([]);
    expect(() => room.peers()).toThrow(RoomClosedError);
    expect(() => room.on('peer-join', () => {})).toThrow(RoomClosedError);
    expect(() => room.memory.get('k')).toThrow(RoomClosedError);
    await expect(room.memory.set('k', 1)).rejects.toMatchObject({ code: 'room-closed' });
    expect(() => room.snapshot()).toThrow(/joinRoom\(\) again/);
  });
});

describe('Room memory', () => {
  it('checks keys and values before anything reaches the node', async () => {
    const { room, backend } = roomOver();
    await settle();
    backend.commands.length = 0;
    await expect(room.memory.set('', 1)).rejects.toThrow(/memory.set: key: must be a string of 1–256 characters/);
    await expect(room.memory.set('k', undefined)).rejects.toThrow(/use memory.delete/);
    await expect(room.memory.set('k', { f: () => 1 })).rejects.toThrow(InvalidArgumentError);
    await expect(room.memory.set('k', 'x'.repeat(9000))).rejects.toThrow(/the limit is 8192/);
    expect(() => room.memory.get(5 as unknown as string)).toThrow(InvalidArgumentError);
    expect(backend.commands).toEqual([]);
    await room.memory.set('k', { n: 1 });
    expect(backend.commands).toEqual([{ name: 'setMemory', args: ['k', { n: 1 }] }]);
  });

  it('turns a refusal by the node into a typed error with its code', async () => {
    const { room, backend } = roomOver();
    backend.answer = () => {
      throw Object.assign(new Error('the memory holds 10000 keys already; delete some first'), { code: 'memory-full' });
    };
    await expect(room.memory.set('k', 1)).rejects.toSatisfy((e) => e instanceof NodeRefusedError && e.code === 'memory-full');
  });

  it('reads, lists and deletes, and tells every change with its origin', async () => {
    const { room, backend } = roomOver();
    await settle();
    const changes: unknown[] = [];
    room.memory.on('change', (change) => changes.push(change));
    backend.publishMemory([{ key: 'k', value: { n: 1 }, origin: a, hlc: '1' }]);
    expect(room.memory.get('k')).toEqual({ n: 1 });
    expect(room.memory.has('k')).toBe(true);
    expect(room.memory.entries()).toEqual([]); // entries come from snapshots: none yet
    backend.publishSnapshot({ id: self });
    expect(room.memory.entries()).toEqual([{ key: 'k', value: { n: 1 }, origin: a, hlc: '1' }]);
    expect(await room.memory.delete('absent')).toBe(false);
    expect(await room.memory.delete('k')).toBe(true);
    backend.publishMemory([{ key: 'k', origin: self, hlc: '2' }]);
    expect(room.memory.get('k')).toBeUndefined();
    expect(changes).toEqual([
      { key: 'k', value: { n: 1 }, deleted: false, origin: a, hlc: '1' },
      { key: 'k', value: undefined, deleted: true, origin: self, hlc: '2' },
    ]);
  });

  it('after a worker restart (the whole memory again) tells only what differs', async () => {
    const { room, backend } = roomOver();
    backend.publishMemory([
      { key: 'same', value: 1, origin: a, hlc: '1' },
      { key: 'gone', value: 2, origin: a, hlc: '1' },
    ]);
    const changes: Array<{ key: string; deleted: boolean }> = [];
    room.memory.on('change', ({ key, deleted }) => changes.push({ key, deleted }));
    backend.publishMemory(
      [
        { key: 'same', value: 1, origin: a, hlc: '1' },
        { key: 'new', value: 3, origin: b, hlc: '5' },
      ],
      true,
    );
    expect(changes).toEqual([
      { key: 'gone', deleted: true },
      { key: 'new', deleted: false },
    ]);
  });
});

describe('roomWhenReady', () => {
  it('resolves with a Room once the node has its id', async () => {
    const backend = new FakeBackend();
    const ready = roomWhenReady(backend, 'r', undefined, () => null);
    backend.publishSnapshot({ id: self });
    const room = await ready;
    expect(room.id).toBe(self);
    expect(room.room).toBe('r');
  });

  it('rejects with an AbortError and closes the node when the signal aborts first', async () => {
    const backend = new FakeBackend();
    const controller = new AbortController();
    const ready = roomWhenReady(backend, 'r', controller.signal, () => null);
    controller.abort('changed my mind');
    await expect(ready).rejects.toSatisfy((e) => e instanceof AbortError && e.name === 'AbortError' && e.code === 'aborted' && e.reason === 'changed my mind');
    expect(backend.closedCount).toBe(1);
  });

  it('rejects with NodeUnavailableError when the node reports it failed', async () => {
    const backend = new FakeBackend();
    const ready = roomWhenReady(backend, 'r', undefined, () => 'the protocol worker failed 4 times');
    backend.publishSnapshot({ id: '' });
    await expect(ready).rejects.toSatisfy((e) => e instanceof NodeUnavailableError && /failed 4 times/.test(e.message));
  });
});
