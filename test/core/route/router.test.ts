// The router on hand-made topologies: multi-hop unicast with per-hop next-hop choice, detours
// around vanished relays, loop and hop-bound drops, broadcast deduplication, bad input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Router, seekTimeoutMs, type RouteEffect } from '../../../src/core/route/router.ts';
import { decodeRouteMessage, describeRouteMessage, maxRoutedPayloadBytes, type RoutedMsg } from '../../../src/core/route/messages.ts';
import type { RouteTopology } from '../../../src/core/overlay/overlay.ts';
import { graphFromLinks } from '../../../src/core/graph/index.ts';
import { createRng } from '../../../src/core/rng.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';

const id = asNodeId;

function topology(self: string, edges: Array<[string, string]>, rtt: Record<string, number> = {}): RouteTopology {
  const graph = graphFromLinks(edges.map(([a, b]) => [id(a), id(b)] as [NodeId, NodeId]));
  return {
    key: JSON.stringify(edges),
    graph,
    links: new Set(graph.get(id(self)) ?? []),
    rttMs: (a, b) => rtt[`${a}-${b}`] ?? rtt[`${b}-${a}`],
  };
}

function router(self: string, edges: Array<[string, string]>, metric: 'hops' | 'rtt' = 'hops', rtt: Record<string, number> = {}) {
  let topo = topology(self, edges, rtt);
  const r = new Router({ self: id(self), rng: createRng(self), topology: () => topo, metric });
  return { r, setEdges: (next: Array<[string, string]>) => (topo = topology(self, next, rtt)) };
}

const sendsOf = (effects: RouteEffect[]) => effects.filter((e): e is Extract<RouteEffect, { type: 'send' }> => e.type === 'send');
const delivered = (effects: RouteEffect[]) => effects.filter((e) => e.type === 'deliver');

/** Walks a message hop by hop through routers that all see `edges`, returning the hops taken. */
function walk(edges: Array<[string, string]>, from: string, to: string) {
  const routers = new Map<string, Router>();
  for (const n of new Set(edges.flat())) routers.set(n, router(n, edges).r);
  let effects = routers.get(from)!.step(0, { type: 'send', to: id(to), kind: 'test', payload: { hello: 1 } });
  const hops = [from];
  for (let guard = 0; guard < 20; guard++) {
    const d = delivered(effects);
    if (d.length > 0) return { hops, delivery: d[0] };
    const s = sendsOf(effects)[0];
    if (!s) return { hops, delivery: undefined };
    hops.push(s.to);
    effects = routers.get(s.to)!.step(0, { type: 'message', from: id(hops[hops.length - 2]!), msg: JSON.parse(JSON.stringify(s.msg)) });
  }
  throw new Error('no end');
}

describe('router', () => {
  it('delivers over several hops along a shortest path, counting hops', () => {
    const line: Array<[string, string]> = [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['a', 'x'],
      ['x', 'y'],
    ];
    const { hops, delivery } = walk(line, 'a', 'e');
    expect(hops).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(delivery).toMatchObject({ type: 'deliver', origin: 'a', kind: 'test', payload: { hello: 1 }, hops: 4, broadcast: false });
  });

  it('each hop picks its own next hop: a relay whose link vanished routes around it', () => {
    // a → b → d normally; b has lost its link to d but still reaches d through e.
    const { r } = router('b', [
      ['a', 'b'],
      ['b', 'e'],
      ['e', 'd'],
    ]);
    const msg: RoutedMsg = { type: 'routed', id: 'm1', origin: id('a'), dest: id('d'), hops: 1, maxHops: 8, path: [id('a')], kind: 'k', payload: null };
    expect(sendsOf(r.step(0, { type: 'message', from: id('a'), msg }))).toMatchObject([{ to: 'e', msg: { hops: 2, path: ['a', 'b'] } }]);
  });

  it('never sends a message back through a node it has visited; detours or drops instead', () => {
    // At c, the shortest way to d is back through b (already on the path); c must use e.
    const { r } = router('c', [
      ['b', 'c'],
      ['b', 'd'],
      ['c', 'e'],
      ['e', 'f'],
      ['f', 'd'],
    ]);
    const msg: RoutedMsg = {
      type: 'routed',
      id: 'm2',
      origin: id('a'),
      dest: id('d'),
      hops: 2,
      maxHops: 8,
      path: [id('a'), id('b')],
      kind: 'k',
      payload: null,
    };
    expect(sendsOf(r.step(0, { type: 'message', from: id('b'), msg }))).toMatchObject([{ to: 'e' }]);
    expect(r.counters.detours).toBe(1);
    // With no way around, it is dropped as having no route.
    const dead = router('c', [
      ['b', 'c'],
      ['b', 'd'],
    ]).r;
    expect(sendsOf(dead.step(0, { type: 'message', from: id('b'), msg }))).toEqual([]);
    expect(dead.counters.dropped['no-route']).toBe(1);
  });

  it('drops loops, exceeded hop bounds, forged paths, strangers and oversize frames, counting each', () => {
    const { r } = router('c', [
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
    ]);
    const base: RoutedMsg = { type: 'routed', id: 'm3', origin: id('a'), dest: id('e'), hops: 2, maxHops: 8, path: [id('a'), id('b')], kind: 'k', payload: 1 };
    const cases: Array<[string, unknown, string, number?]> = [
      ['loop', { ...base, id: 'l', hops: 3, path: ['a', 'c', 'b'] }, 'b'],
      ['hop-limit', { ...base, id: 'h', maxHops: 2 }, 'b'],
      ['hop-limit', { ...base, id: 'h2', hops: 9, maxHops: 8, path: ['a', 'q', 'r', 's', 't', 'u', 'v', 'w', 'b'] }, 'b'],
      ['bad-path', { ...base, id: 'p', path: ['a', 'x'] }, 'b'],
      ['bad-path', { ...base, id: 'p2', hops: 3 }, 'b'],
      ['bad-path', { ...base, id: 'p3', path: ['z', 'b'] }, 'b'],
      ['bad-path', { ...base, id: 'p4', hops: 3, path: ['a', 'b', 'b'] }, 'b'],
      ['not-linked', { ...base, id: 'n' }, 'zz'],
      ['oversize', { ...base, id: 'o' }, 'b', 1_000_000],
      ['oversize', { ...base, id: 'o2', payload: 'x'.repeat(maxRoutedPayloadBytes + 1) }, 'b'],
      ['malformed', { ...base, id: 'has spaces' }, 'b'],
      ['malformed', { ...base, hops: -1 }, 'b'],
      ['malformed', { type: 'routed' }, 'b'],
      ['malformed', 42, 'b'],
    ];
    for (const [reason, msg, from, size] of cases) {
      const before = r.counters.dropped[reason as keyof typeof r.counters.dropped];
      const out = r.step(0, { type: 'message', from: id(from), msg, ...(size === undefined ? {} : { sizeBytes: size }) });
      expect(out, reason).toEqual([]);
      expect(r.counters.dropped[reason as keyof typeof r.counters.dropped], reason).toBe(before + 1);
    }
    expect(r.counters.forwarded).toBe(0);
  });

  it('a duplicate copy of a routed message is delivered once', () => {
    const { r } = router('d', [['c', 'd']]);
    const msg: RoutedMsg = {
      type: 'routed',
      id: 'dup',
      origin: id('a'),
      dest: id('d'),
      hops: 3,
      maxHops: 8,
      path: [id('a'), id('b'), id('c')],
      kind: 'k',
      payload: 1,
    };
    expect(delivered(r.step(0, { type: 'message', from: id('c'), msg }))).toHaveLength(1);
    expect(delivered(r.step(1, { type: 'message', from: id('c'), msg }))).toHaveLength(0);
    expect(r.counters.duplicates).toBe(1);
  });

  it('refuses local sends it cannot start, saying why', () => {
    const { r } = router('a', [['a', 'b']]);
    // Out of sight: a route discovery goes out first; unanswered, the message is undeliverable.
    expect(sendsOf(r.step(0, { type: 'send', to: id('nowhere'), kind: 'k', payload: 1, id: 'x1' }))).toMatchObject([
      { to: 'b', msg: { type: 'seek', origin: 'a', target: 'nowhere', hops: 1, path: ['a'] } },
    ]);
    expect(r.step(seekTimeoutMs - 1, { type: 'tick' })).toEqual([]);
    expect(r.step(seekTimeoutMs, { type: 'tick' })).toEqual([
      { type: 'undeliverable', id: 'x1', to: 'nowhere', reason: 'no-route', detail: `no path to nowhere found within ${seekTimeoutMs} ms` },
    ]);
    expect(r.counters.seeksFailed).toBe(1);
    expect(r.step(0, { type: 'send', to: id('b'), kind: 'bad kind!', payload: 1 })[0]).toMatchObject({ type: 'undeliverable', reason: 'bad-request' });
    expect(r.step(0, { type: 'send', to: id('b'), kind: 'k', payload: 'x'.repeat(maxRoutedPayloadBytes + 1) })[0]).toMatchObject({
      type: 'undeliverable',
      reason: 'oversize',
    });
    expect(r.step(0, { type: 'send', to: id('b'), kind: 'k', payload: () => 1 })[0]).toMatchObject({ type: 'undeliverable', reason: 'bad-request' });
    // The bound is in UTF-8 bytes, the unit of the frame limit: 20 K CJK characters are 60 KB.
    expect(r.step(0, { type: 'send', to: id('b'), kind: 'k', payload: '語'.repeat(20_000) })[0]).toMatchObject({ type: 'undeliverable', reason: 'oversize' });
    expect(delivered(r.step(0, { type: 'send', to: id('a'), kind: 'k', payload: 1 }))).toHaveLength(1);
  });

  it('by RTT, prefers two fast hops over one slow one', () => {
    const edges: Array<[string, string]> = [
      ['a', 'b'],
      ['b', 'c'],
      ['a', 'x'],
      ['x', 'y'],
      ['y', 'c'],
    ];
    const byHops = router('a', edges).r;
    expect(byHops.routeTo(id('c'))).toEqual(['a', 'b', 'c']);
    const byRtt = router('a', edges, 'rtt', { 'a-b': 400, 'b-c': 400, 'a-x': 10, 'x-y': 10, 'y-c': 10 }).r;
    expect(byRtt.routeTo(id('c'))).toEqual(['a', 'x', 'y', 'c']);
  });

  it('a broadcast reaches every node of a cyclic mesh exactly once, within its hop bound', () => {
    const edges: Array<[string, string]> = [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'b'],
      ['e', 'f'],
    ];
    const nodes = [...new Set(edges.flat())];
    const routers = new Map(nodes.map((n) => [n, router(n, edges).r]));
    const deliveries = new Map<string, number>();
    const queue: Array<{ to: string; from: string; msg: unknown }> = [];
    const handle = (at: string, effects: RouteEffect[]) => {
      for (const e of effects) {
        if (e.type === 'deliver') deliveries.set(at, (deliveries.get(at) ?? 0) + 1);
        if (e.type === 'send') queue.push({ to: e.to, from: at, msg: JSON.parse(JSON.stringify(e.msg)) });
      }
    };
    handle('a', routers.get('a')!.step(0, { type: 'broadcast', kind: 'news', payload: { n: 1 } }));
    while (queue.length > 0) {
      const { to, from, msg } = queue.shift()!;
      handle(to, routers.get(to)!.step(0, { type: 'message', from: id(from), msg }));
    }
    expect(Object.fromEntries(deliveries)).toEqual(Object.fromEntries(nodes.map((n) => [n, 1])));
    // With a bound of 1 hop only the direct neighbours hear it.
    const short = router('a', edges).r.step(0, { type: 'broadcast', kind: 'news', payload: 1, maxHops: 1, id: 'short-1' });
    const copy = sendsOf(short)[0]!.msg;
    const atB = routers.get('b')!.step(0, { type: 'message', from: id('a'), msg: copy });
    expect(delivered(atB)).toHaveLength(1);
    expect(sendsOf(atB)).toEqual([]);
  });

  it('a neighbour that floods routed traffic is disconnected', () => {
    const { r } = router('b', [
      ['a', 'b'],
      ['b', 'c'],
    ]);
    let cut = false;
    for (let i = 0; i < 2_000 && !cut; i++) {
      const msg = { type: 'flood', id: `f${i}`, origin: 'a', hops: 1, maxHops: 4, kind: 'spam', payload: i };
      cut = r.step(0, { type: 'message', from: id('a'), msg }).some((e) => e.type === 'disconnect');
    }
    expect(cut).toBe(true);
    expect(r.counters.dropped['rate-limited']).toBeGreaterThan(0);
  });

  it('decoding never throws, and everything decoded can be described', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({
            type: fc.constantFrom('routed', 'flood'),
            id: fc.string(),
            origin: fc.string(),
            dest: fc.string(),
            hops: fc.integer(),
            maxHops: fc.integer(),
            path: fc.array(fc.string()),
            kind: fc.string(),
            payload: fc.anything(),
          }),
        ),
        (raw) => {
          const msg = decodeRouteMessage(raw);
          if (msg) expect(describeRouteMessage(msg)).toBeTypeOf('string');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('route discovery', () => {
  const edges: Array<[string, string]> = [
    ['m', 'a'],
    ['m', 'b'],
    ['m', 'c'],
  ];
  const seek = { type: 'seek', id: 's1', origin: 'a', target: 'z', hops: 1, maxHops: 16, path: ['a'] };

  it('a node that knows no way to the target floods the seek on', () => {
    const { r } = router('m', edges);
    expect(sendsOf(r.step(0, { type: 'message', from: id('a'), msg: seek })).map((s) => s.to)).toEqual(['b', 'c']);
  });

  it('a node that knows a way to the target (here learnt from a message of its) sends the seek along it, not everywhere', () => {
    const { r } = router('m', edges);
    r.step(0, { type: 'learn', to: id('z'), path: ['z', 'y', 'c'].map(id) });
    expect(r.discoveredPath(id('z'))).toEqual(['c', 'y', 'z']);
    // A longer way back does not replace it; a shorter one would.
    r.step(0, { type: 'learn', to: id('z'), path: ['z', 'x', 'y', 'c'].map(id) });
    expect(r.discoveredPath(id('z'))).toEqual(['c', 'y', 'z']);
    expect(r.counters.learnt).toBe(1);
    expect(sendsOf(r.step(1, { type: 'message', from: id('a'), msg: seek }))).toEqual([
      { type: 'send', to: 'c', msg: { ...seek, hops: 2, path: ['a', 'm'], via: ['c', 'y', 'z'] } },
    ]);
    // A seek whose waypoints lead nowhere from here floods on without them.
    const lost = { ...seek, id: 's2', via: ['q', 'z'] };
    const { r: other } = router('m', edges);
    expect(sendsOf(other.step(1, { type: 'message', from: id('a'), msg: lost })).map((s) => [s.to, 'via' in s.msg])).toEqual([
      ['b', false],
      ['c', false],
    ]);
  });
});
