// A copy of an advert the core already holds reaches the overlay service unverified (wantsAdvert
// false: a flood brings one from about every neighbour, not worth a signature check each). When
// such a copy comes with a larger hop budget (it took a shorter way), it must still be passed on;
// it was once refused as `unsigned` (≈ 10,700 per 30 s in the 256-node VOPR bench), which
// inflated a security counter and left the wider flood to the next tick's reforward. The core
// takes it when its origin, seq and sig are the held advert's, and passes on the stored body;
// an older copy (a neighbour behind) is answered with ours, as a verified one would be.
import { describe, expect, test } from 'vitest';
import type { Millis, NodeId } from '../../src/core/types.ts';
import { advertSigningText, type AdvertMsg } from '../../src/core/overlay/messages.ts';
import type { OverlayCounters } from '../../src/core/overlay/types.ts';
import { fakeServiceContext } from './fake-service-context.ts';
import { OverlayService } from '../../src/worker/services/overlay.ts';

const start: Millis = 1_700_000_000_000;
const p1 = 'p-one' as NodeId;
const p2 = 'p-two' as NodeId;
const p3 = 'p-three' as NodeId;
const far = 'q-far' as NodeId;

/** A signature the fake verifier accepts only for exactly this body. */
const sigOf = (body: Pick<AdvertMsg, 'origin' | 'seq' | 'links'>): string => `sig:${advertSigningText(body)}`;

function advert(ttl: number, links: string[] = ['p-one'], sig?: string, seq = 7): AdvertMsg {
  const body = { origin: far, seq, links: links.map((peer) => ({ peer: peer as NodeId })) };
  return { type: 'advert', ...body, ageMs: 100, ttl, sig: sig ?? sigOf(body) };
}

async function serviceWithLinks() {
  const verified: string[] = [];
  const sent: Array<{ to: NodeId; msg: AdvertMsg }> = [];
  const service = new OverlayService();
  const ctx = fakeServiceContext(() => start, 3, {
    self: 'm-self' as NodeId,
    verify: async (_signer, text, sig) => (verified.push(text), sig === `sig:${text}`),
    send: (to, msg) => {
      if ((msg as { type?: unknown }).type === 'advert' && (msg as AdvertMsg).origin === far) sent.push({ to, msg: msg as AdvertMsg });
      return true;
    },
  });
  await service.start(ctx);
  for (const p of [p1, p2, p3]) service.linkUp(p);
  const counters = () => (service.snapshot().overlay as { counters: OverlayCounters }).counters;
  /** Delivers a frame and lets a signature check (if any) finish. */
  const receive = async (from: NodeId, msg: AdvertMsg) => {
    sent.length = 0;
    service.receive(from, msg);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return sent.map((s) => ({ to: s.to, ttl: s.msg.ttl, links: s.msg.links.map((l) => l.peer) })).sort((a, b) => a.to.localeCompare(b.to));
  };
  return { verified, counters, receive };
}

describe('overlay service: a wider copy of a held advert', () => {
  test('is passed on with its larger hop budget, unverified and not counted unsigned', async () => {
    const t = await serviceWithLinks();
    // The first copy, from far away (2 hops left): verified, stored, passed on with 1.
    expect(await t.receive(p1, advert(2))).toEqual([
      { to: p3, ttl: 1, links: [p1] },
      { to: p2, ttl: 1, links: [p1] },
    ]);
    expect(t.verified).toHaveLength(1);
    const duplicatesBefore = t.counters().ignored.duplicate;
    // The same advert by a shorter way (4 hops left): no new check, passed on with 3.
    expect(await t.receive(p2, advert(4))).toEqual([
      { to: p1, ttl: 3, links: [p1] },
      { to: p3, ttl: 3, links: [p1] },
    ]);
    expect(t.verified).toHaveLength(1);
    expect(t.counters().dropped.unsigned).toBe(0);
    expect(t.counters().ignored.duplicate).toBe(duplicatesBefore + 1);
    // A copy no wider than what we hold is a plain duplicate: nothing sent.
    expect(await t.receive(p3, advert(4))).toEqual([]);
    expect(t.counters().ignored.duplicate).toBe(duplicatesBefore + 2);
    expect(t.verified).toHaveLength(1);
  });

  test('carries on the body that was verified, not the one the copy brought', async () => {
    const t = await serviceWithLinks();
    await t.receive(p1, advert(2));
    // Links swapped under the held signature: the sig covers them, so the stored body is sent.
    const tampered = { ...advert(3, ['p-two', 'x-evil']), sig: advert(2).sig };
    expect(await t.receive(p2, tampered)).toEqual([
      { to: p1, ttl: 2, links: [p1] },
      { to: p3, ttl: 2, links: [p1] },
    ]);
    expect(t.counters().dropped.unsigned).toBe(0);
  });

  test('a copy with another sig for the same seq is still refused as unsigned', async () => {
    const t = await serviceWithLinks();
    await t.receive(p1, advert(2));
    expect(await t.receive(p2, advert(4, ['p-one'], 'sig:forged'))).toEqual([]);
    expect(t.counters().dropped.unsigned).toBe(1);
    expect(t.verified).toHaveLength(1);
    // The held advert's hop budget did not grow: a genuine wider copy is still passed on.
    expect((await t.receive(p3, advert(4))).map((s) => s.ttl)).toEqual([3, 3]);
  });

  test('an older copy needs no check either: the neighbour that sent it gets ours', async () => {
    const t = await serviceWithLinks();
    await t.receive(p1, advert(2));
    expect(await t.receive(p2, advert(4, ['p-two'], 'sig:whatever', 6))).toEqual([{ to: p2, ttl: 1, links: [p1] }]);
    expect(t.counters().ignored.stale).toBe(1);
    expect(t.counters().dropped.unsigned).toBe(0);
    expect(t.verified).toHaveLength(1);
  });
});
