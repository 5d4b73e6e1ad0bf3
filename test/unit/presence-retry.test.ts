// The backoff for listed peers that gossip declared dead (src/worker/presence-retry.ts); the
// whole-node case is the two-node guard test in test/fuzz/frame-path.test.ts.
import { describe, expect, test } from 'vitest';
import { PresenceRetry, presenceRetryMaxMs, presenceRetryMs } from '../../src/worker/presence-retry.ts';

describe('PresenceRetry', () => {
  test('tries a listed dead peer after presenceRetryMs, then twice as long each time, up to the most', () => {
    const retry = new PresenceRetry();
    const first = retry.declaredDead('p');
    expect(first?.waitMs).toBe(presenceRetryMs);
    expect(retry.declaredDead('p')).toBeNull(); // one run of tries per peer
    const waits: number[] = [];
    let attempt = first;
    for (let i = 0; i < 8 && attempt; i++) {
      attempt = retry.due('p', attempt.run, true);
      if (attempt) waits.push(attempt.waitMs);
    }
    expect(waits.slice(0, 3)).toEqual([2 * presenceRetryMs, 4 * presenceRetryMs, 8 * presenceRetryMs]);
    expect(Math.max(...waits)).toBe(presenceRetryMaxMs);
  });

  test('no more tries once gossip sees the peer alive, or the server no longer lists it', () => {
    const retry = new PresenceRetry();
    const first = retry.declaredDead('p')!;
    retry.forget('p');
    expect(retry.due('p', first.run, true)).toBeNull();
    // Declared dead again: a new run; a try left over from the old run stays void.
    const again = retry.declaredDead('p')!;
    expect(again.waitMs).toBe(presenceRetryMs);
    expect(retry.due('p', first.run, true)).toBeNull();
    expect(retry.due('p', again.run, false)).toBeNull();
    expect(retry.due('p', again.run, true)).toBeNull();
  });
});
