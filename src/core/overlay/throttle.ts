// Per-neighbour admission control for flooded traffic (overlay adverts, routed messages): a
// token bucket so a burst such as a full database sync goes through, and a count of what was
// refused in the last window so a neighbour that keeps flooding can be cut off instead of
// stalling the rest of the mesh. Time comes in as an argument; nothing here reads a clock.
import type { Millis } from '../types.ts';

export interface ThrottleLimits {
  /** Messages a neighbour may send at once after being quiet. */
  burstMsgs: number;
  /** Sustained rate, messages per second. */
  ratePerS: number;
  /** Refusals within one window after which the neighbour counts as flooding. */
  floodDropsPerWindow: number;
  windowMs: Millis;
}

export interface Throttle {
  /** True if the message may be processed; false if it must be dropped as rate-limited. */
  admit(now: Millis): boolean;
  /** True once the refusals in the current window reach the flooding threshold. */
  flooding(): boolean;
}

export function createThrottle(limits: ThrottleLimits, now: Millis): Throttle {
  let tokens = limits.burstMsgs;
  let refilledAt = now;
  let windowStart = now;
  let drops = 0;
  return {
    admit(at) {
      if (at > refilledAt) {
        tokens = Math.min(limits.burstMsgs, tokens + ((at - refilledAt) * limits.ratePerS) / 1000);
        refilledAt = at;
      }
      if (at - windowStart >= limits.windowMs) {
        windowStart = at;
        drops = 0;
      }
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      drops++;
      return false;
    },
    flooding: () => drops >= limits.floodDropsPerWindow,
  };
}
