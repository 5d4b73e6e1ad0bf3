// Frames received, counted by protocol/type for bench:idle (src/worker/frame-counts.ts): peer
// bytes choose the types, so odd ones are folded and the table stays bounded.
import { describe, expect, test } from 'vitest';
import { FrameCounts, frameCountRows } from '../../src/worker/frame-counts.ts';

describe('frame counts', () => {
  test('counts by protocol and message type; messages without a string type count as other', () => {
    const counts = new FrameCounts();
    counts.count('gossip', { type: 'ping' });
    counts.count('gossip', { type: 'ping' });
    counts.count('link', { type: 'pong', n: 1 });
    counts.count('pbft', ['a', 1]);
    counts.count('pbft', { type: 7 });
    counts.count('overlay', null);
    expect(counts.view()).toEqual({ 'gossip/ping': 2, 'link/pong': 1, 'pbft/other': 2, 'overlay/other': 1 });
  });

  test('a peer inventing types cannot grow the table past its bound', () => {
    const counts = new FrameCounts();
    for (let i = 0; i < 10_000; i++) counts.count('gossip', { type: `t${i}` });
    counts.count('gossip', { type: 'x'.repeat(1_000) });
    const view = counts.view();
    expect(Object.keys(view).length).toBeLessThanOrEqual(frameCountRows + 1);
    expect(Object.values(view).reduce((a, b) => a + b, 0)).toBe(10_001);
  });
});
