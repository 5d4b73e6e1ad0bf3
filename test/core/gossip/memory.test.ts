import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { MemoryStore, beats, makeEntry, entryFromWire, type Entry } from '../../../src/core/gossip/memory.ts';
import { maxKeys } from '../../../src/core/gossip/config.ts';
import { longMode } from '../../sim/seed.ts';

const node = (i: number): NodeId => `n${i}` as NodeId;

/** Random writes: each origin numbers its own writes 1, 2, 3, … */
const writesArb = fc
  .array(fc.record({ origin: fc.integer({ min: 0, max: 3 }), key: fc.integer({ min: 0, max: 5 }), wall: fc.integer({ min: 0, max: 20 }), del: fc.boolean() }), {
    minLength: 1,
    maxLength: 40,
  })
  .map((raw) => {
    // A writer's clock only moves forward, so its writes have increasing (wall, count).
    const versions = [0, 0, 0, 0];
    const walls = [0, 0, 0, 0];
    return raw.map((w) => {
      const ver = ++versions[w.origin]!;
      walls[w.origin] = walls[w.origin]! + (w.wall % 4);
      return makeEntry(`k${w.key}`, w.del ? undefined : `${w.origin}:${ver}`, { wall: walls[w.origin]!, count: ver }, node(w.origin), 0, ver);
    });
  });

/** The entry each key must end up with: the one that beats all others. */
function winners(entries: readonly Entry[]): Map<string, Entry> {
  const best = new Map<string, Entry>();
  for (const e of entries) {
    const current = best.get(e.key);
    if (!current || beats(e, current)) best.set(e.key, e);
  }
  return best;
}

function visible(store: MemoryStore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of store.entries()) if (!e.deleted) out[e.key] = e.value;
  return out;
}

describe('last writer wins', () => {
  test('the result does not depend on the order writes arrive in, or on repeats', () => {
    fc.assert(
      fc.property(writesArb, fc.integer(), (writes, seed) => {
        const rng = createRng(seed);
        const a = new MemoryStore();
        const b = new MemoryStore();
        for (const e of writes) a.apply(e);
        for (const e of [...rng.shuffle(writes), ...rng.shuffle(writes)]) b.apply(entryFromWire(e.wire));
        expect(visible(b)).toEqual(visible(a));
        expect(b.fingerprint).toBe(a.fingerprint);
        const expected = Object.fromEntries([...winners(writes).values()].filter((e) => !e.deleted).map((e) => [e.key, e.value]));
        expect(visible(a)).toEqual(expected);
      }),
    );
  });

  test('a later clock wins; equal clocks go to the higher node id', () => {
    const store = new MemoryStore();
    store.apply(makeEntry('k', 'late', { wall: 10, count: 0 }, node(1), 0, 1));
    expect(store.apply(makeEntry('k', 'early', { wall: 9, count: 5 }, node(9), 0, 1))).toBe('stale');
    expect(store.apply(makeEntry('k', 'tie-high-id', { wall: 10, count: 0 }, node(2), 0, 1))).toBe('new');
    expect(store.get('k')?.value).toBe('tie-high-id');
    expect(store.apply(makeEntry('k', undefined, { wall: 11, count: 0 }, node(0), 0, 1))).toBe('new');
    expect(store.get('k')?.deleted).toBe(true);
    expect(store.liveKeys).toBe(0);
    expect(store.tombstoneCount).toBe(1);
  });
});

describe('Scuttlebutt reconciliation', () => {
  /** One push-pull exchange between a and b, as the core runs it, with a small byte budget. */
  function exchange(a: MemoryStore, b: MemoryStore, rng: ReturnType<typeof createRng>, budget: number): void {
    const digest = a.digest(rng);
    const reply = b.deltaFor(digest.positions, digest.partial, rng, budget);
    const request = b.lacking(digest.positions);
    for (const w of reply.entries) a.apply(entryFromWire(w));
    a.advance(reply.upTo);
    const delta = a.deltaFor(request, true, rng, budget, 0);
    for (const w of delta.entries) b.apply(entryFromWire(w));
    b.advance(delta.upTo);
  }

  test('stores that each saw part of the writes converge through digests, even with answers cut short', () => {
    fc.assert(
      fc.property(writesArb, fc.integer(), fc.integer({ min: 150, max: 2_000 }), (writes, seed, budget) => {
        const rng = createRng(seed);
        // Four writers hold their own writes; two more stores heard a random few as rumours.
        const stores = [0, 1, 2, 3, 4, 5].map(() => new MemoryStore());
        for (const e of writes) {
          stores[Number(e.origin.slice(1))]!.write(e);
          for (const s of stores.slice(4)) if (rng.next() < 0.3) s.apply(entryFromWire(e.wire));
        }
        for (let round = 0; round < 200; round++) {
          const i = rng.int(stores.length);
          const j = (i + 1 + rng.int(stores.length - 1)) % stores.length;
          exchange(stores[i]!, stores[j]!, rng, budget);
        }
        const expected = Object.fromEntries([...winners(writes).values()].filter((e) => !e.deleted).map((e) => [e.key, e.value]));
        for (const s of stores) expect(visible(s)).toEqual(expected);
      }),
      { numRuns: longMode() ? 3_000 : 150 },
    );
  });

  test('only what the other side lacks is sent', () => {
    const rng = createRng(1);
    const a = new MemoryStore();
    const b = new MemoryStore();
    for (let v = 1; v <= 10; v++) {
      const e = makeEntry(`k${v}`, v, { wall: v, count: 0 }, node(1), 0, v);
      a.write(e);
      if (v <= 7) b.apply(e);
    }
    const delta = a.deltaFor(b.digest(rng).positions, false, rng);
    expect(delta.entries.map((w) => w.k)).toEqual(['k8', 'k9', 'k10']);
    expect(delta.upTo).toEqual([[node(1), 10]]);
    expect(b.lacking(a.digest(rng).positions)).toEqual([[node(1), 7]]);
    for (const w of delta.entries) b.apply(entryFromWire(w));
    expect(a.deltaFor(b.digest(rng).positions, false, rng).entries).toEqual([]);
  });

  test('a rumour ahead of a gap does not move the mark past the gap', () => {
    const store = new MemoryStore();
    store.apply(makeEntry('a', 1, { wall: 1, count: 0 }, node(1), 0, 1));
    store.apply(makeEntry('c', 3, { wall: 3, count: 0 }, node(1), 0, 3));
    expect(store.mark(node(1))).toBe(1);
    store.apply(makeEntry('b', 2, { wall: 2, count: 0 }, node(1), 0, 2));
    expect(store.mark(node(1))).toBe(3);
  });
});

describe('limits and expiry', () => {
  test('tombstones older than the horizon are forgotten; live entries stay', () => {
    const store = new MemoryStore();
    store.apply(makeEntry('old', undefined, { wall: 100, count: 0 }, node(1), 0, 1));
    store.apply(makeEntry('new', undefined, { wall: 900, count: 0 }, node(1), 0, 2));
    store.apply(makeEntry('live', 'x', { wall: 50, count: 0 }, node(2), 0, 1));
    expect(store.purgeTombstones(500)).toEqual(['old']);
    expect(store.tombstoneCount).toBe(1);
    expect(store.get('live')?.value).toBe('x');
    expect(store.dropOlderThan(500)).toEqual(['live']);
    expect(store.liveKeys).toBe(0);
  });

  test(`new keys beyond ${maxKeys} are refused; existing keys can still change`, () => {
    const store = new MemoryStore();
    for (let i = 0; i < maxKeys; i++) expect(store.apply(makeEntry(`k${i}`, i, { wall: 1, count: 0 }, node(1), 0, i + 1))).toBe('new');
    expect(store.apply(makeEntry('one-more', 1, { wall: 2, count: 0 }, node(2), 0, 1))).toBe('full');
    expect(store.apply(makeEntry('k5', 'changed', { wall: 2, count: 0 }, node(2), 0, 2))).toBe('new');
    expect(store.apply(makeEntry('k6', undefined, { wall: 2, count: 0 }, node(2), 0, 3))).toBe('new');
    expect(store.liveKeys).toBe(maxKeys - 1);
  });
});
