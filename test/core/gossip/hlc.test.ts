import { expect, test } from 'vitest';
import fc from 'fast-check';
import { HybridClock, compareHlc, hlcToString, type Hlc } from '../../../src/core/hlc.ts';

test('local timestamps follow the wall clock and never go backwards', () => {
  const clock = new HybridClock();
  expect(clock.tick(1_000)).toEqual({ wall: 1_000, count: 0 });
  expect(clock.tick(1_000)).toEqual({ wall: 1_000, count: 1 });
  expect(clock.tick(900)).toEqual({ wall: 1_000, count: 2 }); // the wall clock stepped back
  expect(clock.tick(2_000)).toEqual({ wall: 2_000, count: 0 });
});

test('a timestamp from a peer slightly ahead pulls the clock past it', () => {
  const clock = new HybridClock();
  clock.tick(1_000);
  expect(clock.observe({ wall: 1_500, count: 4 }, 1_000, 60_000)).toBe(true);
  const next = clock.tick(1_001);
  expect(compareHlc(next, { wall: 1_500, count: 4 })).toBeGreaterThan(0);
  expect(hlcToString(next)).toBe('1500.6');
});

test('a timestamp too far in the future is refused and changes nothing', () => {
  const clock = new HybridClock();
  clock.tick(1_000);
  const before = clock.last;
  expect(clock.observe({ wall: 1_000 + 60_001, count: 0 }, 1_000, 60_000)).toBe(false);
  expect(clock.last).toEqual(before);
});

test('every local timestamp is later than everything seen before it', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('tick' as const), physical: fc.integer({ min: 0, max: 10_000 }) }),
    fc.record({
      kind: fc.constant('observe' as const),
      physical: fc.integer({ min: 0, max: 10_000 }),
      wall: fc.integer({ min: 0, max: 12_000 }),
      count: fc.integer({ min: 0, max: 5 }),
    }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const clock = new HybridClock();
      let latest: Hlc = { wall: -1, count: 0 };
      for (const o of ops) {
        if (o.kind === 'tick') {
          const t = clock.tick(o.physical);
          expect(compareHlc(t, latest)).toBeGreaterThan(0);
          expect(t.wall).toBeGreaterThanOrEqual(o.physical);
          latest = t;
        } else if (clock.observe({ wall: o.wall, count: o.count }, o.physical, 5_000)) {
          if (compareHlc({ wall: o.wall, count: o.count }, latest) > 0) latest = { wall: o.wall, count: o.count };
          expect(compareHlc(clock.last, latest)).toBeGreaterThanOrEqual(0);
          latest = clock.last;
        }
      }
    }),
  );
});
