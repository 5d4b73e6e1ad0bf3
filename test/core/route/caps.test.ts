// The bounded structures under the router and the overlay: the seen-cache and the throttle.
import { describe, expect, it } from 'vitest';
import { SeenCache } from '../../../src/core/route/seen-cache.ts';
import { createThrottle } from '../../../src/core/overlay/throttle.ts';
import { hopTree, pathTo, rttTree } from '../../../src/core/route/paths.ts';
import { graphFromLinks } from '../../../src/core/graph/index.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';

describe('seen-cache', () => {
  it('remembers keys for its TTL and reports duplicates', () => {
    const seen = new SeenCache(10, 1_000);
    expect(seen.add('a', 0)).toBe(true);
    expect(seen.add('a', 999)).toBe(false);
    expect(seen.add('a', 1_000)).toBe(true); // expired, so new again
  });

  it('never holds more than its capacity; the oldest go first', () => {
    const seen = new SeenCache(3, 60_000);
    for (const k of ['a', 'b', 'c', 'd']) seen.add(k, 0);
    expect(seen.size).toBe(3);
    expect(seen.has('a', 0)).toBe(false);
    expect(seen.has('d', 0)).toBe(true);
    seen.expire(60_000);
    expect(seen.size).toBe(0);
  });
});

describe('throttle', () => {
  const limits = { burstMsgs: 5, ratePerS: 10, floodDropsPerWindow: 3, windowMs: 1_000 };

  it('lets a burst through, then the sustained rate', () => {
    const t = createThrottle(limits, 0);
    expect(Array.from({ length: 6 }, () => t.admit(0))).toEqual([true, true, true, true, true, false]);
    expect(t.admit(50)).toBe(false); // half a token
    expect(t.admit(100)).toBe(true); // one token per 100 ms
  });

  it('calls a neighbour flooding after enough refusals in one window, and forgives after it', () => {
    const t = createThrottle(limits, 0);
    for (let i = 0; i < 5; i++) t.admit(0);
    for (let i = 0; i < 3; i++) t.admit(0);
    expect(t.flooding()).toBe(true);
    t.admit(1_000);
    expect(t.flooding()).toBe(false);
  });
});

describe('path trees', () => {
  const id = asNodeId;
  const g = graphFromLinks<NodeId>([
    [id('a'), id('b')],
    [id('b'), id('c')],
    [id('a'), id('d')],
    [id('d'), id('c')],
  ]);

  it('avoids the nodes it is told to avoid', () => {
    expect(pathTo(hopTree(g, id('a')), id('c'))).toHaveLength(3);
    expect(pathTo(hopTree(g, id('a'), new Set([id('b')])), id('c'))).toEqual(['a', 'd', 'c']);
    expect(pathTo(hopTree(g, id('a'), new Set([id('b'), id('d')])), id('c'))).toBeNull();
  });

  it('by RTT, takes the cheaper of two equal-length paths', () => {
    const costs: Record<string, number> = { 'a-b': 100, 'b-c': 100, 'a-d': 5, 'd-c': 5 };
    const rtt = (x: NodeId, y: NodeId) => costs[`${x}-${y}`];
    expect(pathTo(rttTree(g, id('a'), rtt), id('c'))).toEqual(['a', 'd', 'c']);
  });
});
