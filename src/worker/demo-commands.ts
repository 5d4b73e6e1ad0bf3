// Node commands behind the demo view's "cut its links" and "put it to sleep" (src/ui/demo): they
// act on this node only, and a person's own tab runs them (a remote demo command reaches them
// through src/ui/demo/control.ts, only in a tab that accepted that controller).
import { CommandError } from './command-error.ts';
import type { NodeRuntime } from './runtime.ts';

type Command = (runtime: NodeRuntime, args: unknown[]) => unknown;

/** Longest a demo partition lasts (it ends sooner with demoIsolate(0): "bring back"). */
export const maxIsolateMs = 5 * 60_000;
/**
 * Longest a demo sleep lasts: under the page supervisor's 20 s watchdog, so the node wakes up by
 * itself, as a frozen tab does, rather than being restarted.
 */
export const maxSleepMs = 15_000;

function duration(value: unknown, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new CommandError('bad-argument', `${what}(ms): ms must be a whole number from 0 to ${max}`);
  }
  return value;
}

export const demoCommands: Record<string, Command> = {
  /** `demoIsolate(ms)`: cuts every link and keeps every peer out for ms (0: lets them back). Resolves with the links cut. */
  demoIsolate: (runtime, [ms]) => runtime.isolate(duration(ms, maxIsolateMs, 'demoIsolate')),
  /**
   * `demoSleep(ms)`: after replying, this worker stops running for ms (a synchronous wait), as a
   * frozen tab or a sleeping laptop does: nothing is sent, received or timed meanwhile.
   */
  demoSleep: (runtime, [ms]) => {
    const wait = duration(ms, maxSleepMs, 'demoSleep');
    runtime.timers.setTimeout(() => {
      // Real time must pass while nothing else runs, so this reads the real clock (no injected
      // clock moves during a blocking loop). A worker has no blocking sleep without cross-origin
      // isolation (Atomics.wait needs it). The simulator never sends this command.
      // eslint-disable-next-line no-restricted-globals
      const until = performance.now() + wait;
      // eslint-disable-next-line no-restricted-globals
      while (performance.now() < until) {
        // asleep
      }
    }, 0);
    return true;
  },
};
