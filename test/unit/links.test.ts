// The link manager between two (and three) nodes, with real Ed25519 signatures and a fake
// link host that records what the page would be asked to do.
import { describe, expect, test } from 'vitest';
import type { NodeId } from '../../src/core/types.ts';
import { createIdentity, signText, verifyText, type Identity } from '../../src/crypto/ed25519.ts';
import { LinkManager, linkSetupTimeoutMs, linkSilenceLimitMs } from '../../src/worker/links.ts';
import type { SignedSignal } from '../../src/net/signed-signal.ts';

interface HostCall {
  op: 'open' | 'signal' | 'send' | 'close';
  peer: NodeId;
  linkId: string;
  initiator?: boolean;
}

function makeNode(identity: Identity, clock: { now: number }, network: Map<NodeId, (from: NodeId, s: SignedSignal) => void>) {
  const calls: HostCall[] = [];
  const rejected: string[] = [];
  const events: string[] = [];
  let counter = 0;
  const manager = new LinkManager({
    self: identity.id,
    host: {
      open: (peer, linkId, initiator) => calls.push({ op: 'open', peer, linkId, initiator }),
      signal: (peer, linkId) => calls.push({ op: 'signal', peer, linkId }),
      send: (peer, linkId) => calls.push({ op: 'send', peer, linkId }),
      close: (peer, linkId) => calls.push({ op: 'close', peer, linkId }),
    },
    iceServers: () => [],
    now: () => clock.now,
    randomId: () => `link${String(++counter).padStart(4, '0')}${Math.random().toString(36).slice(2, 10)}`,
    sign: (text) => signText(identity, text),
    verify: verifyText,
    deliverSignal: (to, signal) => {
      network.get(to)?.(identity.id, structuredClone(signal));
      return true;
    },
    onUp: (peer) => events.push(`up ${peer}`),
    onDown: (peer, reason) => events.push(`down ${peer} ${reason}`),
    onData: () => {},
    reject: (reason) => rejected.push(reason),
    retryLostLinks: () => true,
  });
  const inbox: Array<[NodeId, SignedSignal]> = [];
  network.set(identity.id, (from, s) => inbox.push([from, s]));
  return { identity, manager, calls, rejected, events, inbox };
}

async function pair() {
  const clock = { now: 0 };
  const network = new Map<NodeId, (from: NodeId, s: SignedSignal) => void>();
  const [i1, i2] = await Promise.all([createIdentity(), createIdentity()]);
  const [small, large] = i1.id < i2.id ? [i1, i2] : [i2, i1];
  return { clock, network, small: makeNode(small, clock, network), large: makeNode(large, clock, network) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

async function deliverAll(node: ReturnType<typeof makeNode>) {
  await flush();
  for (const [from, signal] of node.inbox.splice(0)) await node.manager.receiveSignal(from, signal);
}

describe('LinkManager', () => {
  test('the smaller id initiates; the larger asks it to with a signed connect request', async () => {
    const { small, large } = await pair();
    large.manager.want(small.identity.id);
    expect(large.calls).toEqual([]); // the larger id never opens a connection itself
    await deliverAll(small);
    expect(small.calls).toEqual([expect.objectContaining({ op: 'open', peer: large.identity.id, initiator: true })]);
  });

  test('an offer is answered by opening a non-initiator link, and signals flow to the host', async () => {
    const { small, large } = await pair();
    small.manager.want(large.identity.id);
    const linkId = small.calls[0]!.linkId;
    await small.manager.hostSignal(large.identity.id, linkId, { type: 'offer', sdp: 'v=0 fake' });
    await deliverAll(large);
    expect(large.calls).toEqual([
      { op: 'open', peer: small.identity.id, linkId, initiator: false },
      { op: 'signal', peer: small.identity.id, linkId },
    ]);
    large.manager.hostUp(small.identity.id, linkId);
    expect(large.manager.upPeers()).toEqual([small.identity.id]);
    expect(large.events).toEqual([`up ${small.identity.id}`]);
  });

  test('forged, misaddressed and replayed signals are refused and counted', async () => {
    const { small, large } = await pair();
    const mallory = await createIdentity();
    small.manager.want(large.identity.id);
    const linkId = small.calls[0]!.linkId;
    await small.manager.hostSignal(large.identity.id, linkId, { type: 'offer', sdp: 'v=0 fake' });
    await flush();
    const [[from, genuine]] = large.inbox.splice(0) as [[NodeId, SignedSignal]];

    // Tampered SDP: the signature no longer matches.
    const tampered = structuredClone(genuine);
    tampered.body.signal = { type: 'offer', sdp: 'v=0 evil' };
    await large.manager.receiveSignal(from, tampered);
    // Signed by someone else but claiming to be from `small`.
    const forged = { body: { ...genuine.body }, sig: await signText(mallory, 'whatever') };
    await large.manager.receiveSignal(from, forged);
    // Relayed by the server as if it came from another node.
    await large.manager.receiveSignal(mallory.id, genuine);
    // Addressed to someone else.
    await small.manager.receiveSignal(from, genuine);
    expect(large.calls).toEqual([]);
    expect(large.rejected).toEqual(['signal with a bad signature', 'signal with a bad signature', 'signal signed by a node other than its sender']);
    expect(small.rejected).toEqual(['signal addressed to another node']);

    // The genuine one is accepted once; the same offer again is a replay.
    await large.manager.receiveSignal(from, genuine);
    large.manager.hostDown(small.identity.id, linkId, 'test');
    await large.manager.receiveSignal(from, genuine);
    expect(large.calls.filter((c) => c.op === 'open')).toHaveLength(1);
    expect(large.rejected.at(-1)).toBe('replayed offer');
  });

  test('a link that does not come up in time is abandoned and retried with backoff', async () => {
    const { small, large, clock } = await pair();
    small.manager.want(large.identity.id);
    clock.now += linkSetupTimeoutMs + 1;
    small.manager.tick();
    const opens = () => small.calls.filter((c) => c.op === 'open').length;
    expect(small.calls.at(-1)?.op).toBe('close');
    small.manager.tick();
    expect(opens()).toBe(1); // not at once: backing off
    clock.now += 2_001;
    small.manager.tick();
    expect(opens()).toBe(2);
  });

  test('an up link that falls silent is declared down', async () => {
    const { small, large, clock } = await pair();
    small.manager.want(large.identity.id);
    const linkId = small.calls[0]!.linkId;
    small.manager.hostUp(large.identity.id, linkId);
    clock.now += linkSilenceLimitMs - 1;
    small.manager.hostData(large.identity.id, linkId, new Uint8Array([1]));
    clock.now += linkSilenceLimitMs - 1;
    small.manager.tick();
    expect(small.manager.upPeers()).toEqual([large.identity.id]);
    clock.now += 2;
    small.manager.tick();
    expect(small.manager.upPeers()).toEqual([]);
    expect(small.events.at(-1)).toBe(`down ${large.identity.id} silent`);
  });

  test("a restarted peer's fresh offer replaces the old link", async () => {
    const { small, large } = await pair();
    small.manager.want(large.identity.id);
    const first = small.calls[0]!.linkId;
    await small.manager.hostSignal(large.identity.id, first, { type: 'offer', sdp: 'v=0 one' });
    await deliverAll(large);
    large.manager.hostUp(small.identity.id, first);
    // `small` restarts: a brand-new manager with the same identity opens a new link.
    const clock = { now: 0 };
    const reborn = makeNode(small.identity, clock, new Map([[large.identity.id, (f: NodeId, s: SignedSignal) => large.inbox.push([f, s])]]));
    reborn.manager.want(large.identity.id);
    const second = reborn.calls[0]!.linkId;
    expect(second).not.toBe(first);
    await reborn.manager.hostSignal(large.identity.id, second, { type: 'offer', sdp: 'v=0 two' });
    await deliverAll(large);
    expect(large.calls.filter((c) => c.op === 'close').map((c) => c.linkId)).toEqual([first]);
    expect(large.manager.get(small.identity.id)?.linkId).toBe(second);
  });
});

describe('LinkManager avoids churn', () => {
  test('a connect request that crosses our own offer does not restart the attempt', async () => {
    const { small, large } = await pair();
    small.manager.want(large.identity.id); // small's offer attempt is under way…
    large.manager.want(small.identity.id); // …while large asks small to connect
    await deliverAll(small);
    expect(small.calls.filter((c) => c.op === 'open')).toHaveLength(1);
    expect(small.calls.filter((c) => c.op === 'close')).toHaveLength(0);
  });
});
