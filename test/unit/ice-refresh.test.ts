// A node that outlives its short-lived TURN credentials asks for new ones in time; static
// credentials are never asked for again; a failed fetch keeps the old ones and retries.
import { describe, expect, it } from 'vitest';
import { IceRefresher, earliestIceExpiryS, iceRefreshDelayMs, minIceRefreshMs } from '../../src/net/ice-refresh.ts';
import { issueTurnCredential } from '../../signaling/turn-credentials.ts';
import type { IceServer } from '../../src/net/transport.ts';

const t0 = Date.UTC(2026, 0, 1);
const turn = (nowMs: number, ttlS: number): IceServer => ({ urls: 'turn:t.example.org', ...issueTurnCredential('a-shared-static-auth-secret', ttlS, nowMs) });

/** A virtual clock with timers, advanced by hand. */
function virtualTimers() {
  let now = t0;
  const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  return {
    nowMs: () => now,
    schedule(fn: () => void, ms: number) {
      const timer = { at: now + ms, fn, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        due.cancelled = true;
        now = due.at;
        due.fn();
        for (let i = 0; i < 5; i++) await Promise.resolve();
      }
      now = until;
    },
    pending: () => timers.filter((t) => !t.cancelled).length,
  };
}

describe('ICE credential expiry', () => {
  it('reads the expiry from TURN REST user names only', () => {
    expect(earliestIceExpiryS([{ urls: 'stun:s' }, { urls: 'turn:t', username: 'static-user', credential: 'p' }])).toBeNull();
    expect(earliestIceExpiryS([turn(t0, 600), turn(t0, 300)])).toBe(t0 / 1000 + 300);
  });

  it('asks again halfway to the expiry, never sooner than the minimum', () => {
    expect(iceRefreshDelayMs([turn(t0, 3_600)], t0)).toBe(1_800_000);
    expect(iceRefreshDelayMs([turn(t0, 60)], t0)).toBe(minIceRefreshMs);
    expect(iceRefreshDelayMs([{ urls: 'stun:s' }], t0)).toBeNull();
  });
});

describe('IceRefresher', () => {
  it('replaces credentials before they expire, for as long as the node lives', async () => {
    const clock = virtualTimers();
    let fetches = 0;
    const refresher = new IceRefresher([turn(t0, 3_600)], {
      fetchFresh: async () => {
        fetches++;
        return [turn(clock.nowMs(), 3_600)];
      },
      nowMs: clock.nowMs,
      schedule: clock.schedule,
    });
    for (let hour = 1; hour <= 10; hour++) {
      await clock.advance(3_600_000);
      // At every moment the credential in hand is still valid.
      expect((earliestIceExpiryS(refresher.current) as number) * 1000).toBeGreaterThan(clock.nowMs());
    }
    expect(fetches).toBeGreaterThanOrEqual(10);
    refresher.stop();
    expect(clock.pending()).toBe(0);
  });

  it('never polls for static credentials', async () => {
    const clock = virtualTimers();
    const refresher = new IceRefresher([{ urls: 'turn:t', username: 'u', credential: 'p' }], {
      fetchFresh: async () => {
        throw new Error('must not be called');
      },
      nowMs: clock.nowMs,
      schedule: clock.schedule,
    });
    expect(clock.pending()).toBe(0);
    expect(refresher.current).toEqual([{ urls: 'turn:t', username: 'u', credential: 'p' }]);
  });

  it('keeps the old servers when a fetch fails, and retries', async () => {
    const clock = virtualTimers();
    let answer: IceServer[] | null = null;
    const first = turn(t0, 600);
    const refresher = new IceRefresher([first], { fetchFresh: async () => answer, nowMs: clock.nowMs, schedule: clock.schedule });
    await clock.advance(300_000);
    expect(refresher.failures).toBe(1);
    expect(refresher.current).toEqual([first]);
    answer = [turn(clock.nowMs(), 600)];
    await clock.advance(minIceRefreshMs);
    expect(refresher.refreshes).toBe(1);
    expect(refresher.current).toEqual(answer);
    refresher.stop();
  });
});
