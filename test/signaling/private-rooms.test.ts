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
  it('lets members with the password in and refuses a missing or wrong one with its code, a message and a final close', async () => {
    const first = await joinWith('vault', key.verifier);
    expect(first.answer).toMatchObject({ type: 'joined', peers: [] });
    const second = await joinWith('vault', key.verifier);
    expect(second.answer).toMatchObject({ type: 'joined', peers: [first.client.id] });

    const none = await joinWith('vault', undefined);
    expect(none.answer).toMatchObject({ type: 'error', code: 'password-required', message: expect.stringMatching(/private.*enter its password/) });
    expect((await none.client.closed).code).toBe(closeCodes.policy);

    const wrong = await joinWith('vault', otherKey.verifier);
    expect(wrong.answer).toMatchObject({ type: 'error', code: 'wrong-password', message: expect.stringMatching(/wrong password for room "vault"/) });
    expect((await wrong.client.closed).code).toBe(closeCodes.policy);

    // Nobody in the room heard of the refused ones: only the second member was announced.
    expect(await first.client.drain()).toEqual([{ type: 'peer-joined', peer: second.client.id }]);
    expect(running.server.stats()).toMatchObject({ rooms: 1, privateRooms: 1, nodes: 2 });
    expect(running.server.stats().refusals).toMatchObject({ 'password-required': 1, 'wrong-password': 1 });
  });

  it('refuses a password join into an open room that has members without one', async () => {
    const open = await joinWith('lobby', undefined);
    expect(open.answer.type).toBe('joined');
    const late = await joinWith('lobby', key.verifier);
    expect(late.answer).toMatchObject({ type: 'error', code: 'room-not-private', message: expect.stringMatching(/is open.*pick another room name/) });
    expect(running.server.stats()).toMatchObject({ privateRooms: 0 });
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

  it("the node's signaling client sends the verifier, and reports a wrong password as final with the server's message", async () => {
    const member = newIdentity();
    const outsider = newIdentity();
    const statuses: Array<{ status: SignalingStatus; detail: string }> = [];
    const refusals: string[] = [];
    const make = (identity: typeof member, verifier: string, onStatus: (s: SignalingStatus, d: string) => void) =>
      new SignalingClient({
        url: running.wsUrl,
        room: 'vault',
        id: identity.id as NodeId,
        sign: async (text) => identity.sign(text),
        verifier,
        createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
        handlers: {
          status: onStatus,
          joined: () => {},
          peerJoined: () => {},
          peerLeft: () => {},
          signal: () => {},
          problem: () => {},
          refused: (code, message) => refusals.push(`${code}: ${message}`),
        },
      });
    let memberStatus: SignalingStatus = 'connecting';
    const good = make(member, key.verifier, (s) => (memberStatus = s));
    const bad = make(outsider, otherKey.verifier, (status, detail) => statuses.push({ status, detail }));
    try {
      good.start();
      await waitFor(() => memberStatus === 'joined');
      bad.start();
      await waitFor(() => statuses.some((s) => s.status === 'refused'));
      expect(refusals).toEqual([expect.stringMatching(/^wrong-password: wrong password for room "vault"/)]);
      expect(statuses.at(-1)?.detail).toMatch(/wrong password for room "vault"/);
      // Final: it does not keep knocking.
      expect(statuses.filter((s) => s.status === 'connecting')).toHaveLength(1);
    } finally {
      good.stop();
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
