// The overlay service dials a peer the signaling server introduces at once, not on its next
// regular tick (mesh formation time), while the node has room for links; a burst of
// introductions shares one early tick, and a node at its maximum keeps its regular cycle.
import { describe, expect, test } from 'vitest';
import { overlayTickIntervalMs } from '../../src/core/overlay/config.ts';
import type { Millis, NodeId } from '../../src/core/types.ts';
import { fakeServiceContext } from './fake-service-context.ts';
import { introducedTickGapMs, OverlayService } from '../../src/worker/services/overlay.ts';

const start: Millis = 1_700_000_000_000;

async function overlayNode(self: string) {
  const clock = { now: start };
  const wanted: NodeId[] = [];
  const overlay = new OverlayService();
  const ctx = fakeServiceContext(() => clock.now, 11, { self: self as NodeId, wantLink: (peer) => void wanted.push(peer) });
  await overlay.start(ctx);
  /** What the runtime does: tick whenever the service's wake-up time has come. */
  const runDue = () => {
    if (overlay.nextWakeAt() <= clock.now) overlay.tick(clock.now);
  };
  const introduce = (peer: string) => overlay.onEvent({ type: 'peer-introduced', peer: peer as NodeId });
  return { overlay, clock, wanted, runDue, introduce };
}

describe('overlay service: introduced peers', () => {
  test('a peer introduced between ticks is dialled within the short gap, not a whole tick later', async () => {
    const n = await overlayNode('m-self');
    n.runDue();
    expect(n.overlay.nextWakeAt()).toBe(start + overlayTickIntervalMs);
    n.clock.now += 10;
    n.introduce('z-peer');
    n.introduce('a-peer');
    // One early tick for both, at least introducedTickGapMs after the last one.
    expect(n.overlay.nextWakeAt()).toBe(start + introducedTickGapMs);
    n.clock.now = start + introducedTickGapMs;
    n.runDue();
    expect(n.wanted.sort()).toEqual(['a-peer', 'z-peer']);
    expect(n.overlay.nextWakeAt()).toBe(start + introducedTickGapMs + overlayTickIntervalMs);
  });

  test('a peer introduced long after the last tick is dialled on a tick due now', async () => {
    const n = await overlayNode('m-self');
    n.runDue();
    n.clock.now += 200;
    n.introduce('b-peer');
    expect(n.overlay.nextWakeAt()).toBe(n.clock.now);
  });

  test('a node with no room for more links keeps its regular cycle', async () => {
    const n = await overlayNode('m-self');
    n.overlay.commands.setLinkBounds([1, 1]);
    n.runDue();
    n.clock.now += 10;
    n.introduce('c-peer');
    n.clock.now += introducedTickGapMs;
    n.runDue();
    expect(n.wanted).toEqual(['c-peer']);
    const regular = n.overlay.nextWakeAt();
    n.clock.now += 10;
    // One link in flight fills maxLinks 1: another introduction waits for the regular tick.
    n.introduce('d-peer');
    expect(n.overlay.nextWakeAt()).toBe(regular);
  });
});
