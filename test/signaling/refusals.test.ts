// Bad input of every kind: each gets an error frame a person can act on, is counted, and
// disturbs nobody else — the sender's own connection included, unless it keeps flooding.
import { afterEach, describe, expect, it } from 'vitest';
import { maxFrameBytes } from '../../signaling/protocol.ts';
import { hardFrameBytes, rateLimitBurst } from '../../signaling/limits.ts';
import { joinFrame, joinMany, newIdentity, startServer, TestClient, type Running } from './helpers.ts';
import type { TabmeshServerOptions } from '../../signaling/server.ts';

const servers: Running[] = [];
const clients: TestClient[] = [];
async function serve(options: TabmeshServerOptions = {}): Promise<Running> {
  const running = await startServer(options);
  servers.push(running);
  return running;
}
async function connect(url: string, options = {}): Promise<TestClient> {
  const c = await TestClient.connect(url, options);
  clients.push(c);
  return c;
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.server.close();
});

describe('malformed frames', () => {
  it('refuses bad JSON, unknown types, schema failures and binary frames, and the connection still works', async () => {
    const { wsUrl, server } = await serve();
    const c = await connect(wsUrl);

    c.send('{"type": "join", ');
    expect(await c.nextError()).toMatchObject({ code: 'bad-json', message: expect.stringContaining('JSON') });

    c.send({ type: 'subscribe', room: 'x' });
    const unknown = await c.nextError();
    expect(unknown.code).toBe('bad-message');
    expect(unknown.message).toMatch(/type/);

    c.send({ type: 'join', room: 'lobby', id: 'short', sig: 'x'.repeat(86) });
    const badId = await c.nextError();
    expect(badId.code).toBe('bad-message');
    expect(badId.message).toContain('id: a node id is the canonical base64url form (43 characters)');

    c.send({ type: 'join', room: 'no spaces allowed', id: 'A'.repeat(43), sig: 'x'.repeat(86), extra: 1 });
    expect((await c.nextError()).code).toBe('bad-message');

    c.send('[1,2,3]');
    expect((await c.nextError()).code).toBe('bad-message');

    c.ws.send(Buffer.from('{"type":"leave"}'), { binary: true });
    expect(await c.nextError()).toMatchObject({ code: 'bad-message', message: expect.stringContaining('text frames') });

    await c.join('lobby');
    expect(server.stats().refusals).toMatchObject({ 'bad-json': 1, 'bad-message': 5 });
  });

  it(`refuses a frame over ${maxFrameBytes} bytes with too-large, keeps the connection, and closes with 1009 beyond ${hardFrameBytes}`, async () => {
    const { wsUrl, server } = await serve();
    const [a, b] = (await joinMany(wsUrl, 'r', 2)) as [TestClient, TestClient];
    clients.push(a, b);
    await a.drain();

    const padding = 'x'.repeat(maxFrameBytes);
    a.send({ type: 'signal', to: b.id, data: { padding } });
    const refused = await a.nextError();
    expect(refused.code).toBe('too-large');
    expect(refused.message).toContain(String(maxFrameBytes));

    // Just under the limit still goes through.
    const fits = 'y'.repeat(maxFrameBytes - 200);
    a.send({ type: 'signal', to: b.id, data: { fits } });
    expect(await b.next()).toEqual({ type: 'signal', from: a.id, data: { fits } });

    a.send('z'.repeat(hardFrameBytes + 1));
    expect((await a.closed).code).toBe(1009);
    await b.announced({ left: [a.id] });
    expect(server.stats().refusals['too-large']).toBe(2);
  });
  it('closes a connection that sends text that is not UTF-8 (1007), and nobody else notices', async () => {
    const { wsUrl, server } = await serve();
    const [a, b] = (await joinMany(wsUrl, 'r', 2)) as [TestClient, TestClient];
    clients.push(a, b);
    await a.drain();
    b.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await b.closed).code).toBe(1007);
    await a.announced({ left: [b.id] });
    expect(server.stats().refusals['bad-message']).toBe(1);
  });
});

describe('protocol order and identity', () => {
  it('refuses a signal before join, a second join, a spoofed sender and a signal to oneself', async () => {
    const { wsUrl, server } = await serve();
    const a = await connect(wsUrl);
    const b = await connect(wsUrl);
    const bIdentity = newIdentity();

    a.send({ type: 'signal', to: bIdentity.id, data: {} });
    expect(await a.nextError()).toMatchObject({ code: 'not-joined', message: expect.stringContaining('join first') });

    await a.join('r');
    await b.join('r', bIdentity);
    await a.drain();

    a.send(joinFrame(a.challenge, 'other', newIdentity()));
    expect((await a.nextError()).code).toBe('already-joined');

    a.send({ type: 'signal', to: b.id, from: b.id, data: { forged: true } });
    expect((await a.nextError()).code).toBe('spoofed-sender');

    a.send({ type: 'signal', to: a.id, data: {} });
    expect((await a.nextError()).code).toBe('bad-message');

    // None of it reached b.
    expect(await b.drain()).toEqual([]);
    expect(server.stats().refusals).toMatchObject({ 'not-joined': 1, 'already-joined': 1, 'spoofed-sender': 1 });
  });

  it('refuses a join signed by another key, over another challenge, or replayed from another connection', async () => {
    const { wsUrl, server } = await serve();
    const victim = newIdentity();
    const thief = newIdentity();

    // Claims the victim's id, signs with its own key; a bad signature ends the connection.
    const c1 = await connect(wsUrl);
    c1.send({ ...joinFrame(c1.challenge, 'r', thief), id: victim.id });
    const refused = await c1.nextError();
    expect(refused.code).toBe('bad-signature');
    expect(refused.message).toContain('challenge');
    expect(await c1.closed).toEqual({ code: 1008, reason: 'bad join signature' });

    // Right key, wrong room in the signed text.
    const c2 = await connect(wsUrl);
    c2.send({ ...joinFrame(c2.challenge, 'other-room', victim), room: 'r' });
    expect((await c2.nextError()).code).toBe('bad-signature');

    // A genuine join captured from one connection does not work on another (new challenge).
    const original = await connect(wsUrl);
    const captured = joinFrame(original.challenge, 'r', victim);
    const c3 = await connect(wsUrl);
    c3.send(captured);
    expect((await c3.nextError()).code).toBe('bad-signature');
    original.send(captured);
    expect(await original.next()).toMatchObject({ type: 'joined', self: victim.id });

    expect(server.stats().refusals['bad-signature']).toBe(3);
    expect(server.stats().nodes).toBe(1);
  });

  it('refuses a non-canonical spelling of a valid id', async () => {
    const { wsUrl } = await serve();
    const c = await connect(wsUrl);
    const identity = newIdentity();
    // The last of 43 base64url characters carries 2 spare bits; flip one of them.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(identity.id.at(-1) as string);
    const alias = identity.id.slice(0, 42) + alphabet[last ^ 1];
    expect(Buffer.from(alias, 'base64url').equals(Buffer.from(identity.id, 'base64url'))).toBe(true);
    c.send({ type: 'join', room: 'r', id: alias, sig: identity.sign(`tabmesh-join/1\n${c.challenge}\nr\n${alias}`) });
    expect(await c.nextError()).toMatchObject({ code: 'bad-message', message: expect.stringContaining('canonical') });
  });

  it('keeps the first connection of an id and refuses the second with duplicate-id', async () => {
    const { wsUrl } = await serve();
    const identity = newIdentity();
    const first = await connect(wsUrl);
    await first.join('r', identity);
    const peer = await connect(wsUrl);
    await peer.join('r');
    await first.drain();

    const second = await connect(wsUrl);
    second.send(joinFrame(second.challenge, 'r', identity));
    expect(await second.nextError()).toMatchObject({ code: 'duplicate-id', message: expect.stringContaining('retry') });
    expect((await second.closed).code).toBe(1013);

    peer.send({ type: 'signal', to: identity.id, data: { n: 1 } });
    expect(await first.next()).toMatchObject({ type: 'signal', from: peer.id });
    expect(await peer.drain()).toEqual([]);
  });
});

describe('caps', () => {
  it('refuses a node beyond the room cap and a room beyond the server cap, and frees slots on leave', async () => {
    const { wsUrl, server } = await serve({ maxNodesPerRoom: 2, maxRooms: 2 });
    const [a] = (await joinMany(wsUrl, 'one', 2)) as [TestClient, TestClient];
    clients.push(a);
    const third = await connect(wsUrl);
    third.send(joinFrame(third.challenge, 'one', newIdentity()));
    expect(await third.nextError()).toMatchObject({ code: 'room-full', message: expect.stringContaining('another room') });
    expect(await third.closed).toEqual({ code: 1013, reason: 'room-full; retry later' });

    const second = await connect(wsUrl);
    await second.join('two');
    const fourth = await connect(wsUrl);
    fourth.send(joinFrame(fourth.challenge, 'three', newIdentity()));
    expect((await fourth.nextError()).code).toBe('server-full');
    expect((await fourth.closed).code).toBe(1013);

    // Once a node leaves, a retry gets in.
    a.close();
    await a.closed;
    for (;;) {
      const retry = await connect(wsUrl);
      retry.send(joinFrame(retry.challenge, 'one', newIdentity()));
      const frame = await retry.next();
      if (frame.type === 'joined') {
        expect(frame.peers).toHaveLength(1);
        break;
      }
      expect(frame).toMatchObject({ type: 'error', code: 'room-full' }); // a's close not yet seen
    }
    expect(server.stats().refusals['server-full']).toBe(1);
  });

  it('refuses connections beyond the connection cap with server-full and close 1013', async () => {
    const { wsUrl, server } = await serve({ maxConnections: 2 });
    await connect(wsUrl);
    await connect(wsUrl);
    const extra = await TestClient.open(wsUrl);
    clients.push(extra);
    expect(await extra.nextError()).toMatchObject({ code: 'server-full' });
    expect((await extra.closed).code).toBe(1013);
    expect(server.stats().connections).toBe(2);
  });

  it('refuses a page from an origin that is not allowed', async () => {
    const { wsUrl, server } = await serve({ allowedOrigins: ['http://good.example'] });
    const bad = await TestClient.open(wsUrl, { origin: 'http://evil.example' });
    clients.push(bad);
    expect(await bad.nextError()).toMatchObject({ code: 'origin-refused', message: expect.stringContaining('evil.example') });
    expect((await bad.closed).code).toBe(1008);
    const good = await connect(wsUrl, { origin: 'http://good.example' });
    await good.join('r');
    expect(server.stats().refusals['origin-refused']).toBe(1);
  });
});

describe('floods', () => {
  it('rate-limits a flooder, then closes it, while its room keeps working', async () => {
    const { wsUrl, server } = await serve();
    const [flooder, bystander, other] = (await joinMany(wsUrl, 'r', 3)) as [TestClient, TestClient, TestClient];
    clients.push(flooder, bystander, other);
    const quiet = await connect(wsUrl);
    await quiet.join('elsewhere');
    await Promise.all([flooder.drain(), bystander.drain()]);

    for (let i = 0; i < 600; i++) flooder.send({ type: 'signal', to: bystander.id, data: { i } });

    // The burst gets through, then refusals, then the close.
    let relayed = 0;
    let rateLimited = 0;
    const closed = flooder.closed;
    for (;;) {
      const frame = await flooder.next().catch(() => null);
      if (!frame) break;
      expect(frame).toMatchObject({ type: 'error', code: 'rate-limited' });
      rateLimited++;
    }
    expect(rateLimited).toBeGreaterThan(0);
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toContain('refused frames');

    // The bystander got the admitted burst, then the flooder's departure, and still signals.
    await bystander.announced({ left: [flooder.id] });
    for (const frame of await bystander.drain()) {
      expect(frame).toMatchObject({ type: 'signal', from: flooder.id });
      relayed++;
    }
    // The join and the drain's ping took one token of the burst each.
    expect(relayed).toBeGreaterThanOrEqual(rateLimitBurst - 2);
    expect(relayed).toBeLessThan(600);
    bystander.send({ type: 'signal', to: other.id, data: { still: 'here' } });
    expect(await nextSignal(other)).toEqual({ type: 'signal', from: bystander.id, data: { still: 'here' } });
    expect(await quiet.drain()).toEqual([]);

    const stats = server.stats();
    expect(stats.closedForFlooding).toBe(1);
    expect(stats.refusals['rate-limited']).toBe(rateLimited);
    expect(stats.nodes).toBe(3);
  });
});

/** The client's next frame (announcements are kept apart by TestClient, so this is the signal). */
async function nextSignal(client: TestClient) {
  return client.next('a signal');
}
