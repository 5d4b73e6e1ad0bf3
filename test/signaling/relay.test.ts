// Rooms over real sockets: signed joins, samples, announcements, relay and isolation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maxPeersInJoinSample } from '../../signaling/protocol.ts';
import { joinFrame, joinMany, newIdentity, startServer, TestClient, type Running } from './helpers.ts';

let running: Running;
const clients: TestClient[] = [];
const track = <T extends TestClient | TestClient[]>(c: T): T => {
  clients.push(...(Array.isArray(c) ? c : [c]));
  return c;
};

beforeEach(async () => {
  running = await startServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await running.server.close();
});

describe('joining a room', () => {
  it('welcomes with a fresh challenge and accepts a join signed with a real Ed25519 key', async () => {
    const a = track(await TestClient.connect(running.wsUrl));
    const b = track(await TestClient.connect(running.wsUrl));
    expect(a.challenge).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
    expect(a.challenge).not.toBe(b.challenge);
    const joined = await a.join('lobby');
    expect(joined).toEqual({ self: a.id, peers: [] });
    expect(running.server.stats()).toMatchObject({ rooms: 1, nodes: 1, connections: 2 });
  });

  it(`tells a newcomer at most ${maxPeersInJoinSample} peers of a 12-node room, and tells all 12 about it`, async () => {
    const members = track(await joinMany(running.wsUrl, 'big', 12));
    const ids = new Set(members.map((m) => m.id));
    const newcomer = track(await TestClient.connect(running.wsUrl));
    const { peers } = await newcomer.join('big');
    expect(peers.length).toBe(maxPeersInJoinSample);
    expect(new Set(peers).size).toBe(peers.length);
    for (const p of peers) expect(ids.has(p)).toBe(true);
    for (const m of members) await m.announced({ joined: [newcomer.id] });
  });

  it('announces a departure to the rest of the room, whether by close or by leave', async () => {
    const [a, b, c] = track(await joinMany(running.wsUrl, 'room', 3)) as [TestClient, TestClient, TestClient];
    await a.drain();
    await b.drain();
    c.close();
    await a.announced({ left: [c.id] });
    await b.announced({ left: [c.id] });

    b.send({ type: 'leave' });
    await a.announced({ left: [b.id] });
    expect(await b.closed).toEqual({ code: 1000, reason: 'left' });
    expect(running.server.stats()).toMatchObject({ rooms: 1, nodes: 1 });
  });

  it('lets a reconnecting node join again once its old connection is gone', async () => {
    const identity = newIdentity();
    const first = track(await TestClient.connect(running.wsUrl));
    await first.join('r', identity);
    first.close();
    await first.closed;
    // The server may see the new join before the old close; then it answers duplicate-id and
    // closes with 1013 ("try again later"), and the client reconnects, as a real client does.
    for (;;) {
      const again = track(await TestClient.connect(running.wsUrl));
      again.send(joinFrame(again.challenge, 'r', identity));
      const frame = await again.next();
      if (frame.type === 'joined') break;
      expect(frame).toMatchObject({ type: 'error', code: 'duplicate-id' });
      expect((await again.closed).code).toBe(1013);
    }
  });
});

describe('relaying signals', () => {
  it('relays a signal to its addressee with the server-stamped sender', async () => {
    const [a, b, c] = track(await joinMany(running.wsUrl, 'room', 3)) as [TestClient, TestClient, TestClient];
    await Promise.all([a.drain(), b.drain(), c.drain()]);
    const data = { sdp: { type: 'offer', sdp: 'v=0…' }, sig: 'x' };
    a.send({ type: 'signal', to: b.id, data });
    expect(await b.next()).toEqual({ type: 'signal', from: a.id, data });
    // `from` may be given when it is the sender's own id.
    b.send({ type: 'signal', to: a.id, from: b.id, data: { candidate: 'c' } });
    expect(await a.next()).toEqual({ type: 'signal', from: b.id, data: { candidate: 'c' } });
    expect(await c.drain()).toEqual([]);
    expect(running.server.stats().relayedSignals).toBe(2);
  });

  it('keeps rooms apart: no announcements or signals cross, and a foreign id is an unknown peer', async () => {
    const [a, b] = track(await joinMany(running.wsUrl, 'red', 2)) as [TestClient, TestClient];
    const [x, y] = track(await joinMany(running.wsUrl, 'blue', 2)) as [TestClient, TestClient];
    await Promise.all([a.drain(), x.drain()]);

    a.send({ type: 'signal', to: x.id, data: { hello: 1 } });
    const refused = await a.nextError();
    expect(refused.code).toBe('unknown-peer');
    expect(refused.message).toContain('red');

    a.send({ type: 'signal', to: b.id, data: { hello: 2 } });
    expect(await b.next()).toMatchObject({ type: 'signal', from: a.id });
    b.close();
    await a.announced({ left: [b.id] });
    // Everything above has been processed; blue heard none of it.
    expect(await x.drain()).toEqual([]);
    expect(await y.drain()).toEqual([]);
    for (const member of [x, y]) {
      for (const id of [...member.announcements.flatMap((f) => [...f.joined, ...f.left])]) expect([x.id, y.id]).toContain(id);
    }
  });
});
