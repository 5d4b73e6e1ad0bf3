// Private rooms over real sockets: the first join decides the room's verifier, joins without it
// or with another are refused with a code and a message a person can act on, and what the server
// relays between members is ciphertext only.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { deriveRoomKey, type RoomKey } from '../../src/net/room-key.ts';
import { openSignal, sealSignal } from '../../src/net/sealed-signal.ts';
import { SignalingClient, type SignalingStatus, type SocketLike } from '../../src/net/signaling-client.ts';
import type { NodeId } from '../../src/core/types.ts';
import { closeCodes } from '../../signaling/limits.ts';
import { joinFrame, newIdentity, startServer, TestClient, waitDeadlineMs, type Running } from './helpers.ts';

/** Per test: generous, for a machine under load (the waits inside have their own deadlines). */
const testTimeoutMs = 30_000;

/** Fewer PBKDF2 rounds than production (same construction): these tests are about the server. */
const testIterations = 1_000;

let running: Running;
const clients: TestClient[] = [];
let key: RoomKey;
let otherKey: RoomKey;

beforeEach(async () => {
  running = await startServer();
  key = await deriveRoomKey('vault', 'correct horse battery', testIterations);
  otherKey = await deriveRoomKey('vault', 'not the password', testIterations);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await running.server.close();
});

/** Connects and sends a join with `verifier` (or none); returns the client and the first answer. */
async function joinWith(room: string, verifier: string | undefined) {
  const client = await TestClient.connect(running.wsUrl);
  clients.push(client);
  const identity = newIdentity();
  client.identity = identity;
  client.send(verifier === undefined ? joinFrame(client.challenge, room, identity) : { ...joinFrame(client.challenge, room, identity), verifier });
  return { client, answer: await client.next('an answer to the join') };
}

describe('private rooms', { timeout: testTimeoutMs }, () => {
  it('lets members with the password in together; a missing or wrong one lands elsewhere, is told why, and nobody in the room hears of it', async () => {
    const first = await joinWith('vault', key.verifier);
    expect(first.answer).toMatchObject({ type: 'joined', peers: [] });
    const second = await joinWith('vault', key.verifier);
    expect(second.answer).toMatchObject({ type: 'joined', peers: [first.client.id] });

    // Without the password: the open room "vault", alone, with a notice that says what to do.
    const none = await joinWith('vault', undefined);
    expect(none.answer).toMatchObject({ type: 'joined', peers: [] });
    expect(await none.client.next('a notice')).toMatchObject({
      type: 'notice',
      code: 'private-room-exists',
      message: expect.stringMatching(/private room.*enter its password/),
    });

    // Another password: a private room of its own, alone, told that nobody uses that password.
    const wrong = await joinWith('vault', otherKey.verifier);
    expect(wrong.answer).toMatchObject({ type: 'joined', peers: [] });
    expect(await wrong.client.next('a notice')).toMatchObject({
      type: 'notice',
      code: 'password-mismatch',
      message: expect.stringMatching(/nobody in room "vault" uses this password/),
    });

    // Nobody in the room heard of them: only the second member was announced.
    await first.client.announced({ joined: [second.client.id] });
    expect(await first.client.drain()).toEqual([]);
    // (a batch may name the receiver itself: it joined in the same window)
    expect(first.client.announcements.flatMap((f) => f.joined).filter((id) => id !== first.client.id)).toEqual([second.client.id]);
    expect(running.server.stats()).toMatchObject({ rooms: 3, privateRooms: 2, nodes: 4, notices: 2 });
  });

  it('a stranger cannot make an open room private, nor a private name open: each kind lives apart', async () => {
    // The squat on the default room: a password join to "lobby" first...
    const squatter = await joinWith('lobby', otherKey.verifier);
    expect(squatter.answer.type).toBe('joined');
    // ...and every tab without a password still meets in the open "lobby".
    const tab1 = await joinWith('lobby', undefined);
    const tab2 = await joinWith('lobby', undefined);
    expect(tab1.answer).toMatchObject({ type: 'joined', peers: [] });
    expect(tab2.answer).toMatchObject({ type: 'joined', peers: [tab1.client.id] });
    // The other way round: "vault" opened first without a password...
    const opener = await joinWith('vault', undefined);
    expect(opener.answer.type).toBe('joined');
    // ...and the members with the password still meet in the private "vault", unseen by it.
    const member1 = await joinWith('vault', key.verifier);
    const member2 = await joinWith('vault', key.verifier);
    expect(member1.answer).toMatchObject({ type: 'joined', peers: [] });
    expect(member2.answer).toMatchObject({ type: 'joined', peers: [member1.client.id] });
    await opener.client.drain();
    // Nobody of the private room was announced to it (a batch may name the opener itself: it
    // joined in the same window, which a loaded machine makes likely).
    expect(opener.client.announcements.flatMap((f) => [...f.joined, ...f.left]).filter((id) => id !== opener.client.id)).toEqual([]);
    opener.client.send({ type: 'signal', to: member1.client.id, data: { hello: 1 } });
    expect(await opener.client.nextError()).toMatchObject({ code: 'unknown-peer' });
    expect(running.server.stats().refusals).toMatchObject({ 'password-required': 0, 'wrong-password': 0, 'room-not-private': 0 });
  });

  it('throttles joins with a password nobody uses, per address, while the members and other addresses go on', async () => {
    await running.server.close();
    running = await startServer({ passwordMissBurst: 3, passwordMissesPerMinute: 1 });
    const member = await joinWith('vault', key.verifier);
    expect(member.answer.type).toBe('joined');
    // Guesses from 127.0.0.1: each a fresh verifier (a password guess), each alone, then refused.
    for (let i = 0; i < 3; i++) {
      const guess = await joinWith('vault', `${'g'.repeat(42)}${i}`);
      expect(guess.answer).toMatchObject({ type: 'joined', peers: [] });
    }
    const refused = await joinWith('vault', `${'g'.repeat(42)}9`);
    expect(refused.answer).toMatchObject({
      type: 'error',
      code: 'too-many-attempts',
      message: expect.stringMatching(/password its members do not use.*try again in a few minutes/),
    });
    expect((await refused.client.closed).code).toBe(closeCodes.tryAgainLater);
    // The right password from the same address still gets in, and so does a guess from elsewhere.
    const again = await joinWith('vault', key.verifier);
    expect(again.answer).toMatchObject({ type: 'joined', peers: [member.client.id] });
    const elsewhere = await TestClient.connect(running.wsUrl, { localAddress: '127.0.0.2' });
    clients.push(elsewhere);
    const identity = newIdentity();
    elsewhere.send({ ...joinFrame(elsewhere.challenge, 'vault', identity), verifier: otherKey.verifier });
    expect(await elsewhere.next()).toMatchObject({ type: 'joined', peers: [] });
    expect(running.server.stats().refusals['too-many-attempts']).toBe(1);
  });

  it('forgets the verifier when the room empties, so a new first member decides again', async () => {
    const first = await joinWith('vault', key.verifier);
    expect(first.answer.type).toBe('joined');
    first.client.close();
    await first.client.closed;
    await waitFor(() => running.server.stats().rooms === 0);
    const open = await joinWith('vault', undefined);
    expect(open.answer.type).toBe('joined');
    expect(running.server.stats()).toMatchObject({ privateRooms: 0 });
  });

  it('relays sealed signals that carry no SDP text, and only members can open them', async () => {
    // Every byte the server writes to any socket (server frames are unmasked: readable text).
    const raw: string[] = [];
    running.server.httpServer.on('upgrade', (_req: unknown, socket: Duplex) => {
      const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (Buffer.isBuffer(chunk) || typeof chunk === 'string') raw.push(Buffer.from(chunk).toString('latin1'));
        return write(chunk, ...rest);
      }) as typeof socket.write;
    });
    const a = await joinWith('vault', key.verifier);
    const b = await joinWith('vault', key.verifier);
    const sdp = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 AB:CD:EF\r\n';
    const signal = { body: { v: 1, from: a.client.id, to: b.client.id, session: 'abcdefgh12', kind: 'signal', signal: { type: 'offer', sdp } }, sig: 'x' };
    const sealed = await sealSignal(key, a.client.id as NodeId, b.client.id as NodeId, signal);
    a.client.send({ type: 'signal', to: b.client.id, data: sealed });
    const frames = await b.client.drain();
    const relayed = frames.find((f) => f.type === 'signal');
    expect(relayed).toEqual({ type: 'signal', from: a.client.id, data: sealed });
    // What crossed the server is ciphertext: no SDP, no address, no fingerprint.
    const wire = raw.join('\n');
    expect(wire).toContain('"sealed":1');
    for (const secret of ['v=0', 'IN IP4', '127.0.0.1', 'fingerprint', 'offer', 'sdp']) expect(wire).not.toContain(secret);
    if (relayed?.type !== 'signal') throw new Error('no signal relayed');
    expect(await openSignal(key, relayed.from as NodeId, b.client.id as NodeId, relayed.data)).toEqual({ ok: true, signal });
    expect((await openSignal(otherKey, relayed.from as NodeId, b.client.id as NodeId, relayed.data)).ok).toBe(false);
  });

  it("the node's signaling client sends the verifier, meets the members, and passes the server's notices on", async () => {
    const member = newIdentity();
    const outsider = newIdentity();
    const peersOf = new Map<string, NodeId[]>();
    const notices: string[] = [];
    const statuses = new Map<string, SignalingStatus>();
    const make = (identity: typeof member, verifier: string) =>
      new SignalingClient({
        url: running.wsUrl,
        room: 'vault',
        id: identity.id as NodeId,
        sign: async (text) => identity.sign(text),
        verifier,
        createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
        handlers: {
          status: (s) => statuses.set(identity.id, s),
          joined: (peers) => peersOf.set(identity.id, [...(peersOf.get(identity.id) ?? []), ...peers]),
          peerJoined: (peer) => peersOf.set(identity.id, [...(peersOf.get(identity.id) ?? []), peer]),
          peerLeft: () => {},
          signal: () => {},
          problem: () => {},
          notice: (code, message) => notices.push(`${code}: ${message}`),
        },
      });
    const good = make(member, key.verifier);
    const second = make(newIdentity(), key.verifier);
    const bad = make(outsider, otherKey.verifier);
    try {
      good.start();
      await waitFor(() => statuses.get(member.id) === 'joined');
      second.start();
      // The batched announcement reaches the first member's handler as peerJoined.
      await waitFor(() => (peersOf.get(member.id) ?? []).length === 1);
      bad.start();
      await waitFor(() => notices.length === 1);
      expect(notices).toEqual([expect.stringMatching(/^password-mismatch: nobody in room "vault" uses this password/)]);
      expect(statuses.get(outsider.id)).toBe('joined');
      expect(peersOf.get(outsider.id) ?? []).toEqual([]);
    } finally {
      good.stop();
      second.stop();
      bad.stop();
    }
  });
});

/** Polls a condition on server or client state with a deadline (not a sleep: it returns as soon as it holds). */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5 * waitDeadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${5 * waitDeadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
