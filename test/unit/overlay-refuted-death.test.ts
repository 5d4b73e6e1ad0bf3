// Gossip's failure detector can declare a node dead wrongly and refute it later. The overlay
// marks a peer departed on `dead` and leaves it out of its picture; it used to clear the mark
// only when the peer re-advertised, re-linked or was introduced again, so an unlinked node that
// was wrongly dead stayed hidden for up to advertRefreshMs. The service now passes gossip's
// later `alive` for a departed peer to the core, which brings it back at once.
import { describe, expect, test } from 'vitest';
import type { Millis, NodeId } from '../../src/core/types.ts';
import { advertSigningText, type AdvertMsg } from '../../src/core/overlay/messages.ts';
import { fakeServiceContext } from './fake-service-context.ts';
import { OverlayService } from '../../src/worker/services/overlay.ts';
import type { ServiceEvent } from '../../src/worker/service.ts';

const start: Millis = 1_700_000_000_000;
const self = 'm-self' as NodeId;
const relay = 'p-relay' as NodeId;
const far = 'q-far' as NodeId;

function advert(origin: NodeId, seq: number, links: NodeId[]): AdvertMsg {
  const body = { origin, seq, links: links.map((peer) => ({ peer })) };
  return { type: 'advert', ...body, ageMs: 0, ttl: 4, sig: `sig:${advertSigningText(body)}` };
}

/** m-self — p-relay — q-far, with q-far known only from adverts (no link to it). */
async function lineOfThree() {
  const clock = { now: start };
  const service = new OverlayService();
  const ctx = fakeServiceContext(() => clock.now, 7, { self, verify: async (_signer, text, sig) => sig === `sig:${text}` });
  await service.start(ctx);
  service.linkUp(relay);
  service.tick(clock.now);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  service.receive(relay, advert(relay, 1, [self, far]));
  service.receive(relay, advert(far, 1, [relay]));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  const sees = (node: NodeId) => service.routeTopology().graph.has(node);
  const status = (peer: NodeId, s: 'alive' | 'suspect' | 'dead' | 'left'): void =>
    service.onEvent({ type: 'member-status', peer, status: s } satisfies ServiceEvent);
  return { sees, status };
}

describe('overlay service: a death gossip refutes', () => {
  test('a wrongly dead node comes back into the picture on gossip’s alive', async () => {
    const t = await lineOfThree();
    expect(t.sees(far)).toBe(true);
    t.status(far, 'dead');
    expect(t.sees(far)).toBe(false);
    t.status(far, 'alive');
    expect(t.sees(far)).toBe(true);
  });

  test('suspect and alive for a node not marked departed change nothing', async () => {
    const t = await lineOfThree();
    t.status(far, 'suspect');
    t.status(far, 'alive');
    expect(t.sees(far)).toBe(true);
    t.status(far, 'left');
    expect(t.sees(far)).toBe(false);
    // A later `suspect` is no refutation.
    t.status(far, 'suspect');
    expect(t.sees(far)).toBe(false);
  });
});
