// rooms.ts without sockets: who is told what, who may reach whom, and the caps.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng } from '../../src/core/rng.ts';
import { asNodeId, type NodeId } from '../../src/core/types.ts';
import { RoomRegistry, roomKeyOf, type RoomLimits } from '../../signaling/rooms.ts';

const limits: RoomLimits = { maxNodesPerRoom: 256, maxRooms: 1_000, maxPeersInJoinSample: 8 };
const node = (n: number): NodeId => asNodeId(`node-${n}`);

function registry(overrides: Partial<RoomLimits> = {}, seed = 7) {
  return new RoomRegistry<string>(createRng(seed), { ...limits, ...overrides });
}

describe('RoomRegistry', () => {
  it('gives a joining node a sample of at most 8 distinct others from its own room, and lists it among the members', () => {
    const rooms = registry();
    for (let i = 0; i < 12; i++) rooms.join(`c${i}`, 'lobby', node(i));
    rooms.join('elsewhere', 'other', node(99));

    const outcome = rooms.join('c12', 'lobby', node(12));
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.peers).toHaveLength(8);
    expect(new Set(outcome.peers).size).toBe(8);
    for (const p of outcome.peers) expect(Number(p.slice(5))).toBeLessThan(12);
    expect([...rooms.members(outcome.key)].sort()).toEqual([...Array.from({ length: 12 }, (_, i) => `c${i}`), 'c12'].sort());
  });

  it('tells a small room everything: fewer peers than the sample size are all returned', () => {
    const rooms = registry();
    rooms.join('a', 'r', node(1));
    rooms.join('b', 'r', node(2));
    const outcome = rooms.join('c', 'r', node(3));
    expect(outcome.ok && [...outcome.peers].sort()).toEqual([node(1), node(2)]);
  });

  it('samples every peer eventually (the sample is random, not the first eight)', () => {
    const rooms = registry({}, 12345);
    for (let i = 0; i < 20; i++) rooms.join(`c${i}`, 'lobby', node(i));
    const seen = new Set<NodeId>();
    for (let k = 0; k < 50; k++) {
      const outcome = rooms.join('probe', 'lobby', node(1000));
      if (!outcome.ok) throw new Error(outcome.message);
      outcome.peers.forEach((p) => seen.add(p));
      rooms.leave('probe');
    }
    expect(seen.size).toBe(20);
  });

  it('reports a departure, says when it emptied the room, and forgets empty rooms', () => {
    const rooms = registry();
    rooms.join('a', 'r', node(1));
    rooms.join('b', 'r', node(2));
    expect(rooms.leave('a')).toEqual({ room: 'r', key: 'r', id: node(1), emptied: false });
    expect([...rooms.members(roomKeyOf('r', undefined))]).toEqual(['b']);
    expect(rooms.leave('a')).toBeNull();
    expect(rooms.leave('b')).toEqual({ room: 'r', key: 'r', id: node(2), emptied: true });
    expect(rooms.counts()).toEqual({ rooms: 0, nodes: 0 });
  });

  it('keeps open and private rooms of one name apart, and private rooms of one name apart per verifier', () => {
    const rooms = registry();
    const v1 = 'a'.repeat(43);
    const v2 = 'b'.repeat(43);
    const open = rooms.join('open', 'lobby', node(1));
    const first = rooms.join('p1', 'lobby', node(2), v1);
    const second = rooms.join('p2', 'lobby', node(3), v1);
    const other = rooms.join('q1', 'lobby', node(4), v2);
    expect([open, first, second, other].map((o) => o.ok && o.created)).toEqual([true, true, false, true]);
    expect(second.ok && second.peers).toEqual([node(2)]);
    expect(other.ok && other.peers).toEqual([]);
    expect(rooms.privateRoomsNamed('lobby')).toBe(2);
    expect(rooms.privateRoomCount()).toBe(2);
    expect(rooms.route('open', node(2))).toMatchObject({ ok: false, code: 'unknown-peer' });
    expect(rooms.route('p1', node(3))).toMatchObject({ ok: true, target: 'p2' });
    rooms.leave('q1');
    expect(rooms.privateRoomsNamed('lobby')).toBe(1);
  });
});

describe('RoomRegistry: routes and caps', () => {
  it('routes signals only within a room', () => {
    const rooms = registry();
    rooms.join('a', 'r1', node(1));
    rooms.join('b', 'r1', node(2));
    rooms.join('c', 'r2', node(3));
    expect(rooms.route('a', node(2))).toEqual({ ok: true, from: node(1), target: 'b' });
    expect(rooms.route('a', node(3))).toMatchObject({ ok: false, code: 'unknown-peer' });
    expect(rooms.route('a', node(1))).toMatchObject({ ok: false, code: 'bad-message' });
    expect(rooms.route('nobody', node(1))).toMatchObject({ ok: false, code: 'not-joined' });
  });

  it('refuses a second join on one connection and a second connection for one id, keeping the first', () => {
    const rooms = registry();
    rooms.join('a', 'r', node(1));
    expect(rooms.join('a', 'r2', node(2))).toMatchObject({ ok: false, code: 'already-joined' });
    expect(rooms.join('b', 'r2', node(1))).toMatchObject({ ok: false, code: 'duplicate-id' });
    expect(rooms.membership('a')).toEqual({ room: 'r', key: 'r', id: node(1) });
    expect(rooms.membership('b')).toBeUndefined();
    expect(rooms.counts()).toEqual({ rooms: 1, nodes: 1 });
  });

  it('caps nodes per room and rooms per server, and frees the slots again', () => {
    const rooms = registry({ maxNodesPerRoom: 2, maxRooms: 2 });
    rooms.join('a', 'r1', node(1));
    rooms.join('b', 'r1', node(2));
    const full = rooms.join('c', 'r1', node(3));
    expect(full).toMatchObject({ ok: false, code: 'room-full' });
    expect(!full.ok && full.message).toContain('r1');
    rooms.join('d', 'r2', node(4));
    expect(rooms.join('e', 'r3', node(5))).toMatchObject({ ok: false, code: 'server-full' });
    rooms.leave('d');
    expect(rooms.join('e', 'r3', node(5))).toMatchObject({ ok: true });
    rooms.leave('a');
    expect(rooms.join('c', 'r1', node(3))).toMatchObject({ ok: true });
  });
});

describe('RoomRegistry under any sequence of joins and leaves', () => {
  it('keeps its invariants under any sequence of joins and leaves', () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('join' as const),
        conn: fc.integer({ min: 0, max: 15 }),
        room: fc.integer({ min: 0, max: 3 }),
        id: fc.integer({ min: 0, max: 15 }),
      }),
      fc.record({ kind: fc.constant('leave' as const), conn: fc.integer({ min: 0, max: 15 }) }),
    );
    try {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 200 }), fc.integer(), (ops, rngSeed) => {
          const caps = { maxNodesPerRoom: 4, maxRooms: 3, maxPeersInJoinSample: 2 };
          const rooms = new RoomRegistry<number>(createRng(rngSeed), caps);
          // The model: conn → { room, id }.
          const model = new Map<number, { room: string; id: NodeId }>();
          for (const o of ops) {
            if (o.kind === 'join') {
              const room = `r${o.room}`;
              const id = node(o.id);
              const before = [...model.entries()].filter(([, m]) => m.room === room);
              const outcome = rooms.join(o.conn, room, id);
              if (outcome.ok) {
                expect(model.has(o.conn)).toBe(false);
                expect([...model.values()].some((m) => m.id === id)).toBe(false);
                expect(outcome.peers.length).toBe(Math.min(caps.maxPeersInJoinSample, before.length));
                for (const p of outcome.peers) expect(before.some(([, m]) => m.id === p)).toBe(true);
                expect([...rooms.members(outcome.key)].sort()).toEqual([...before.map(([c]) => c), o.conn].sort());
                model.set(o.conn, { room, id });
              }
            } else {
              const departure = rooms.leave(o.conn);
              const had = model.get(o.conn);
              expect(departure?.id).toBe(had?.id);
              model.delete(o.conn);
              if (had) {
                const rest = [...model.entries()].filter(([, m]) => m.room === had.room).map(([c]) => c);
                expect([...rooms.members(roomKeyOf(had.room, undefined))].sort()).toEqual(rest.sort());
                expect(departure?.emptied).toBe(rest.length === 0);
              }
            }
            const roomNames = new Set([...model.values()].map((m) => m.room));
            expect(rooms.counts()).toEqual({ rooms: roomNames.size, nodes: model.size });
            for (const r of roomNames) expect(rooms.roomSize(r)).toBeLessThanOrEqual(caps.maxNodesPerRoom);
            expect(roomNames.size).toBeLessThanOrEqual(caps.maxRooms);
          }
        }),
        { seed, numRuns: process.env.LONG ? 2_000 : 200 },
      );
    } catch (err) {
      console.error(`SEED=${seed} npx vitest run --project unit test/signaling/rooms.test.ts`);
      throw err;
    }
  });
});
