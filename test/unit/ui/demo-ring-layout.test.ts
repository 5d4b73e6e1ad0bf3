// The demo ring's geometry (src/ui/demo/ring-layout.ts): 4 to 16 nodes apart, paths that bow
// away from the centre, so opposite nodes' messages never cross the demo screen's own mark.
import { describe, expect, it } from 'vitest';
import { along, nodeRadius, ringPosition } from '../../../src/ui/demo/ring-layout.ts';

describe('demo ring layout', () => {
  it('keeps 4 to 16 nodes from touching', () => {
    for (let n = 4; n <= 16; n++) {
      const a = ringPosition(0, n);
      const b = ringPosition(1, n);
      expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeGreaterThan(2 * nodeRadius(n) + 20);
    }
    expect(ringPosition(0, 4)).toEqual({ x: 0, y: -370 });
  });

  it('sends a message on an arc that starts and ends at the nodes and misses the centre', () => {
    const top = ringPosition(0, 4);
    const bottom = ringPosition(2, 4);
    expect(along(top, bottom, 0)).toEqual(top);
    expect(along(top, bottom, 1)).toEqual(bottom);
    const mid = along(top, bottom, 0.5);
    const back = along(bottom, top, 0.5);
    expect(Math.hypot(mid.x, mid.y)).toBeGreaterThan(60);
    // There and back take different sides.
    expect(Math.sign(mid.x)).toBe(-Math.sign(back.x));
  });
});
