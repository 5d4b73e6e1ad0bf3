// A route discovery's answer must be signed by the node sought: every node sees the flooded
// seek, and one that answered in the target's name with a path through itself would get the
// origin's traffic for the target for a minute (to drop or delay it). The router core asks for
// the signature (`sign` effect) and takes an answer only with the signer the runtime verified;
// here the test plays the runtime, with a keyed hash for a signature only its signer can make.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Router, type RouteEffect } from '../../../src/core/route/router.ts';
import { foundSigningText, routeFoundKind, type RoutedMsg, type SeekMsg } from '../../../src/core/route/messages.ts';
import type { RouteTopology } from '../../../src/core/overlay/overlay.ts';
import { graphFromLinks } from '../../../src/core/graph/index.ts';
import { createRng } from '../../../src/core/rng.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';

const id = asNodeId;
const sign = (signer: string, text: string): string => createHash('sha256').update(`key of ${signer}\n${text}`).digest('base64url');

function router(self: string, edges: Array<[string, string]>): Router {
  const graph = graphFromLinks(edges.map(([a, b]) => [id(a), id(b)] as [NodeId, NodeId]));
  const topology: RouteTopology = { key: JSON.stringify(edges), graph, links: new Set(graph.get(id(self)) ?? []), rttMs: () => undefined };
  return new Router({ self: id(self), rng: createRng(self), topology: () => topology });
}

const sendsOf = (effects: RouteEffect[]) => effects.filter((e): e is Extract<RouteEffect, { type: 'send' }> => e.type === 'send');

/** Feeds `msg` as the runtime does: an answer it is asked about gets the signer it verified. */
function receive(r: Router, now: number, from: string, msg: unknown): RouteEffect[] {
  const check = r.foundToVerify(msg);
  const signer = check && sign(check.signer, check.text) === check.sig ? check.signer : null;
  return r.step(now, { type: 'message', from: id(from), msg, signer });
}

/** An answer to `seek` in `target`'s name, arriving at the seek's origin from `from`. */
function answer(seek: SeekMsg, target: string, from: string, path: string[], sig: string, answerId: string): RoutedMsg {
  return {
    type: 'routed',
    id: answerId,
    origin: id(target),
    dest: seek.origin,
    hops: 2,
    maxHops: 16,
    path: [id(target), id(from)],
    kind: routeFoundKind,
    payload: { seek: seek.id, target: id(target), path: path.map(id), sig },
  };
}

describe('route discovery answers', () => {
  it('the target signs its answer before it leaves, over the seek and the path it took', () => {
    const z = router('z', [['z', 'y']]);
    const seek: SeekMsg = { type: 'seek', id: 's1', origin: id('a'), target: id('z'), hops: 3, maxHops: 16, path: ['a', 'b', 'y'].map(id) };
    const asked = z.step(0, { type: 'message', from: id('y'), msg: seek });
    const path = ['a', 'b', 'y', 'z'].map(id);
    expect(asked).toEqual([{ type: 'sign', id: 1, text: foundSigningText({ seek: 's1', target: id('z'), path }) }]);
    const sig = sign('z', (asked[0] as { text: string }).text);
    expect(sendsOf(z.step(0, { type: 'signed', id: 1, sig }))).toMatchObject([
      { to: 'y', msg: { type: 'routed', origin: 'z', dest: 'a', kind: routeFoundKind, via: ['y', 'b', 'a'], payload: { seek: 's1', target: 'z', path, sig } } },
    ]);
    // A signature for an answer already sent (or never asked for) sends nothing.
    expect(z.step(0, { type: 'signed', id: 1, sig })).toEqual([]);
  });

  it('a forged answer (another node answering in the target’s name) is refused and counted; the real one is taken', () => {
    const a = router('a', [
      ['a', 'b'],
      ['a', 'c'],
    ]);
    const seeks = sendsOf(a.step(0, { type: 'send', to: id('z'), kind: 'test', payload: { n: 1 }, id: 'm1' }));
    expect(seeks.map((s) => s.to).sort()).toEqual(['b', 'c']);
    const seek = (seeks[0] as { msg: SeekMsg }).msg;
    const text = (path: string[]) => foundSigningText({ seek: seek.id, target: id('z'), path: path.map(id) });

    // b saw the seek and answers as if it were z, with a path through itself: a bad signature,
    // or none the runtime could check (it was not asked: the frame came with no signer).
    const forged = answer(seek, 'z', 'b', ['a', 'b', 'z'], sign('b', text(['a', 'b', 'z'])), 'f1');
    expect(a.foundToVerify(forged)).toEqual({ signer: 'z', text: text(['a', 'b', 'z']), sig: sign('b', text(['a', 'b', 'z'])) });
    expect(receive(a, 1, 'b', forged)).toEqual([]);
    expect(a.step(1, { type: 'message', from: id('b'), msg: { ...forged, id: 'f2' } })).toEqual([]);
    expect(a.counters.dropped.unsigned).toBe(2);
    // An answer to a seek a did not make (or one that is over) is refused before any signature matters.
    expect(receive(a, 1, 'b', { ...forged, id: 'f3', payload: { ...(forged.payload as object), seek: 'other' } })).toEqual([]);
    expect(a.counters.dropped['bad-path']).toBe(1);
    expect(a.counters.found).toBe(0);
    expect(a.discoveredPath(id('z'))).toBeNull();

    // z's own answer, through c: the waiting message leaves along it.
    const real = answer(seek, 'z', 'c', ['a', 'c', 'z'], sign('z', text(['a', 'c', 'z'])), 'r1');
    expect(sendsOf(receive(a, 2, 'c', real))).toMatchObject([{ to: 'c', msg: { type: 'routed', id: 'm1', dest: 'z', via: ['c', 'z'] } }]);
    expect(a.counters.found).toBe(1);
    expect(a.discoveredPath(id('z'))).toEqual(['c', 'z']);
    // Answered: a late answer is not even worth a signature check, and changes nothing.
    expect(a.foundToVerify({ ...real, id: 'r2' })).toBeNull();
    expect(receive(a, 3, 'b', { ...forged, id: 'f4' })).toEqual([]);
    expect(a.discoveredPath(id('z'))).toEqual(['c', 'z']);
  });
});
