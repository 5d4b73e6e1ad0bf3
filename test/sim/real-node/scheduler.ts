// One virtual clock for a whole simulated room of real nodes. Time moves only when the next
// event is taken from the queue; every event due at one millisecond runs (in scheduling order),
// then the promise continuations they started run to the end before time moves again, so async
// code in the runtime (storage, signing) behaves as it does on a real event loop, and a run
// depends on nothing but its seed. See docs/simulation.md.
import { EventQueue, type ScheduledEvent } from '../clock.ts';

/** Events one virtual millisecond may hold before the run is declared stuck (a zero-delay loop). */
const maxEventsPerInstant = 200_000;

/** Lets every queued promise continuation run (setImmediate comes after the whole microtask queue). */
const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualScheduler {
  private readonly queue = new EventQueue<() => void>();
  /** Virtual milliseconds since the run began. */
  now = 0;
  /** Events run so far (a throughput figure for the bench). */
  eventsRun = 0;

  /** Runs `fn` at virtual time `at` (not before now). */
  at(at: number, fn: () => void): ScheduledEvent<() => void> {
    return this.queue.push(Math.max(at, this.now), fn);
  }

  /** Runs `fn` `ms` virtual milliseconds from now. */
  after(ms: number, fn: () => void): ScheduledEvent<() => void> {
    return this.at(this.now + Math.max(0, ms), fn);
  }

  cancel(event: ScheduledEvent<() => void>): void {
    this.queue.cancel(event);
  }

  /** Runs events until virtual time `until` (inclusive), then sets the clock to it. */
  async runUntil(until: number, shouldStop?: () => boolean): Promise<void> {
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > until) break;
      this.now = next;
      let count = 0;
      while (this.queue.peekTime() === next) {
        const event = this.queue.pop() as ScheduledEvent<() => void>;
        event.payload();
        this.eventsRun++;
        if (++count > maxEventsPerInstant) throw new Error(`stuck: more than ${maxEventsPerInstant} events at virtual time ${next} ms (a zero-delay loop)`);
      }
      await drainMicrotasks();
      if (shouldStop?.()) return;
    }
    this.now = Math.max(this.now, until);
    await drainMicrotasks();
  }
}
