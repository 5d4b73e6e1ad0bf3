// Anti-entropy narrows to one contact per cycle while nothing changes (src/core/gossip/settled.ts),
// and widens back to the full fanout at once when something does: a write here, or a sync from a
// peer whose memory differs.
import { describe, expect, test } from 'vitest';
import { GossipCore } from '../../../src/core/gossip/core.ts';
import { settleCycles, settledFanout } from '../../../src/core/gossip/settled.ts';
import type { GossipEffect } from '../../../src/core/gossip/types.ts';
import { defaultGossipConfig } from '../../../src/core/gossip/config.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';

const n = (i: number): NodeId => `n${i}` as NodeId;
const peers = Array.from({ length: 8 }, (_, i) => n(i + 1));
const cycleMs = defaultGossipConfig.cycleMs;
const fanout = defaultGossipConfig.fanout;

const makeCore = (seed: number) => new GossipCore({ id: n(0), rng: createRng(seed), now: 0, config: { contactMode: 'members' }, peers });
const syncs = (effects: GossipEffect[]) => effects.flatMap((e) => (e.type === 'send' && e.msg.type === 'sync' ? [e] : []));

/** Ticks every 50 ms over [from, until]; returns the number of sync targets of each cycle. */
function cycleSizes(core: GossipCore, from: number, until: number): number[] {
  const sizes: number[] = [];
  for (let t = from; t <= until; t += 50) {
    const sent = syncs(core.step(t, { type: 'tick' }));
    if (sent.length > 0) sizes.push(sent.length);
  }
  return sizes;
}

describe('settled anti-entropy', () => {
  test.each([1, 2, 3])('an idle node narrows to one contact per cycle after settleCycles quiet cycles (seed %i)', (seed) => {
    const core = makeCore(seed);
    const early = cycleSizes(core, 0, (settleCycles - 1) * cycleMs);
    expect(early.length).toBeGreaterThan(0);
    expect(early.every((size) => size === fanout)).toBe(true);
    const later = cycleSizes(core, (settleCycles - 1) * cycleMs + 50, (settleCycles + 6) * cycleMs);
    expect(later.slice(-3)).toEqual([settledFanout, settledFanout, settledFanout]);
  });

  test('a write here widens the next cycle to the full fanout', () => {
    const core = makeCore(4);
    const until = (settleCycles + 4) * cycleMs;
    expect(cycleSizes(core, 0, until).at(-1)).toBe(settledFanout);
    core.step(until + 10, { type: 'set-memory', key: 'k', value: 1 });
    expect(cycleSizes(core, until + 50, until + cycleMs + 50)[0]).toBe(fanout);
  });

  test('a sync from a peer whose memory differs widens the next cycle', () => {
    const core = makeCore(5);
    const until = (settleCycles + 4) * cycleMs;
    expect(cycleSizes(core, 0, until).at(-1)).toBe(settledFanout);
    // A sync whose fingerprint is not ours (n1 holds something we do not).
    core.step(until + 10, { type: 'message', from: n(1), msg: { type: 'sync', d: [], p: false, mh: 0, f: 12345 } });
    expect(cycleSizes(core, until + 50, until + cycleMs + 50)[0]).toBe(fanout);
  });
});
