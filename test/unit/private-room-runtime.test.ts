// The runtime of a node in a private room, with a scripted signaling socket, link host and
// routing service: the join carries the verifier; signals it sends are sealed; a member's sealed
// signal is acted on, while an outsider's — unsealed, or sealed under another password, through
// the server or relayed over the mesh — is refused, counted, and opens no link.
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/types.ts';
import { createIdentity, signText, type Identity } from '../../src/crypto/ed25519.ts';
import { deriveRoomKey, type RoomKey } from '../../src/net/room-key.ts';
import { openSignal, sealSignal } from '../../src/net/sealed-signal.ts';
import { signingText, type SignalBody } from '../../src/net/signed-signal.ts';
import { FakeSocket } from './page-fakes.ts';
import type { LinkHost } from '../../src/net/transport.ts';
import { MemoryStorage } from '../../src/store/memory.ts';
import { NodeRuntime } from '../../src/worker/runtime.ts';
import type { RoutedDelivery, Service } from '../../src/worker/service.ts';
import { realClock, realTimers } from '../../src/worker/real-clock.ts';

const room = 'vault';
const password = 'correct horse battery';
/** Deadline for the runtime's asynchronous work (crypto promises), not a sleep. */
const deadlineMs = 10_000;

/** A routing service that only hands the runtime what the test says arrived over the mesh. */
function scriptedRouting(): Service & { deliver(d: RoutedDelivery): void; routed: unknown[] } {
  let listener: ((d: RoutedDelivery) => void) | null = null;
  const routed: unknown[] = [];
  return {
    protocol: 'route' as Service['protocol'],
    start: async () => {},
    receive: () => {},
    route: (_kind: string, _to: NodeId, payload: unknown) => void routed.push(payload),
    broadcast: () => {},
    onDeliver: (l: (d: RoutedDelivery) => void) => void (listener = l),
    deliver: (d: RoutedDelivery) => listener?.(d),
    routed,
  } as Service & { deliver(d: RoutedDelivery): void; routed: unknown[] };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Identities whose ids sort after `self`, so a connect request from them is one `self` must act on. */
async function identityAfter(self: Identity): Promise<Identity> {
  for (let i = 0; i < 200; i++) {
    const candidate = await createIdentity();
    if (candidate.id > self.id) return candidate;
  }
  throw new Error('no identity sorted after self in 200 tries');
}

async function connectRequest(from: Identity, to: NodeId): Promise<{ body: SignalBody; sig: string }> {
  const body: SignalBody = { v: 1, from: from.id, to, session: 'session-0001', kind: 'connect' };
  return { body, sig: await signText(from, signingText(body)) };
}

describe('a node in a private room', () => {
  let runtime: NodeRuntime | null = null;
  afterEach(async () => {
    await runtime?.shutdown('test over');
    runtime = null;
  });

  it('joins with the verifier, seals what it sends, acts only on signals that open under the room key', async () => {
    const self = await createIdentity();
    const [member, meshMember, outsider] = [await identityAfter(self), await identityAfter(self), await identityAfter(self)];
    const key: RoomKey = await deriveRoomKey(room, password);
    const wrongKey = await deriveRoomKey(room, 'a guessed password', 1_000);
    const socket = new FakeSocket(1);
    const opened: string[] = [];
    const linkIds = new Map<string, string>();
    const host: LinkHost = {
      open: (peer, linkId) => {
        opened.push(peer);
        linkIds.set(peer, linkId);
      },
      signal: () => {},
      send: () => {},
      close: () => {},
    };
    const routing = scriptedRouting();
    runtime = await NodeRuntime.start({
      room,
      slot: 0,
      signalingUrl: 'ws://test/signal',
      storage: new MemoryStorage(),
      createSocket: () => socket,
      clock: realClock,
      timers: realTimers,
      linkHost: host,
      iceServers: [],
      services: [routing],
      password,
      loadIdentity: async () => ({ identity: self, origin: 'created' }),
      publishSnapshot: () => {},
    });
    const rt = runtime;
    const rejected = (): string[] => Object.keys(rt.snapshot().rejected);

    socket.deliver({ type: 'welcome', challenge: 'c'.repeat(22), server: 'test' });
    await until(() => socket.sent.some((f) => f['type'] === 'join'), 'the join');
    expect(socket.sent.find((f) => f['type'] === 'join')).toMatchObject({ room, id: self.id, verifier: key.verifier });
    socket.deliver({ type: 'joined', room, self: self.id, peers: [] });
    expect(rt.snapshot()).toMatchObject({ signaling: 'joined', privateRoom: true, signalingRefusal: null });

    // Through the server: an outsider's plain signed request, and one sealed under a guessed password.
    const plain = await connectRequest(outsider, self.id);
    socket.deliver({ type: 'signal', from: outsider.id, data: plain });
    socket.deliver({ type: 'signal', from: outsider.id, data: await sealSignal(wrongKey, outsider.id, self.id, plain) });
    // Over the mesh, relayed for an outsider by some member.
    routing.deliver({ origin: outsider.id, kind: 'signal', message: await sealSignal(wrongKey, outsider.id, self.id, plain), broadcast: false, hops: 2 });
    // Members: one through the server, one over the mesh.
    socket.deliver({ type: 'signal', from: member.id, data: await sealSignal(key, member.id, self.id, await connectRequest(member, self.id)) });
    routing.deliver({
      origin: meshMember.id,
      kind: 'signal',
      message: await sealSignal(key, meshMember.id, self.id, await connectRequest(meshMember, self.id)),
      broadcast: false,
      hops: 2,
    });

    await until(() => opened.includes(member.id) && opened.includes(meshMember.id), 'links opened to both members');
    await until(() => rejected().filter((r) => r.startsWith('private room:')).length >= 2, 'the outsider refused');
    expect(opened).not.toContain(outsider.id);
    const counts = rt.snapshot().rejected;
    expect(counts['private room: unsealed signal in a private room (the sender has no password)']).toBe(1);
    expect(counts['private room: sealed signal that does not open (another password, or altered on the way)']).toBe(2);

    // What it sends is sealed: a WebRTC offer leaves as ciphertext that the member can open.
    rt.signal(member.id, linkIds.get(member.id) as string, { type: 'offer', sdp: 'v=0\r\na=fingerprint:sha-256 AB:CD\r\n' });
    await until(() => socket.sent.some((f) => f['type'] === 'signal' && f['to'] === member.id), 'the offer sent');
    const frame = socket.sent.find((f) => f['type'] === 'signal' && f['to'] === member.id) as { data: unknown };
    expect(JSON.stringify(frame)).not.toContain('fingerprint');
    const inside = await openSignal(key, self.id, member.id, frame.data);
    expect(inside).toMatchObject({ ok: true, signal: { body: { from: self.id, to: member.id, kind: 'signal', signal: { type: 'offer' } } } });
  }, 30_000);

  it('shows a wrong-password refusal in the snapshot, as final', async () => {
    const socket = new FakeSocket(1);
    runtime = await NodeRuntime.start({
      room,
      slot: 0,
      signalingUrl: 'ws://test/signal',
      storage: new MemoryStorage(),
      createSocket: () => socket,
      clock: realClock,
      timers: realTimers,
      linkHost: { open: () => {}, signal: () => {}, send: () => {}, close: () => {} },
      iceServers: [],
      services: [],
      password,
      publishSnapshot: () => {},
    });
    const rt = runtime;
    socket.deliver({ type: 'welcome', challenge: 'c'.repeat(22), server: 'test' });
    await until(() => socket.sent.length > 0, 'the join');
    socket.deliver({ type: 'error', code: 'wrong-password', message: 'wrong password for room "vault": check it' });
    socket.onclose?.({ code: 1008, reason: 'wrong-password' });
    expect(rt.snapshot()).toMatchObject({
      signaling: 'refused',
      signalingDetail: 'wrong password for room "vault": check it',
      signalingRefusal: { code: 'wrong-password' },
    });
  }, 30_000);
});
