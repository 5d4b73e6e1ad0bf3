// The flood controls, on a clock the test moves by hand.
import { describe, expect, it } from 'vitest';
import { KeyedBuckets, StrikeCounter, TokenBucket } from '../../signaling/rate-limit.ts';

describe('TokenBucket', () => {
  it('admits the burst at once, then the sustained rate', () => {
    const bucket = new TokenBucket({ ratePerS: 50, burst: 100 }, 0);
    let admitted = 0;
    for (let i = 0; i < 150; i++) if (bucket.tryTake(0)) admitted++;
    expect(admitted).toBe(100);
    // One second later: 50 more, not 100.
    admitted = 0;
    for (let i = 0; i < 150; i++) if (bucket.tryTake(1_000)) admitted++;
    expect(admitted).toBe(50);
    expect(bucket.tryTake(1_019)).toBe(false);
    expect(bucket.tryTake(1_020)).toBe(true);
  });

  it('never holds more than the burst, however long it idles', () => {
    const bucket = new TokenBucket({ ratePerS: 50, burst: 100 }, 0);
    expect(bucket.available(3_600_000)).toBe(100);
  });

  it('does not drain or overflow when the clock steps backwards', () => {
    const bucket = new TokenBucket({ ratePerS: 10, burst: 2 }, 1_000);
    expect(bucket.tryTake(1_000)).toBe(true);
    expect(bucket.tryTake(500)).toBe(true);
    expect(bucket.tryTake(500)).toBe(false);
    expect(bucket.tryTake(1_100)).toBe(true);
  });

  it('refuses a nonsensical configuration loudly', () => {
    expect(() => new TokenBucket({ ratePerS: 0, burst: 10 }, 0)).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerS: 5, burst: 0 }, 0)).toThrow(RangeError);
  });
});

describe('StrikeCounter', () => {
  it('trips on a burst of refusals beyond the limit', () => {
    const strikes = new StrikeCounter({ limit: 200, leakPerS: 10 }, 0);
    for (let i = 0; i < 200; i++) expect(strikes.strike(0)).toBe(false);
    expect(strikes.strike(0)).toBe(true);
  });

  it('forgives occasional mistakes spread over time', () => {
    const strikes = new StrikeCounter({ limit: 200, leakPerS: 10 }, 0);
    // 5 refusals a second for an hour never adds up.
    for (let t = 0; t < 3_600_000; t += 200) expect(strikes.strike(t)).toBe(false);
    expect(strikes.outstanding()).toBeLessThan(2);
  });
});

describe('TokenBucket in bytes', () => {
  it('takes a frame’s bytes at once, and charges an oversized frame as the whole burst', () => {
    const bucket = new TokenBucket({ ratePerS: 1_000, burst: 4_000 }, 0);
    expect(bucket.tryTake(0, 3_000)).toBe(true);
    expect(bucket.tryTake(0, 1_500)).toBe(false);
    expect(bucket.tryTake(1_000, 1_500)).toBe(true);
    const fresh = new TokenBucket({ ratePerS: 1_000, burst: 4_000 }, 0);
    expect(fresh.tryTake(0, 10_000)).toBe(true);
    expect(fresh.tryTake(0, 1)).toBe(false);
  });
});

describe('KeyedBuckets', () => {
  it('limits each key on its own and stays within its size', () => {
    const buckets = new KeyedBuckets({ ratePerS: 1, burst: 2 }, 3);
    expect([buckets.tryTake('a', 0), buckets.tryTake('a', 0), buckets.tryTake('a', 0)]).toEqual([true, true, false]);
    expect(buckets.tryTake('b', 0)).toBe(true);
    for (let i = 0; i < 100; i++) buckets.tryTake(`k${i}`, 0);
    expect(buckets.size()).toBeLessThanOrEqual(3);
  });
});
