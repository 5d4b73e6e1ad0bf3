// Link keepalive (src/worker/keepalive.ts) on a virtual clock: two ends of one link, each doing
// what the runtime does (a ping when the plan says so, a pong for every ping, other traffic as
// the test says), with a seeded one-way delay. What must hold: each end hears from the other at
// least as often as the fixed 1 s ping gave (so the 4 s silence limit keeps its margin), each end
// measures the round trip at least every rttProbeIntervalMs, and fewer frames go over the link.
import { describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../src/core/rng.ts';
import { keepaliveCoalesceMs, keepaliveDeferMs, keepaliveIdleMs, planKeepalive, rttProbeIntervalMs } from '../../src/worker/keepalive.ts';
import { linkSilenceLimitMs } from '../../src/worker/links.ts';

/** What one end keeps about the link (the runtime keeps it in links.ts and its ping table). */
interface End {
  name: 'a' | 'b';
  lastSentMs: number;
  lastPingMs: number;
  lastPingHeardMs: number;
  lastHeardMs: number;
  /** Longest gap between two frames this end heard. */
  longestSilenceMs: number;
  rttAtMs: number[];
  nextLookMs: number;
}

type Frame = { kind: 'ping' | 'pong' | 'other'; at: number; to: End; sentAt: number };

/** Runs one link for `durationMs`; `otherEveryMs` adds protocol traffic both ways (null: an idle link). */
function runLink(rng: Rng, durationMs: number, otherEveryMs: number | null) {
  const end = (name: 'a' | 'b'): End => ({
    name,
    lastSentMs: 0,
    lastPingMs: -Infinity,
    lastPingHeardMs: -Infinity,
    lastHeardMs: 0,
    longestSilenceMs: 0,
    rttAtMs: [],
    nextLookMs: 0,
  });
  const a = end('a');
  const b = end('b');
  const peerOf = (e: End) => (e === a ? b : a);
  let inFlight: Frame[] = [];
  const frames = { ping: 0, pong: 0, other: 0 };
  // One-way delay: mostly a few ms, now and then a loaded machine's 300 ms.
  const delay = () => (rng.next() < 0.05 ? 300 : 1 + rng.next() * 5);
  const send = (from: End, kind: Frame['kind'], now: number) => {
    frames[kind]++;
    from.lastSentMs = now;
    if (kind === 'ping') from.lastPingMs = now;
    // Data channels are ordered: a frame never overtakes the one before it.
    const last = inFlight.filter((f) => f.to === peerOf(from)).reduce((t, f) => Math.max(t, f.at), 0);
    inFlight.push({ kind, at: Math.max(now + delay(), last), to: peerOf(from), sentAt: now });
  };
  const nextOther = { a: otherEveryMs === null ? Infinity : rng.next() * otherEveryMs, b: otherEveryMs === null ? Infinity : rng.next() * otherEveryMs };
  for (let now = 0; now <= durationMs; now += 10) {
    for (const frame of inFlight.filter((f) => f.at <= now)) {
      const to = frame.to;
      to.longestSilenceMs = Math.max(to.longestSilenceMs, now - to.lastHeardMs);
      to.lastHeardMs = now;
      if (frame.kind === 'ping') {
        to.lastPingHeardMs = now;
        send(to, 'pong', now);
      }
      if (frame.kind === 'pong') to.rttAtMs.push(now);
    }
    inFlight = inFlight.filter((f) => f.at > now);
    for (const e of [a, b]) {
      if (now >= nextOther[e.name]) {
        send(e, 'other', now);
        nextOther[e.name] = now + (otherEveryMs ?? Infinity) * (0.5 + rng.next());
      }
      if (now < e.nextLookMs) continue;
      const plan = planKeepalive([{ peer: e.name, lastSentMs: e.lastSentMs, lastPingMs: e.lastPingMs, lastPingHeardMs: e.lastPingHeardMs }], now);
      for (const _ of plan.ping) send(e, 'ping', now);
      e.nextLookMs = plan.nextAtMs;
    }
  }
  const longestRttGap = (e: End) => e.rttAtMs.reduce((gap, t, i) => Math.max(gap, t - (i === 0 ? 0 : (e.rttAtMs[i - 1] as number))), 0);
  return { a, b, frames, longestRttGap };
}

describe('link keepalive', () => {
  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
  const durationMs = 120_000;
  /** The fixed schedule before: both ends pinged every second and answered every ping. */
  const fixedFramesPerS = 4;

  it('an idle link: each end hears the other as often as before, and both measure round trips', () => {
    for (const seed of seeds) {
      const { a, b, frames, longestRttGap } = runLink(createRng(seed), durationMs, null);
      const detail = `SEED=${seed} ${JSON.stringify(frames)}`;
      for (const e of [a, b]) {
        // The fixed ping left ~1 s between frames plus the delay; now at most keepaliveDeferMs more.
        expect(e.longestSilenceMs, detail).toBeLessThanOrEqual(keepaliveIdleMs + keepaliveDeferMs + 300 + 20);
        expect(e.longestSilenceMs, detail).toBeLessThan(linkSilenceLimitMs / 2);
        expect(longestRttGap(e), detail).toBeLessThanOrEqual(rttProbeIntervalMs + 2 * 300 + 20);
      }
      const perS = (frames.ping + frames.pong) / (durationMs / 1000);
      expect(perS, detail).toBeLessThanOrEqual(fixedFramesPerS * 0.7);
    }
  });

  it('a busy link carries only the round-trip probes', () => {
    for (const seed of seeds) {
      // Gossip, adverts and consensus: a frame about every 400 ms each way.
      const { a, b, frames, longestRttGap } = runLink(createRng(seed), durationMs, 400);
      const detail = `SEED=${seed} ${JSON.stringify(frames)}`;
      for (const e of [a, b]) {
        expect(e.longestSilenceMs, detail).toBeLessThanOrEqual(keepaliveIdleMs + keepaliveDeferMs + 300 + 20);
        expect(longestRttGap(e), detail).toBeLessThanOrEqual(rttProbeIntervalMs + 2 * 300 + 20);
      }
      // Two probes (and their pongs) per rttProbeIntervalMs, and the odd keepalive after a lull.
      const perS = (frames.ping + frames.pong) / (durationMs / 1000);
      expect(perS, detail).toBeLessThanOrEqual((4 * 1000) / (rttProbeIntervalMs - keepaliveCoalesceMs) + 0.3);
    }
  });

  it('plans nothing without links, and never a look in the past', () => {
    expect(planKeepalive([], 5_000)).toEqual({ ping: [], nextAtMs: Infinity });
    const plan = planKeepalive(
      [
        { peer: 'quiet', lastSentMs: 0, lastPingMs: 0, lastPingHeardMs: -Infinity },
        { peer: 'busy', lastSentMs: 4_990, lastPingMs: 4_000, lastPingHeardMs: -Infinity },
        { peer: 'soon', lastSentMs: 4_000 + keepaliveCoalesceMs / 2, lastPingMs: 4_500, lastPingHeardMs: -Infinity },
        // The far end pings us: our pong at 4,100 keeps us heard until 4,100 + 1,000 + defer.
        { peer: 'pinged', lastSentMs: 4_100, lastPingMs: 2_000, lastPingHeardMs: 4_100 },
      ],
      5_000,
    );
    expect(plan.ping).toEqual(['quiet', 'soon']);
    expect(plan.nextAtMs).toBe(4_100 + keepaliveIdleMs + keepaliveDeferMs);
  });
});
