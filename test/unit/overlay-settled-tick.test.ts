// The overlay service ticks its core every second, not every 250 ms, while nothing is in motion
// (degree within bounds, no dial in flight, no advert due) — but any input that may need a
// decision (a link lost or made, a message, a peer introduced) brings the next tick back to
// 250 ms after the last, so the mesh heals as quickly as before.
import { describe, expect, test } from 'vitest';
import { overlayTickIntervalMs } from '../../src/core/overlay/config.ts';
import type { Millis, NodeId } from '../../src/core/types.ts';
import { fakeServiceContext } from './fake-service-context.ts';
import { OverlayService, settledTickIntervalMs } from '../../src/worker/services/overlay.ts';

const start: Millis = 1_700_000_000_000;
const peers = ['b-peer', 'c-peer', 'd-peer'] as NodeId[];

async function linkedNode() {
  const clock = { now: start };
  const overlay = new OverlayService();
  const ticks: Millis[] = [];
  const ctx = fakeServiceContext(() => clock.now, 5, { self: 'm-self' as NodeId, send: () => true, linkedPeers: () => peers });
  await overlay.start(ctx);
  /** What the runtime does, on a virtual clock in 10 ms steps: tick when the wake-up time comes. */
  const run = async (ms: number) => {
    const end = clock.now + ms;
    while (clock.now < end) {
      clock.now += 10;
      if (overlay.nextWakeAt() <= clock.now) {
        ticks.push(clock.now);
        overlay.tick(clock.now);
      }
      await Promise.resolve();
    }
  };
  for (const peer of peers) overlay.linkUp(peer);
  return { overlay, clock, ticks, run };
}

const gapsOf = (ticks: readonly Millis[]) => ticks.slice(1).map((t, i) => t - (ticks[i] as Millis));

describe('overlay service: ticks while settled', () => {
  test('a settled node ticks every second; a link lost brings the 250 ms cycle back at once', async () => {
    const n = await linkedNode();
    await n.run(2_000);
    // Settled once its advert went out: from then on a tick a second.
    n.ticks.length = 0;
    await n.run(5_000);
    expect(n.ticks.length).toBeGreaterThanOrEqual(4);
    expect(
      gapsOf(n.ticks).every((gap) => gap === settledTickIntervalMs),
      JSON.stringify(gapsOf(n.ticks)),
    ).toBe(true);

    // A round trip is not news for the tick.
    const lastTick = n.ticks.at(-1) as Millis;
    n.overlay.linkRtt(peers[0] as NodeId, 3);
    expect(n.overlay.nextWakeAt()).toBe(lastTick + settledTickIntervalMs);

    // A link lost: the next tick comes 250 ms after the last, as it always did.
    n.overlay.linkDown(peers[2] as NodeId, 'silent');
    expect(n.overlay.nextWakeAt()).toBe(lastTick + overlayTickIntervalMs);
    n.ticks.length = 0;
    await n.run(1_000);
    expect(n.ticks.length).toBeGreaterThanOrEqual(3);
    // Below minLinks (3) the node is not settled: it keeps the 250 ms cycle while it heals.
    expect(
      gapsOf(n.ticks).every((gap) => gap === overlayTickIntervalMs),
      JSON.stringify(gapsOf(n.ticks)),
    ).toBe(true);
  });

  test('a message from a neighbour also brings the next tick forward', async () => {
    const n = await linkedNode();
    await n.run(3_000);
    const lastTick = n.ticks.at(-1) as Millis;
    expect(n.overlay.nextWakeAt()).toBe(lastTick + settledTickIntervalMs);
    n.overlay.receive(peers[1] as NodeId, { type: 'digest', entries: [] });
    expect(n.overlay.nextWakeAt()).toBe(lastTick + overlayTickIntervalMs);
  });
});
