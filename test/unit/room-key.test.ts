// The private-room key and the seal on signals: what a person relies on is that the same room
// and password give the same key on every node, anything else gives another, and a sealed
// signal opens only for its recipient under that key, unaltered.
import { describe, expect, it } from 'vitest';
import { deriveRoomKey, isVerifier, passwordProblem, pbkdf2Iterations, type RoomKey } from '../../src/net/room-key.ts';
import { SignalSealer, maxPendingSignals, openSignal, sealSignal, type SealedSignal } from '../../src/net/sealed-signal.ts';
import { fromBase64Url, toBase64Url } from '../../src/crypto/base64url.ts';
import type { NodeId } from '../../src/core/types.ts';

/** Fewer rounds for most cases (same construction); one case runs the real count. */
const testIterations = 1_000;
const alice = ('A'.repeat(42) + 'A') as NodeId;
const bob = ('B'.repeat(42) + 'A') as NodeId;
const carol = ('C'.repeat(42) + 'A') as NodeId;
const signal = {
  body: { v: 1, from: alice, to: bob, session: 'abcdefgh', kind: 'signal', signal: { type: 'offer', sdp: 'v=0\r\na=fingerprint:sha-256 AB:CD' } },
  sig: 'x',
};

const derive = (room: string, password: string): Promise<RoomKey> => deriveRoomKey(room, password, testIterations);

describe('deriveRoomKey', { timeout: 30_000 }, () => {
  it('gives the same verifier and a working key for the same room and password (real iteration count)', async () => {
    const [a, b] = await Promise.all([deriveRoomKey('team', 'correct horse battery'), deriveRoomKey('team', 'correct horse battery')]);
    expect(pbkdf2Iterations).toBeGreaterThanOrEqual(600_000);
    expect(a.verifier).toBe(b.verifier);
    expect(isVerifier(a.verifier)).toBe(true);
    const sealed = await sealSignal(a, alice, bob, signal);
    expect(await openSignal(b, alice, bob, sealed)).toEqual({ ok: true, signal });
  }, 60_000);

  it('gives different keys for another room or another password', async () => {
    const base = await derive('team', 'correct horse battery');
    const otherRoom = await derive('team2', 'correct horse battery');
    const otherPassword = await derive('team', 'correct horse battery!');
    expect(new Set([base.verifier, otherRoom.verifier, otherPassword.verifier]).size).toBe(3);
    const sealed = await sealSignal(base, alice, bob, signal);
    expect(await openSignal(otherPassword, alice, bob, sealed)).toMatchObject({ ok: false, reason: expect.stringContaining('does not open') });
    // The room is in the additional data too, so even a key that matched would not open it elsewhere.
    expect((await openSignal(otherRoom, alice, bob, sealed)).ok).toBe(false);
  });

  it('keeps the seal key out of reach (non-extractable)', async () => {
    const key = await derive('team', 'correct horse battery');
    expect(key.sealKey.extractable).toBe(false);
    await expect(globalThis.crypto.subtle.exportKey('raw', key.sealKey)).rejects.toThrow();
  });

  it('refuses passwords that are too short or too long, with the limit', async () => {
    expect(passwordProblem('short')).toMatch(/at least 8 characters/);
    expect(passwordProblem('x'.repeat(2000))).toMatch(/at most 1024 characters/);
    expect(passwordProblem('long enough')).toBeNull();
    await expect(derive('team', 'short')).rejects.toThrow(/at least 8/);
  });
});

describe('sealed signals', { timeout: 30_000 }, () => {
  it('round-trips, and the ciphertext does not contain the SDP', async () => {
    const key = await derive('team', 'correct horse battery');
    const sealed = await sealSignal(key, alice, bob, signal);
    expect(JSON.stringify(sealed)).not.toContain('fingerprint');
    expect(JSON.stringify(sealed)).not.toContain('offer');
    expect(await openSignal(key, alice, bob, sealed)).toEqual({ ok: true, signal });
  });

  it('uses a fresh nonce for every seal', async () => {
    const key = await derive('team', 'correct horse battery');
    const nonces = new Set<string>();
    for (let i = 0; i < 20; i++) nonces.add((await sealSignal(key, alice, bob, signal)).n);
    expect(nonces.size).toBe(20);
  });

  it('refuses a tampered ciphertext, a tampered nonce, another sender or another recipient', async () => {
    const key = await derive('team', 'correct horse battery');
    const sealed = await sealSignal(key, alice, bob, signal);
    const flip = (text: string): string => {
      const bytes = fromBase64Url(text) as Uint8Array;
      bytes[0] = (bytes[0] as number) ^ 1;
      return toBase64Url(bytes);
    };
    const cases: SealedSignal[] = [
      { ...sealed, c: flip(sealed.c) },
      { ...sealed, n: flip(sealed.n) },
    ];
    for (const bad of cases) expect((await openSignal(key, alice, bob, bad)).ok).toBe(false);
    expect((await openSignal(key, carol, bob, sealed)).ok).toBe(false); // relayed as if from carol
    expect((await openSignal(key, alice, carol, sealed)).ok).toBe(false); // replayed to carol
  });

  it('refuses unsealed and malformed input with a reason, never throwing', async () => {
    const key = await derive('team', 'correct horse battery');
    const inputs: unknown[] = [
      signal,
      null,
      42,
      'text',
      { sealed: 2, n: 'x', c: 'y' },
      { sealed: 1, n: 'AAAAAAAAAAAAAAAA', c: '!!' },
      { sealed: 1, n: 'AAAAAAAAAAAAAAAA', c: 'A'.repeat(40_000) },
      { sealed: 1, n: 'AAAAAAAAAAAAAAAA', c: 'AAAA', extra: 1 },
    ];
    for (const raw of inputs) {
      const opened = await openSignal(key, alice, bob, raw);
      expect(opened.ok, JSON.stringify(raw).slice(0, 80)).toBe(false);
      if (!opened.ok) expect(opened.reason.length).toBeGreaterThan(10);
    }
    expect(await openSignal(key, alice, bob, signal)).toMatchObject({ reason: expect.stringContaining('unsealed') });
  });

  it('SignalSealer keeps the order of signals each way and counts what does not open', async () => {
    const key = await derive('team', 'correct horse battery');
    const other = await derive('team', 'wrong horse battery');
    const refusals: string[] = [];
    const sender = new SignalSealer(key, alice, (r) => refusals.push(r));
    const receiver = new SignalSealer(key, bob, (r) => refusals.push(r));
    const received: unknown[] = [];
    const sent: SealedSignal[] = [];
    for (let i = 0; i < 30; i++) sender.outgoing(bob, { i }, (sealed) => sent.push(sealed));
    await waitUntil(() => sent.length === 30);
    for (const sealed of sent) receiver.incoming(alice, sealed, (s) => received.push(s));
    receiver.incoming(alice, await sealSignal(other, alice, bob, { i: 'outsider' }), (s) => received.push(s));
    await waitUntil(() => received.length === 30 && refusals.length === 1);
    expect(received).toEqual(Array.from({ length: 30 }, (_, i) => ({ i })));
    expect(refusals[0]).toMatch(/does not open/);
  });

  it('SignalSealer caps what waits to be sealed', () => {
    return derive('team', 'correct horse battery').then((key) => {
      const refusals: string[] = [];
      const sealer = new SignalSealer(key, alice, (r) => refusals.push(r));
      let accepted = 0;
      for (let i = 0; i < maxPendingSignals + 10; i++) if (sealer.outgoing(bob, { i }, () => {})) accepted++;
      expect(accepted).toBe(maxPendingSignals);
      expect(refusals).toHaveLength(10);
    });
  });
});

/** Waits for a condition on promises already under way (bounded: fails rather than hangs). */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
