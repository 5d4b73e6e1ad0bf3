// Abuse limits per peer (src/worker/peer-guard.ts): an honest busy peer passes, a flooder is
// throttled and then cut off, a garbage sender is cut off, a cut-off peer is kept out (also
// from links: links.ts asks) for a while and then may come back; memory stays bounded.
import { describe, expect, test } from 'vitest';
import type { NodeId } from '../../src/core/types.ts';
import { maxFrameBytes } from '../../src/core/envelope.ts';
import { defaultPeerGuardLimits, PeerGuard, peerBanMs, type GuardVerdict } from '../../src/worker/peer-guard.ts';
import { LinkManager } from '../../src/worker/links.ts';

const a = 'peer-a' as NodeId;
const b = 'peer-b' as NodeId;

function guardAt(clock: { now: number }, limits = defaultPeerGuardLimits) {
  return new PeerGuard(() => clock.now, limits);
}

function tally(verdicts: GuardVerdict[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of verdicts) out[v.kind] = (out[v.kind] ?? 0) + 1;
  return out;
}

describe('PeerGuard', () => {
  test('an honest busy peer (300 frames/s of 2 KiB for 20 s) is never throttled', () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    const verdicts: GuardVerdict[] = [];
    for (let ms = 0; ms < 20_000; ms += 10) {
      clock.now = ms;
      for (let i = 0; i < 3; i++) verdicts.push(guard.frame(a, 2_048));
    }
    expect(tally(verdicts)).toEqual({ admit: 6_000 });
    expect(guard.stats()).toMatchObject({ framesDropped: 0, cutOffs: 0, keptOut: [] });
  });

  test('a flooder is throttled first, then cut off and kept out; other peers are untouched', () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    const verdicts: GuardVerdict[] = [];
    for (let i = 0; i < 5_000; i++) verdicts.push(guard.frame(a, 100));
    const counts = tally(verdicts);
    expect(counts['admit']).toBe(defaultPeerGuardLimits.frames.burstMsgs);
    expect(counts['cut-off']).toBe(1);
    const firstDrop = verdicts.findIndex((v) => v.kind === 'drop');
    const cut = verdicts.findIndex((v) => v.kind === 'cut-off');
    expect(firstDrop).toBe(defaultPeerGuardLimits.frames.burstMsgs);
    expect(cut).toBeGreaterThan(firstDrop);
    expect(verdicts[firstDrop]).toMatchObject({ reason: expect.stringContaining('rate limit') });
    expect(verdicts[cut]).toMatchObject({ reason: expect.stringContaining('flooding') });
    expect(verdicts.slice(cut + 1).every((v) => v.kind === 'drop' && v.reason.includes('kept out'))).toBe(true);
    expect(guard.isKeptOut(a)).toBe(true);
    expect(guard.frame(b, 100)).toEqual({ kind: 'admit' });
    expect(guard.stats().keptOut).toEqual([{ peer: a, untilMs: peerBanMs, reason: expect.stringContaining('flooding') }]);
  });

  test('bytes are limited too: big frames at a low frame rate still count', () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    const verdicts: GuardVerdict[] = [];
    // 200 KiB frames, 100 per second: 20 MB/s, far over 4 MiB/s, though only 100 frames/s.
    for (let ms = 0; ms < 10_000; ms += 10) {
      clock.now = ms;
      verdicts.push(guard.frame(a, 200 * 1024));
    }
    expect(verdicts.some((v) => v.kind === 'drop' && v.reason.includes('bytes'))).toBe(true);
    expect(tally(verdicts)['cut-off']).toBe(1);
  });

  test('oversized frames and garbage: a few mistakes pass, a stream of garbage is cut off', () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    expect(guard.frame(a, maxFrameBytes + 1)).toMatchObject({ kind: 'drop', reason: expect.stringContaining('exceeds') });
    const verdicts: GuardVerdict[] = [];
    for (let i = 0; i < 30; i++) verdicts.push(guard.garbage(a, 'bad frame'));
    // The oversized frame used one of the 20 allowed mistakes; the 20th is one too many.
    const cut = defaultPeerGuardLimits.garbage.burstMsgs - 1;
    expect(verdicts.slice(0, cut).every((v) => v.kind === 'drop')).toBe(true);
    expect(verdicts[cut]).toMatchObject({ kind: 'cut-off', reason: expect.stringContaining('garbage') });
    expect(verdicts.slice(cut + 1).every((v) => v.kind === 'drop')).toBe(true);
    expect(guard.isKeptOut(a)).toBe(true);
    expect(guard.stats().garbageFrames).toBe(31);
  });

  test('occasional garbage spread over time is forgiven', () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    for (let s = 0; s < 120; s++) {
      clock.now = s * 2_000;
      expect(guard.garbage(a, 'bad frame').kind).toBe('drop');
    }
    expect(guard.isKeptOut(a)).toBe(false);
  });

  test('the ban ends after peerBanMs, and the peer starts afresh', () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    for (let i = 0; i < 100; i++) guard.garbage(a, 'bad frame');
    expect(guard.isKeptOut(a)).toBe(true);
    clock.now = peerBanMs - 1;
    expect(guard.isKeptOut(a)).toBe(true);
    clock.now = peerBanMs;
    expect(guard.isKeptOut(a)).toBe(false);
    expect(guard.frame(a, 100)).toEqual({ kind: 'admit' });
    expect(guard.stats().keptOut).toEqual([]);
  });

  test('memory is bounded: tracked peers and kept-out peers have caps', () => {
    const clock = { now: 0 };
    const limits = { ...defaultPeerGuardLimits, maxPeers: 8, maxKeptOut: 4 };
    const guard = guardAt(clock, limits);
    for (let i = 0; i < 100; i++) {
      clock.now = i;
      const peer = `p${i}` as NodeId;
      for (let j = 0; j < 25; j++) guard.garbage(peer, 'bad frame');
    }
    const kept = guard.stats().keptOut;
    expect(kept.length).toBe(4);
    // The bans that end soonest were lifted early; the latest four remain.
    expect(kept.map((k) => k.peer).sort()).toEqual(['p96', 'p97', 'p98', 'p99']);
  });
});

describe('LinkManager with a guard', () => {
  test('makes no link to a kept-out peer and refuses its signals, until the ban ends', async () => {
    const clock = { now: 0 };
    const guard = guardAt(clock);
    const opened: NodeId[] = [];
    const rejected: string[] = [];
    // 'aaa' < 'zzz': this node initiates, so want() opens a link at once unless kept out.
    const self = 'aaa' as NodeId;
    const peer = 'zzz' as NodeId;
    const links = new LinkManager({
      self,
      host: { open: (p) => opened.push(p), signal: () => {}, send: () => {}, close: () => {} },
      iceServers: () => [],
      now: () => clock.now,
      randomId: () => 'link-id-0001',
      sign: async () => 'sig',
      verify: async () => true,
      deliverSignal: () => true,
      onUp: () => {},
      onDown: () => {},
      onData: () => {},
      reject: (reason) => rejected.push(reason),
      keptOut: (p) => guard.isKeptOut(p),
      retryLostLinks: () => true,
    });
    for (let i = 0; i < 100; i++) guard.garbage(peer, 'bad frame');
    links.want(peer);
    links.tick();
    expect(opened).toEqual([]);
    clock.now = peerBanMs;
    links.tick();
    expect(opened).toEqual([peer]);
    expect(rejected).toEqual([]);
  });
});
