// Eager push (src/core/gossip/eager.ts): a fresh write is flooded along every direct link at the
// flush that follows it, a burst travels in few frames, a node passes on only what was news to
// it, and one origin's flood is throttled without holding back anyone else's writes.
import { describe, expect, test } from 'vitest';
import { GossipCore, type GossipEffect } from '../../../src/core/gossip/index.ts';
import { eagerBurst } from '../../../src/core/gossip/eager.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';

const n = (i: number): NodeId => `n${i}` as NodeId;

function core(id: number, peers: number[]): GossipCore {
  return new GossipCore({ id: n(id), rng: createRng(id + 1), now: 1_000, peers: peers.map(n) });
}

type Send = Extract<GossipEffect, { type: 'send' }>;
const news = (effects: GossipEffect[]): Send[] => effects.filter((e): e is Send => e.type === 'send' && e.msg.type === 'news' && (e.msg.e?.length ?? 0) > 0);
const entriesIn = (sends: Send[]): number => sends.reduce((sum, s) => sum + (s.msg.type === 'news' ? (s.msg.e?.length ?? 0) : 0), 0);

describe('eager push of fresh writes', () => {
  test('a burst of writes made in one turn leaves in one frame per link, to every link', () => {
    const a = core(0, [1, 2, 3]);
    a.step(1_000, { type: 'tick' });
    for (let i = 0; i < 50; i++) expect(news(a.step(1_001, { type: 'set-memory', key: `k${i}`, value: i }))).toEqual([]);
    expect(a.nextWakeAt()).toBe(1_001);
    const sent = news(a.step(1_001, { type: 'tick' }));
    expect(sent.map((s) => s.to).sort()).toEqual([n(1), n(2), n(3)]);
    for (const s of sent) expect(s.msg.type === 'news' && s.msg.e?.length).toBe(50);
    expect(a.view().metrics.eagerFrames).toBe(3);
  });

  test('a burst bigger than a frame is split within the message budget', () => {
    const a = core(0, [1]);
    a.step(1_000, { type: 'tick' });
    const sent: Send[] = [];
    for (let i = 0; i < 600; i++) sent.push(...news(a.step(1_001, { type: 'set-memory', key: `k${i}`, value: 'x'.repeat(100) })));
    sent.push(...news(a.step(1_001, { type: 'tick' })));
    expect(entriesIn(sent)).toBe(600);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.length).toBeLessThanOrEqual(5);
  });

  test('a relay passes news on to its other links at once, never back, and only once', () => {
    const a = core(0, [1]);
    const b = core(1, [0, 2, 3]);
    a.step(1_000, { type: 'tick' });
    b.step(1_000, { type: 'tick' });
    a.step(1_001, { type: 'set-memory', key: 'greeting', value: 'hi' });
    const [frame] = news(a.step(1_001, { type: 'tick' }));
    expect(frame).toBeDefined();
    b.step(1_002, { type: 'message', from: n(0), msg: frame?.msg });
    expect(b.get('greeting')?.value).toBe('hi');
    const forwarded = news(b.step(1_002, { type: 'tick' }));
    expect(forwarded.map((s) => s.to).sort()).toEqual([n(2), n(3)]);
    // Passed on without waiting for the relay's disk; the writer's own frame waits for its own.
    expect(forwarded.every((s) => s.unordered === true)).toBe(true);
    expect(frame?.unordered).toBeUndefined();
    // The same write again (over another link): not news any more, so not passed on.
    b.step(1_003, { type: 'message', from: n(2), msg: frame?.msg });
    expect(news(b.step(1_003, { type: 'tick' }))).toEqual([]);
  });

  test('an old write learnt late is left to anti-entropy, not flooded', () => {
    const a = core(0, [1]);
    const b = core(1, [0, 2]);
    a.step(1_000, { type: 'tick' });
    a.step(1_001, { type: 'set-memory', key: 'old', value: 1 });
    const [frame] = news(a.step(1_001, { type: 'tick' }));
    b.step(60_000, { type: 'message', from: n(0), msg: frame?.msg });
    expect(b.get('old')?.value).toBe(1);
    expect(news(b.step(60_000, { type: 'tick' }))).toEqual([]);
  });

  test("one origin's flood is throttled (stored, counted, left to anti-entropy) while another's writes still go at once", () => {
    const a = core(0, [1]);
    const b = core(1, [0, 2]);
    a.step(1_000, { type: 'tick' });
    b.step(1_000, { type: 'tick' });
    const frames: Send[] = [];
    for (let i = 0; i < eagerBurst + 100; i++) frames.push(...news(a.step(1_001, { type: 'set-memory', key: `flood${i}`, value: i })));
    frames.push(...news(a.step(1_001, { type: 'tick' })));
    expect(a.view().metrics.eagerThrottled).toBe(100);
    expect(a.view().metrics.liveKeys).toBe(eagerBurst + 100);
    expect(entriesIn(frames)).toBe(eagerBurst);
    // b's own write, made during the flood it relays, still leaves at once.
    for (const f of frames) b.step(1_002, { type: 'message', from: n(0), msg: f.msg });
    b.step(1_002, { type: 'set-memory', key: 'mine', value: 'b' });
    const out = [...news(b.step(1_002, { type: 'tick' }))];
    const toC = out.filter((s) => s.to === n(2)).flatMap((s) => (s.msg.type === 'news' ? (s.msg.e ?? []) : []));
    expect(toC.some((e) => e.k === 'mine')).toBe(true);
  });
});
