// One overlay core driven by hand: every decision it makes from a given picture, and every kind
// of bad input refused, counted and never applied.
import { describe, expect, it } from 'vitest';
import { Overlay, type OverlayEffect, type OverlayInput } from '../../../src/core/overlay/overlay.ts';
import { createRng } from '../../../src/core/rng.ts';
import { asNodeId, type Millis, type NodeId } from '../../../src/core/types.ts';
import { decodeOverlayMessage, type AdvertMsg } from '../../../src/core/overlay/messages.ts';
import { overlayBurstMsgs, overlayFloodDrops, minLinkAgeBeforePruneMs } from '../../../src/core/overlay/config.ts';
import { isConnected } from '../../../src/core/graph/index.ts';

const id = asNodeId;
const self = id('m');

function advert(origin: string, seq: number, peers: string[], ageMs = 0): AdvertMsg {
  return { type: 'advert', origin: id(origin), seq, ageMs, ttl: 4, links: peers.map((p) => ({ peer: id(p) })), sig: `sim:${origin}` };
}

/** An overlay plus a driver that signs its adverts at once and collects effects. */
function harness(seed = 1) {
  const overlay = new Overlay({ self, rng: createRng(seed), now: 0 });
  let now: Millis = 0;
  const step = (input: OverlayInput, at: Millis = now): OverlayEffect[] => {
    now = Math.max(now, at);
    const out: OverlayEffect[] = [];
    const queue = overlay.step(now, input);
    while (queue.length > 0) {
      const effect = queue.shift() as OverlayEffect;
      out.push(effect);
      if (effect.type === 'sign') queue.push(...overlay.step(now, { type: 'signed', id: effect.id, sig: `sim:${self}` }));
    }
    return out;
  };
  const receive = (from: string, msg: unknown, signer: string | null = (msg as AdvertMsg).origin ?? null, sizeBytes?: number) =>
    step({ type: 'message', from: id(from), msg, signer: signer === null ? null : id(signer), ...(sizeBytes === undefined ? {} : { sizeBytes }) });
  return { overlay, step, receive, at: (t: Millis) => (now = t) };
}

const connects = (effects: OverlayEffect[]) => effects.filter((e): e is Extract<OverlayEffect, { type: 'connect' }> => e.type === 'connect');
const sends = (effects: OverlayEffect[]) => effects.filter((e): e is Extract<OverlayEffect, { type: 'send' }> => e.type === 'send');

describe('overlay core', () => {
  it('refuses, counts and never applies bad adverts', () => {
    const h = harness();
    h.step({ type: 'link-up', peer: id('b') });
    const graphBefore = JSON.stringify([...h.overlay.graph()].map(([k, v]) => [k, [...v]]));
    const cases: Array<[string, unknown, string | null, number?]> = [
      ['unsigned', advert('b', 5, ['m']), null],
      ['signer-mismatch', advert('x', 5, ['b']), 'b'],
      ['impossible-seq', advert('b', 0, ['m']), 'b'],
      ['impossible-seq', advert('b', -5, ['m']), 'b'],
      ['impossible-seq', advert('b', 2 ** 60, ['m']), 'b'],
      ['bad-links', advert('b', 5, ['m', 'b']), 'b'],
      ['bad-links', advert('b', 5, ['m', 'c', 'c']), 'b'],
      ['oversize', advert('b', 5, ['m']), 'b', 10_000_000],
      ['malformed', { type: 'advert', origin: 'b' }, 'b'],
      ['malformed', 'hello', null],
    ];
    for (const [reason, msg, signer, size] of cases) {
      const before = h.overlay.counters.dropped[reason as keyof typeof h.overlay.counters.dropped];
      h.receive('b', msg, signer, size);
      expect(h.overlay.counters.dropped[reason as keyof typeof h.overlay.counters.dropped], reason).toBe(before + 1);
    }
    h.receive('z', advert('z', 1, ['m']));
    expect(h.overlay.counters.dropped['not-linked']).toBe(1);
    h.step({ type: 'signed', id: 123_456, sig: 'sim:m' });
    expect(h.overlay.counters.dropped['stale-signature']).toBe(1);
    h.step({ type: 'tick' }, 10);
    expect(h.overlay.snapshot().lsdbOrigins).toBe(1); // only our own advert
    expect(JSON.stringify([...h.overlay.graph()].map(([k, v]) => [k, [...v]]))).toBe(graphBefore);
  });

  it('installs a valid advert and floods it on, to every link but the sender and the origin', () => {
    const h = harness();
    for (const p of ['b', 'c', 'd']) h.step({ type: 'link-up', peer: id(p) });
    const out = sends(h.receive('b', advert('x', 3, ['b', 'c'], 40)));
    expect(out.map((e) => e.to).sort()).toEqual(['c', 'd']);
    expect(out[0]?.msg).toMatchObject({ type: 'advert', origin: 'x', seq: 3, ageMs: 41 });
    // The copies that come back are recognised as duplicates and go nowhere.
    expect(sends(h.receive('c', advert('x', 3, ['b', 'c'], 41)))).toEqual([]);
    expect(h.overlay.counters.ignored.duplicate).toBe(1);
    // An older copy is answered with ours.
    const back = sends(h.receive('d', advert('x', 2, ['b'], 0)));
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ to: 'd', msg: { origin: 'x', seq: 3 } });
  });

  it('syncs a new neighbour by digest and request, asking only for what it lacks', () => {
    const a = harness(1);
    // What we hold (nothing yet); then, on the next tick, our own first advert listing the link.
    expect(sends(a.step({ type: 'link-up', peer: id('b') })).map((e) => e.msg)).toEqual([{ type: 'digest', entries: [] }]);
    expect(sends(a.step({ type: 'tick' }, 10)).map((e) => e.msg)).toMatchObject([{ type: 'advert', origin: 'm', links: [{ peer: 'b' }] }]);
    a.receive('b', advert('x', 4, ['y']));
    const requests = sends(
      a.receive(
        'b',
        {
          type: 'digest',
          entries: [
            { origin: 'x', seq: 4 },
            { origin: 'y', seq: 9 },
            { origin: 'z', seq: 1 },
          ],
        },
        null,
      ),
    );
    expect(requests.map((e) => e.msg)).toEqual([{ type: 'request', origins: ['y', 'z'] }]);
    // Asked again within the retry interval: not re-requested.
    expect(sends(a.receive('b', { type: 'digest', entries: [{ origin: 'y', seq: 9 }] }, null))).toEqual([]);
    const answers = sends(a.receive('b', { type: 'request', origins: ['x', 'nobody'] }, null));
    expect(answers.map((e) => e.msg)).toMatchObject([{ type: 'advert', origin: 'x', seq: 4 }]);
  });

  it('stamps whole-millisecond ages even when the clock has fractions (performance.now())', () => {
    const h = harness();
    h.step({ type: 'link-up', peer: id('b') }, 0.25);
    h.step({ type: 'link-up', peer: id('c') }, 0.5);
    h.at(100.7);
    h.receive('b', advert('x', 3, ['b'], 12));
    h.at(350.3);
    const answers = sends(h.receive('c', { type: 'request', origins: ['x'] }, null));
    expect(answers).toHaveLength(1);
    const copy = answers[0]!.msg as AdvertMsg;
    expect(Number.isInteger(copy.ageMs)).toBe(true);
    expect(decodeOverlayMessage(JSON.parse(JSON.stringify(copy)))).not.toBeNull();
    const own = sends(h.step({ type: 'tick' }, 400.9)).filter((e) => e.msg.type === 'advert');
    for (const e of own) expect(decodeOverlayMessage(JSON.parse(JSON.stringify(e.msg)))).not.toBeNull();
  });

  it('a joining node dials two of the peers it heard of, then the rest knowing who has room', () => {
    const h = harness();
    const peers = ['a', 'c', 'd', 'e', 'f', 'g', 'h', 'z'].map(id);
    h.step({ type: 'peers-learnt', peers });
    const first = connects(h.step({ type: 'tick' }, 10));
    expect(first).toHaveLength(2);
    for (const c of first) expect(c.initiator).toBe(self < c.peer);
    // Pending dials are not repeated.
    expect(connects(h.step({ type: 'tick' }, 260))).toHaveLength(0);
    // One link is up and its database says who is full: the rest go to nodes with room.
    const [a, b] = first.map((c) => c.peer) as [NodeId, NodeId];
    h.step({ type: 'link-up', peer: a }, 300);
    h.step({ type: 'connect-failed', peer: b }, 300);
    const full = peers.filter((p) => p !== a && p !== b).slice(0, 3);
    const roomy = peers.filter((p) => p !== a && p !== b).slice(3);
    h.receive(a, advert(a, 1, ['m', ...full]));
    for (const p of full) h.receive(a, advert(p, 1, [a, 'x1', 'x2', 'x3', 'x4']));
    for (const p of roomy) h.receive(a, advert(p, 1, [a, 'x5']));
    const rest = connects(h.step({ type: 'tick' }, 600));
    expect(rest.length).toBeGreaterThanOrEqual(2); // up to min, plus a spare
    for (const c of rest) expect(roomy).toContain(c.peer);
  });

  it('keeps a full mesh while the swarm has at most max + 1 nodes', () => {
    const h = harness();
    h.step({ type: 'peers-learnt', peers: ['a', 'b', 'c', 'd', 'e'].map(id) });
    const first = connects(h.step({ type: 'tick' }, 10)).map((c) => c.peer);
    expect(first).toHaveLength(4); // maxPendingConnects at once
    for (const p of first) h.step({ type: 'link-up', peer: p }, 100);
    const rest = connects(h.step({ type: 'tick' }, 300)).map((c) => c.peer);
    expect([...first, ...rest].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('backs off from a peer that does not answer', () => {
    const h = harness();
    h.step({ type: 'peers-learnt', peers: ['a'].map(id) });
    expect(connects(h.step({ type: 'tick' }, 10))).toHaveLength(1);
    h.step({ type: 'connect-failed', peer: id('a') }, 100);
    expect(connects(h.step({ type: 'tick' }, 350))).toHaveLength(0);
    expect(h.overlay.counters.connectsFailed).toBe(1);
  });

  it('prunes above max, never a bridge and never a young link', () => {
    const h = harness(7);
    const ring = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const p of [...ring, 'leaf']) h.step({ type: 'link-up', peer: id(p) }, 0);
    ring.forEach((p, i) => h.receive(p, advert(p, 1, ['m', ring[(i + 1) % 5]!, ring[(i + 4) % 5]!])));
    h.receive('leaf', advert('leaf', 1, ['m']));
    expect(h.step({ type: 'tick' }, minLinkAgeBeforePruneMs - 1).filter((e) => e.type === 'disconnect')).toEqual([]);
    const pruned = h.step({ type: 'tick' }, minLinkAgeBeforePruneMs + 10).filter((e) => e.type === 'disconnect');
    expect(pruned).toHaveLength(1);
    expect(pruned[0]).toMatchObject({ type: 'disconnect', reason: 'prune' });
    expect((pruned[0] as { peer: NodeId }).peer).not.toBe('leaf');
    expect(h.overlay.linkCount).toBe(5);
    expect(isConnected(h.overlay.graph())).toBe(true);
  });

  it('a node that lost its links may redial a peer it pruned, but not one it just lost', () => {
    const h = harness(7);
    const ring = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const p of [...ring, 'leaf']) h.step({ type: 'link-up', peer: id(p) }, 0);
    ring.forEach((p, i) => h.receive(p, advert(p, 1, ['m', ring[(i + 1) % 5]!, ring[(i + 4) % 5]!])));
    h.receive('leaf', advert('leaf', 1, ['m']));
    const pruned = (h.step({ type: 'tick' }, minLinkAgeBeforePruneMs + 10).find((e) => e.type === 'disconnect') as { peer: NodeId }).peer;
    // Everything else is lost at once (say, a partition): the pruned peer is the one way back.
    for (const p of h.overlay.links()) h.step({ type: 'link-down', peer: p }, 2_000);
    const dials = connects(h.step({ type: 'tick' }, 2_300)).map((c) => c.peer);
    expect(dials).toEqual([pruned]);
  });

  it('a neighbour that floods is rate-limited, then disconnected', () => {
    const h = harness();
    h.step({ type: 'link-up', peer: id('b') });
    let disconnected = false;
    for (let i = 0; i < overlayBurstMsgs + overlayFloodDrops + 10 && !disconnected; i++) {
      const out = h.receive('b', { type: 'request', origins: [] }, null);
      disconnected = out.some((e) => e.type === 'disconnect' && e.reason === 'flooding');
    }
    expect(disconnected).toBe(true);
    expect(h.overlay.counters.dropped['rate-limited']).toBeGreaterThanOrEqual(overlayFloodDrops);
    expect(h.overlay.counters.floodersDisconnected).toBe(1);
    expect(h.overlay.links()).toEqual([]);
  });

  it('above max, hands an inbound link back to a dialer that can spare it, and keeps it for one that needs it', () => {
    const h = harness();
    const ring = ['a', 'b', 'c', 'd', 'e'];
    for (const p of ring) h.step({ type: 'link-up', peer: id(p) }, 0);
    ring.forEach((p, i) => h.receive(p, advert(p, 1, ['m', ring[(i + 1) % 5]!, ring[(i + 4) % 5]!])));
    // Two unrequested links arrive while we are at max: both are taken, on probation.
    expect(h.step({ type: 'link-up', peer: id('healthy') }, 1_000).some((e) => e.type === 'disconnect')).toBe(false);
    expect(h.step({ type: 'link-up', peer: id('isolated') }, 1_000).some((e) => e.type === 'disconnect')).toBe(false);
    expect(h.overlay.linkCount).toBe(7);
    // Their fresh adverts arrive: one has four other links, the other only us (cut off, say).
    h.receive('healthy', advert('healthy', 9, ['m', 'w', 'x', 'y', 'z']));
    h.receive('isolated', advert('isolated', 9, ['m']));
    const out = h.step({ type: 'tick' }, 1_600);
    expect(out).toContainEqual({ type: 'disconnect', peer: 'healthy', reason: 'full' });
    expect(out).not.toContainEqual(expect.objectContaining({ type: 'disconnect', peer: 'isolated' }));
    expect(h.overlay.counters.linksRefused).toBe(1);
    // Still one over max: an older link is pruned instead (never the one the isolated node needs).
    expect(h.overlay.links()).toContain('isolated');
    expect(h.overlay.linkCount).toBe(5);
    // And beyond max + slack, a link is refused at once.
    for (const p of ['f', 'g']) h.step({ type: 'link-up', peer: id(p) }, 1_700);
    expect(h.step({ type: 'link-up', peer: id('late') }, 1_700)).toContainEqual({ type: 'disconnect', peer: 'late', reason: 'full' });
  });

  it('takes live settings that make sense and refuses the rest with a reason', () => {
    const h = harness();
    const refusals = (out: OverlayEffect[]) => out.filter((e) => e.type === 'config-refused');
    expect(refusals(h.step({ type: 'config', config: { minLinks: 0 } }))).toEqual([{ type: 'config-refused', reason: 'minLinks must be at least 1 (got 0)' }]);
    expect(refusals(h.step({ type: 'config', config: { minLinks: 6 } }))).toEqual([
      { type: 'config-refused', reason: 'maxLinks (5) must be at least minLinks (6)' },
    ]);
    expect(h.overlay.counters.dropped['bad-config']).toBe(2);
    expect(refusals(h.step({ type: 'config', config: { minLinks: 2, maxLinks: 3 } }))).toEqual([]);
    expect(h.overlay.currentConfig()).toEqual({ minLinks: 2, maxLinks: 3 });
  });

  it('after a restart, jumps past the sequence numbers of its previous life', () => {
    const h = harness();
    h.step({ type: 'link-up', peer: id('b') });
    h.receive('b', advert('m', 1_000_000, ['b']), 'm');
    const signed = h.step({ type: 'tick' }, 10).find((e) => e.type === 'sign');
    expect(signed).toBeDefined();
    expect((signed as { id: number }).id).toBeGreaterThan(1_000_000);
  });
});

describe('overlay core: peers that left', () => {
  it('forgets a peer that left until it advertises again', () => {
    const h = harness();
    h.step({ type: 'link-up', peer: id('b') });
    h.receive('b', advert('b', 1, ['m', 'c']));
    h.receive('b', advert('c', 1, ['b']));
    expect(h.overlay.graph().has(id('c'))).toBe(true);
    h.step({ type: 'peer-left', peer: id('c') });
    expect(h.overlay.graph().has(id('c'))).toBe(false);
    h.receive('b', advert('c', 2, ['b']));
    expect(h.overlay.graph().has(id('c'))).toBe(true);
  });

  it('still sees through a neighbour said to have left while its link stays open', () => {
    // The whole runtime's gossip can declare a live node dead (and refute it later, unheard by
    // the overlay). A relay that then ignored its own neighbour's advert lost everything behind
    // it while the nodes around still routed through it: 'no-route' at the first relay.
    const h = harness();
    h.step({ type: 'link-up', peer: id('b') });
    h.receive('b', advert('b', 1, ['m', 'c']));
    h.receive('b', advert('c', 1, ['b', 'd']));
    h.receive('b', advert('d', 1, ['c']));
    expect(h.overlay.view().distance.get(id('d'))).toBe(3);
    h.step({ type: 'peer-left', peer: id('b') });
    expect(h.overlay.view().distance.get(id('c'))).toBe(2);
    expect(h.overlay.view().distance.get(id('d'))).toBe(3);
    // Once the link closes the mark applies: b's advert no longer counts until it advertises anew.
    h.step({ type: 'link-down', peer: id('b') });
    expect(h.overlay.view().distance.has(id('c'))).toBe(false);
  });
});
