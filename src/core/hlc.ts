// Hybrid logical clock (Kulkarni et al., 2014): a timestamp that stays close to wall time but
// never goes backwards and always moves past every timestamp this node has seen, so "last
// writer wins" orders causally related writes correctly even when device clocks disagree a
// little. A timestamp is (wall, count): wall is milliseconds, count orders events within one.
// Ties between different nodes are broken outside the clock, by node id.
import type { Millis } from './types.ts';

export interface Hlc {
  readonly wall: Millis;
  readonly count: number;
}

export const hlcZero: Hlc = { wall: 0, count: 0 };

/**
 * Largest `count` before the clock moves `wall` on by 1 ms instead: more than this many events
 * in one millisecond is not real, and it keeps count a small integer on the wire.
 */
export const maxHlcCount = 0x7fff_ffff;

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.wall !== b.wall ? (a.wall < b.wall ? -1 : 1) : a.count !== b.count ? (a.count < b.count ? -1 : 1) : 0;
}

export const hlcToString = (t: Hlc): string => `${t.wall}.${t.count}`;

/** The clock of one node. `physical` is its wall clock reading (Date.now() in a tab). */
export class HybridClock {
  private latest: Hlc;

  constructor(start: Hlc = hlcZero) {
    this.latest = start;
  }

  get last(): Hlc {
    return this.latest;
  }

  /** A timestamp for a local event (a write), later than anything seen so far. */
  tick(physical: Millis): Hlc {
    const wall = Math.max(this.latest.wall, Math.floor(physical));
    this.latest = wall === this.latest.wall ? bump(this.latest) : { wall, count: 0 };
    return this.latest;
  }

  /**
   * Takes in a timestamp from another node. Refuses (returns false, changes nothing) a
   * timestamp more than `maxAheadMs` ahead of our wall clock: believing it would drag every
   * later write of ours into that future, so a peer with a wrong clock could win every race.
   */
  observe(remote: Hlc, physical: Millis, maxAheadMs: Millis): boolean {
    if (remote.wall > physical + maxAheadMs) return false;
    const wall = Math.max(this.latest.wall, remote.wall, Math.floor(physical));
    if (wall === this.latest.wall && wall === remote.wall) {
      this.latest = bump({ wall, count: Math.max(this.latest.count, remote.count) });
    } else if (wall === this.latest.wall) {
      this.latest = bump(this.latest);
    } else if (wall === remote.wall) {
      this.latest = bump(remote);
    } else {
      this.latest = { wall, count: 0 };
    }
    return true;
  }
}

function bump(t: Hlc): Hlc {
  return t.count >= maxHlcCount ? { wall: t.wall + 1, count: 0 } : { wall: t.wall, count: t.count + 1 };
}
