// The dashboard's refresh gate (src/ui/refresh-gate.ts) on a fake clock: the first value at once,
// then at most one per interval and always the newest, every value while following a command,
// nothing while hidden and the newest at once when shown again.
import { describe, expect, test } from 'vitest';
import { RefreshGate } from '../../../src/ui/refresh-gate.ts';

function rig(intervalMs = 1_000, followMs = 3_000) {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const shown: number[] = [];
  const gate = new RefreshGate<number>({
    intervalMs,
    followMs,
    now: () => now,
    schedule: (fn, ms) => {
      const timer = { at: now + ms, fn, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
    show: (v) => shown.push(v),
  });
  /** Moves the clock to `to`, firing due timers in order. */
  const advance = (to: number) => {
    for (;;) {
      const next = timers.filter((t) => t.live && t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      now = next.at;
      next.live = false;
      next.fn();
    }
    now = to;
  };
  return { gate, shown, advance, pendingTimers: () => timers.filter((t) => t.live).length };
}

describe('refresh gate', () => {
  test('shows the first value at once, then the newest at most once per interval', () => {
    const { gate, shown, advance } = rig();
    gate.offer(1);
    expect(shown).toEqual([1]);
    advance(100);
    gate.offer(2);
    advance(400);
    gate.offer(3);
    advance(900);
    gate.offer(4);
    expect(shown).toEqual([1]);
    advance(1_000);
    expect(shown).toEqual([1, 4]);
    // Nothing new: the timer does not show anything again.
    advance(5_000);
    expect(shown).toEqual([1, 4]);
    // Long after the last one: at once.
    gate.offer(5);
    expect(shown).toEqual([1, 4, 5]);
    expect(gate.counts).toEqual({ offered: 5, shown: 3 });
  });

  test('follows every value for a while after a command, then slows down again', () => {
    const { gate, shown, advance } = rig();
    gate.offer(1);
    advance(200);
    gate.offer(2);
    expect(shown).toEqual([1]);
    gate.follow();
    expect(shown).toEqual([1, 2]);
    advance(300);
    gate.offer(3);
    advance(350);
    gate.offer(4);
    expect(shown).toEqual([1, 2, 3, 4]);
    advance(3_300);
    gate.offer(5);
    advance(3_400);
    gate.offer(6);
    expect(shown).toEqual([1, 2, 3, 4, 5]);
    advance(4_300);
    expect(shown).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('a hidden page shows nothing, and the newest value as soon as it is shown again', () => {
    const { gate, shown, advance, pendingTimers } = rig();
    gate.offer(1);
    advance(500);
    gate.offer(2);
    expect(pendingTimers()).toBe(1);
    gate.setVisible(false);
    expect(pendingTimers()).toBe(0);
    for (let i = 3; i <= 20; i++) {
      advance(i * 1_000);
      gate.offer(i);
    }
    gate.follow();
    expect(shown).toEqual([1]);
    gate.setVisible(true);
    expect(shown).toEqual([1, 20]);
    gate.setVisible(true);
    expect(shown).toEqual([1, 20]);
  });

  test('hidden before the first value: nothing until shown', () => {
    const { gate, shown } = rig();
    gate.setVisible(false);
    gate.offer(7);
    expect(shown).toEqual([]);
    gate.setVisible(true);
    expect(shown).toEqual([7]);
  });
});

describe('refresh gate with a news key', () => {
  function keyed() {
    let now = 0;
    const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
    const shown: string[] = [];
    const gate = new RefreshGate<{ news: string; counter: number }>({
      intervalMs: 1_000,
      quietIntervalMs: 4_000,
      followMs: 3_000,
      key: (v) => v.news,
      now: () => now,
      schedule: (fn, ms) => {
        const timer = { at: now + ms, fn, live: true };
        timers.push(timer);
        return () => {
          timer.live = false;
        };
      },
      show: (v) => shown.push(`${v.news}:${v.counter}`),
    });
    const advance = (to: number) => {
      for (;;) {
        const next = timers.filter((t) => t.live && t.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        now = next.at;
        next.live = false;
        next.fn();
      }
      now = to;
    };
    return { gate, shown, advance };
  }

  test('counters alone render at the quiet pace; news comes within the normal interval, even with a quiet timer pending', () => {
    const { gate, shown, advance } = keyed();
    gate.offer({ news: 'a', counter: 0 });
    advance(2_000);
    gate.offer({ news: 'a', counter: 1 });
    advance(3_999);
    expect(shown).toEqual(['a:0']);
    advance(4_000);
    expect(shown).toEqual(['a:0', 'a:1']);
    // A quiet value waits for 4 s after the last render…
    advance(4_200);
    gate.offer({ news: 'a', counter: 2 });
    advance(4_500);
    // …but news arriving meanwhile brings the render forward to 1 s after the last one.
    gate.offer({ news: 'b', counter: 3 });
    advance(4_999);
    expect(shown).toEqual(['a:0', 'a:1']);
    advance(5_000);
    expect(shown).toEqual(['a:0', 'a:1', 'b:3']);
    advance(20_000);
    expect(shown).toEqual(['a:0', 'a:1', 'b:3']);
  });
});
