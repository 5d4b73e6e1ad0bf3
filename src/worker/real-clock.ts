// The one real-clock edge of a node: Date.now, performance.now and the host's timers. Only the
// hosts use it (src/worker/node.worker.ts in a tab, src/node/peer.ts for a Node peer); the
// runtime and everything below it take a Clock and Timers (clock.ts), so the simulator can
// give them a virtual clock instead. The lint lets only this file in src/worker touch them.
import type { Clock, TimerHandle, Timers } from './clock.ts';

/** The host's clock: Date.now for wall time, performance.now for intervals. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** The host's timers. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms) as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};
