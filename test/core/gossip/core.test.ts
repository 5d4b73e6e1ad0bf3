// The gossip core driven step by step, without the simulator: commands, refusals, persistence
// order, restore, and garbage of every kind at every input.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { GossipCore } from '../../../src/core/gossip/core.ts';
import type { GossipEffect, GossipInput } from '../../../src/core/gossip/types.ts';
import { selfRecordKey, memoryKeyPrefix } from '../../../src/core/gossip/persist.ts';
import { maxValueBytes } from '../../../src/core/gossip/config.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { mutate, validMessages } from './fixtures.ts';
import { longMode } from '../../sim/seed.ts';

const n = (i: number): NodeId => `n${i}` as NodeId;
const peers = [n(1), n(2), n(3), n(4), n(5)];

function makeCore(options: { persisted?: Array<[string, unknown]>; now?: number; seed?: number } = {}): GossipCore {
  return new GossipCore({
    id: n(0),
    rng: createRng(options.seed ?? 1),
    now: options.now ?? 1_000,
    config: { contactMode: 'members' },
    peers,
    persisted: options.persisted,
  });
}

/** Replays every persist effect into a map, as a runtime's storage would hold it. */
function disk(effects: GossipEffect[], into = new Map<string, unknown>()): Map<string, unknown> {
  for (const e of effects) {
    if (e.type !== 'persist') continue;
    for (const [k, v] of e.writes) into.set(k, structuredClone(v));
    for (const k of e.deletes) into.delete(k);
  }
  return into;
}

const sends = (effects: GossipEffect[]) => effects.filter((e): e is Extract<GossipEffect, { type: 'send' }> => e.type === 'send');

describe('startup and persistence', () => {
  test('the first step makes the incarnation durable before anything is sent', () => {
    const core = makeCore();
    expect(core.nextWakeAt()).toBe(1_000);
    const effects = core.step(1_000, { type: 'tick' });
    expect(effects[0]?.type).toBe('persist');
    expect(disk(effects).get(selfRecordKey)).toMatchObject({ id: 'n0', inc: 0, ver: 0 });
    expect(sends(effects).length).toBeGreaterThan(0);
  });

  test('a write persists its entry and the version first, then pushes it to `fanout` contacts at the flush that follows at once', () => {
    const core = makeCore();
    core.step(1_000, { type: 'tick' });
    const value = { list: [1, 2] };
    const effects = core.step(1_010, { type: 'set-memory', key: 'greeting', value });
    value.list.push(3); // the caller's object is not shared with the core
    expect(effects.map((e) => e.type)).toEqual(['persist', 'memory-changed']);
    expect(core.nextWakeAt()).toBe(1_010);
    const flushed = core.step(1_010, { type: 'tick' });
    expect(sends(flushed).filter((s) => s.msg.type === 'news').length).toBe(3); // 'members' mode: `fanout` contacts
    const stored = disk(effects);
    expect(stored.get(`${memoryKeyPrefix}greeting`)).toMatchObject({ k: 'greeting', v: { list: [1, 2] }, o: 'n0', n: 1 });
    expect(stored.get(selfRecordKey)).toMatchObject({ ver: 1 });
    expect(core.get('greeting')?.value).toEqual({ list: [1, 2] });
    for (const s of sends(flushed).filter((s) => s.msg.type === 'news'))
      expect(s.msg).toMatchObject({ type: 'news', e: [expect.objectContaining({ k: 'greeting' })] });
  });

  test("values handed out are frozen: a caller cannot change the replica behind the core's back", () => {
    const core = makeCore();
    core.step(1_000, { type: 'set-memory', key: 'k', value: { list: [1] } });
    const value = core.get('k')?.value as { list: number[] };
    expect(() => value.list.push(2)).toThrow(TypeError);
    expect(core.get('k')?.value).toEqual({ list: [1] });
  });

  test('restarting from what was persisted: memory back, incarnation and versions move on', () => {
    const first = makeCore();
    const stored = disk(first.step(1_000, { type: 'tick' }));
    disk(first.step(1_100, { type: 'set-memory', key: 'a', value: 1 }), stored);
    disk(first.step(1_200, { type: 'set-memory', key: 'b', value: 2 }), stored);
    const second = makeCore({ persisted: [...stored], now: 5_000 });
    expect(second.currentIncarnation).toBe(1);
    expect(second.get('a')?.value).toBe(1);
    expect(second.get('b')?.value).toBe(2);
    second.step(5_000, { type: 'tick' });
    const effects = second.step(5_001, { type: 'set-memory', key: 'c', value: 3 });
    expect(disk(effects).get(`${memoryKeyPrefix}c`)).toMatchObject({ i: 1, n: 3 });
  });

  test('records that do not decode are skipped and counted, not trusted', () => {
    const core = makeCore({
      persisted: [
        [selfRecordKey, { v: 1, id: 'n0', inc: -1, ver: 0, hlc: [0, 0], savedAt: 0 }],
        [`${memoryKeyPrefix}x`, { k: 'y', v: 1, h: [1, 0], o: 'n1', i: 0, n: 1 }], // under the wrong key
        [`${memoryKeyPrefix}z`, 'garbage'],
      ],
    });
    expect(core.currentIncarnation).toBe(0);
    expect(core.view().memory).toEqual([]);
    expect(core.view().rejected['bad-stored-record']).toBe(3);
  });
});

describe('commands are checked', () => {
  const refusedFor = (input: GossipInput): string | undefined => {
    const core = makeCore();
    core.step(1_000, { type: 'tick' });
    const effects = core.step(1_001, input);
    expect(effects.filter((e) => e.type === 'persist' || e.type === 'send')).toEqual([]);
    const refusal = effects.find((e) => e.type === 'command-refused');
    return refusal?.type === 'command-refused' ? refusal.reason : undefined;
  };

  test.each([
    ['an empty key', { type: 'set-memory', key: '', value: 1 }, /key/],
    ['a key that is not a string', { type: 'set-memory', key: 42, value: 1 }, /key/],
    ['NaN', { type: 'set-memory', key: 'k', value: NaN }, /not a JSON number/],
    ['undefined', { type: 'set-memory', key: 'k', value: undefined }, /not JSON/],
    ['a function', { type: 'set-memory', key: 'k', value: () => 1 }, /not JSON/],
    ['a Map', { type: 'set-memory', key: 'k', value: new Map() }, /plain objects/],
    ['a huge value', { type: 'set-memory', key: 'k', value: 'x'.repeat(maxValueBytes) }, /limit/],
    ['deleting a key that does not exist', { type: 'delete-memory', key: 'nope' }, /no key/],
    ['a peer that is not a node id', { type: 'peer-discovered', peer: 'bad id' }, /node id/],
    ['peers that are not node ids', { type: 'peers-changed', peers: ['n1', 7] }, /node ids/],
  ])('refuses %s with a reason', (_what, input, reason) => {
    expect(refusedFor(input as GossipInput)).toMatch(reason);
  });

  test('a cyclic value is refused', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    expect(refusedFor({ type: 'set-memory', key: 'k', value: cyclic })).toMatch(/nested/);
  });
});

describe('messages that must not be applied', () => {
  function fresh(): GossipCore {
    const core = makeCore();
    core.step(1_000, { type: 'tick' });
    return core;
  }
  const entry = (over: Record<string, unknown>) => ({ k: 'k', v: 'v', h: [1_000, 0], o: 'n1', i: 0, n: 1, ...over });

  test.each([
    ['malformed', { type: 'ping', seq: 'one' }, 'malformed'],
    ["a leave in someone else's name", { type: 'leave', node: 'n2', inc: 0 }, 'spoofed-sender'],
    ['a write from the far future', { type: 'news', e: [entry({ h: [1_000 + 3_600_000, 0] })] }, 'future-clock'],
    ['a write in our own name we never made', { type: 'news', e: [entry({ o: 'n0', n: 5 })] }, 'forged-own-write'],
    ['an impossible jump of our incarnation', { type: 'news', m: [['n0', 50_000, 1]] }, 'impossible-incarnation'],
    ["an impossible jump of a member's incarnation", { type: 'news', m: [['n2', 50_000, 0]] }, 'impossible-incarnation'],
    ['a claim that our stream is impossibly far along', { type: 'delta', e: [], u: [['n0', 5_000_000]] }, 'impossible-version'],
  ])('%s is refused and counted', (_what, msg, reason) => {
    const core = fresh();
    const before = JSON.stringify(core.view().memory);
    core.step(1_010, { type: 'message', from: n(1), msg });
    expect(core.view().rejected[reason]).toBe(1);
    expect(JSON.stringify(core.view().memory)).toBe(before);
    expect(core.currentIncarnation).toBe(0);
  });

  test('oversized and self-sent messages are refused unread', () => {
    const core = fresh();
    core.step(1_010, { type: 'message', from: n(1), msg: { type: 'ping', seq: 1 }, bytes: 10_000_000 });
    core.step(1_010, { type: 'message', from: n(0), msg: { type: 'ping', seq: 1 } });
    expect(core.view().rejected).toMatchObject({ oversized: 1, 'from-self': 1 });
  });

  test('an ack for our probe must come from the probed member', () => {
    const core = makeCore({ seed: 3 });
    let probe: Extract<GossipEffect, { type: 'send' }> | undefined;
    for (let t = 1_000; !probe && t < 3_000; t += 50) {
      probe = sends(core.step(t, { type: 'tick' })).find((s) => s.msg.type === 'ping');
    }
    expect(probe).toBeDefined();
    const seq = (probe!.msg as { seq: number }).seq;
    const impostor = peers.find((p) => p !== probe!.to)!;
    core.step(3_000, { type: 'message', from: impostor, msg: { type: 'ack', seq } });
    expect(core.view().rejected['wrong-sender']).toBe(1);
  });

  test('a suspicion of ourselves is refuted: new incarnation durable first, then told to the accuser', () => {
    const core = fresh();
    const effects = core.step(1_010, { type: 'message', from: n(2), msg: { type: 'news', m: [['n0', 0, 1]] } });
    expect(core.currentIncarnation).toBe(1);
    expect(effects[0]?.type).toBe('persist');
    expect(disk(effects).get(selfRecordKey)).toMatchObject({ inc: 1 });
    expect(sends(effects)).toContainEqual(expect.objectContaining({ to: n(2), msg: { type: 'news', m: [['n0', 1, 0]] } }));
    expect(core.metrics().refutations).toBe(1);
    expect(core.metrics().localHealth).toBe(1);
  });
});

describe('garbage never crashes the core', () => {
  const anyInput: fc.Arbitrary<GossipInput> = fc.oneof(
    fc.record({ type: fc.constant('tick' as const) }),
    fc.record({
      type: fc.constant('message' as const),
      from: fc.oneof(fc.constantFrom(...peers, n(0), n(9)), fc.string()) as fc.Arbitrary<NodeId>,
      msg: fc.oneof(fc.anything(), fc.constantFrom(...validMessages), fc.constantFrom(...validMessages).chain(mutate)),
      bytes: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
    }),
    fc.record({ type: fc.constant('set-memory' as const), key: fc.oneof(fc.string(), fc.anything()) as fc.Arbitrary<string>, value: fc.anything() }),
    fc.record({ type: fc.constant('delete-memory' as const), key: fc.string() }),
    fc.record({ type: fc.constant('link-down' as const), peer: fc.oneof(fc.constantFrom(...peers), fc.string()) as fc.Arbitrary<NodeId> }),
    fc.record({ type: fc.constant('peer-discovered' as const), peer: fc.oneof(fc.constantFrom(...peers), fc.string()) as fc.Arbitrary<NodeId> }),
    fc.record({ type: fc.constant('peers-changed' as const), peers: fc.array(fc.oneof(fc.constantFrom(...peers), fc.anything())) as fc.Arbitrary<NodeId[]> }),
    fc.record({ type: fc.constant('leave' as const) }),
    fc.anything() as fc.Arbitrary<GossipInput>,
  );

  test('any sequence of any inputs: no throw, a consistent view, effects within limits', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), anyInput), { maxLength: 40 }), fc.integer(), (steps, seed) => {
        const core = makeCore({ seed });
        let now = 1_000;
        for (const [dt, input] of steps) {
          now += dt;
          const effects = core.step(now, input);
          for (const e of effects) if (e.type === 'send') expect(e.bytes).toBeLessThanOrEqual(64 * 1024);
          const wake = core.nextWakeAt();
          expect(wake === undefined || Number.isFinite(wake)).toBe(true);
        }
        const view = core.view();
        expect(view.members.find((m) => m.id === n(0))?.status).toMatch(/alive|left/);
        for (const value of Object.values(view.metrics)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
      }),
      { numRuns: longMode() ? 3_000 : 300 },
    );
  });
});
