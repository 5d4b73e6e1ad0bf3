// A frame shaped like an advert (type, origin, seq, sig) but without a valid `links` list once
// reached advertSigningText before any decode and threw "Cannot read properties of undefined
// (reading 'map')", counted as an overlay internal error (VOPR seeds 47/48 on an older commit).
// The service now decodes a new-looking advert before building its signing text: such a frame
// is counted as malformed, never verified, never applied; a well-formed advert still is.
import { describe, expect, test } from 'vitest';
import type { Millis, NodeId } from '../../src/core/types.ts';
import { fakeServiceContext } from './fake-service-context.ts';
import { OverlayService } from '../../src/worker/services/overlay.ts';

const start: Millis = 1_700_000_000_000;

async function serviceWithLink(peer: NodeId) {
  const verified: string[] = [];
  const rejected: string[] = [];
  const service = new OverlayService();
  const ctx = fakeServiceContext(() => start, 5, {
    self: 'm-self' as NodeId,
    verify: async (_signer, text) => (verified.push(text), true),
    reject: (reason) => void rejected.push(reason),
  });
  await service.start(ctx);
  service.linkUp(peer);
  const counters = () => (service.snapshot().overlay as { counters: { dropped: { malformed: number } } }).counters;
  return { service, verified, rejected, counters };
}

describe('overlay service: adverts that pass the shape check but not decode', () => {
  const peer = 'p-peer' as NodeId;
  const broken: Array<[string, Record<string, unknown>]> = [
    ['no links', { type: 'advert', origin: 'q-far', seq: 7, ageMs: 0, ttl: 4, sig: 'x' }],
    ['links not a list', { type: 'advert', origin: 'q-far', seq: 7, ageMs: 0, ttl: 4, links: { map: 1 }, sig: 'x' }],
    ['a link without a peer', { type: 'advert', origin: 'q-far', seq: 7, ageMs: 0, ttl: 4, links: [{ rttMs: 3 }], sig: 'x' }],
  ];
  for (const [what, frame] of broken) {
    test(`${what}: counted as malformed, not verified, no internal error`, async () => {
      const t = await serviceWithLink(peer);
      expect(() => t.service.receive(peer, frame)).not.toThrow();
      await Promise.resolve();
      expect(t.counters().dropped.malformed).toBe(1);
      expect(t.verified).toEqual([]);
      expect(t.rejected).toEqual([]);
    });
  }

  test('a well-formed advert is still verified', async () => {
    const t = await serviceWithLink(peer);
    t.service.receive(peer, { type: 'advert', origin: 'q-far', seq: 7, ageMs: 0, ttl: 4, links: [{ peer: 'p-peer' }], sig: 'x' });
    await Promise.resolve();
    expect(t.verified).toEqual(['tabmesh-advert/1\nq-far\n7\np-peer']);
    expect(t.counters().dropped.malformed).toBe(0);
  });
});
