// Every handler of the hub runs inside a guard: no input from a client can throw out of the
// hub. What a guard catches is a bug, never the client's fault, so it is counted and logged.
import { TokenBucket } from '../rate-limit.ts';

/** Internal errors logged with their stack per minute (sustained) and at once; the rest are counted only. */
const internalErrorLogsPerMinute = 10;
const internalErrorLogBurst = 10;

/** Wraps a handler so that whatever it throws is counted (and logged, within a budget). */
export type Guard = <A extends unknown[]>(what: string, fn: (...args: A) => void) => (...args: A) => void;

export function createGuard(counters: { internalErrors: number }, now: () => number, log: (line: string) => void): Guard {
  const errorLogBudget = new TokenBucket({ ratePerS: internalErrorLogsPerMinute / 60, burst: internalErrorLogBurst }, now());
  return (what, fn) =>
    (...args) => {
      try {
        fn(...args);
      } catch (err) {
        // A bug alarm: no client input should ever get here. Logged with its stack, but only so
        // often, so that if one does, a flood of it cannot flood the log too.
        counters.internalErrors++;
        if (errorLogBudget.tryTake(now())) {
          log(`signaling: internal error in ${what} (${counters.internalErrors} so far): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
    };
}
