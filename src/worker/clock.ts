// The time edges of a node: a clock to read and timers to set. The runtime and everything it
// builds (links, keepalive, the snapshot pacer, PeerGuard, the signaling client, services) take
// them from RuntimeOptions instead of reading Date/performance or calling setTimeout, so the
// same runtime runs on the real clock in a tab or a Node peer (real-clock.ts, the one place
// that touches them) and on the simulator's seeded virtual clock (test/sim/real-node/).
// docs/architecture.md, convention 1; eslint.config.js enforces it for src/worker.

/** What a node reads the time from. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (Date.now): for timestamps others see (HLCs, records). */
  now(): number;
  /** Milliseconds on a clock that never goes back (performance.now): for intervals and timeouts. */
  monotonic(): number;
}

/** An opaque handle to one pending timer (a number in browsers, an object in Node). */
export type TimerHandle = number | object;

/** Where a node sets its timers. Callbacks run later, never inside setTimeout itself. */
export interface Timers {
  /** Runs `fn` once, after at least `ms` milliseconds (of the monotonic clock). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a pending timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}
