// The simulator's virtual clock: time only moves when the next event is taken from the queue.
// Events due at the same millisecond run in the order they were scheduled (a sequence number
// breaks the tie), so a run never depends on heap internals or object identity.
import type { Millis } from '../../src/core/types.ts';

export interface ScheduledEvent<E> {
  readonly at: Millis;
  /** Insertion order: the deterministic tiebreak between events due at the same time. */
  readonly seq: number;
  readonly payload: E;
  /** Cancelled events stay in the heap and are skipped when popped (lazy deletion). */
  cancelled: boolean;
}

/** A binary min-heap ordered by (at, seq). O(log n) push and pop, which keeps 1,024+ nodes cheap. */
export class EventQueue<E> {
  private readonly heap: ScheduledEvent<E>[] = [];
  private nextSeq = 0;
  private live = 0;

  /** Number of events not yet run or cancelled. */
  get size(): number {
    return this.live;
  }

  push(at: Millis, payload: E): ScheduledEvent<E> {
    if (!Number.isFinite(at)) throw new Error(`cannot schedule an event at ${at}`);
    const event: ScheduledEvent<E> = { at, seq: this.nextSeq++, payload, cancelled: false };
    this.heap.push(event);
    this.siftUp(this.heap.length - 1);
    this.live++;
    return event;
  }

  cancel(event: ScheduledEvent<E>): void {
    if (event.cancelled) return;
    event.cancelled = true;
    this.live--;
  }

  /** The time of the earliest live event, or undefined when nothing is scheduled. */
  peekTime(): Millis | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.at;
  }

  pop(): ScheduledEvent<E> | undefined {
    this.dropCancelledTop();
    const top = this.takeTop();
    if (top) this.live--;
    return top;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledEvent<E>).cancelled) this.takeTop();
  }

  private takeTop(): ScheduledEvent<E> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i] as ScheduledEvent<E>;
    const b = this.heap[j] as ScheduledEvent<E>;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const heap = this.heap;
    const tmp = heap[i] as ScheduledEvent<E>;
    heap[i] = heap[j] as ScheduledEvent<E>;
    heap[j] = tmp;
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    const n = this.heap.length;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.less(left, smallest)) smallest = left;
      if (right < n && this.less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}

/**
 * Virtual time plus the queue of what happens next. `runUntil` pops events in (at, seq) order,
 * moves `now` to each event's time and hands it to the handler; time never goes backwards.
 */
export class VirtualClock<E> {
  private current: Millis;
  readonly queue = new EventQueue<E>();

  constructor(start: Millis = 0) {
    this.current = start;
  }

  get now(): Millis {
    return this.current;
  }

  /** Schedules at an absolute time; a time in the past is clamped to now (it runs next). */
  at(at: Millis, payload: E): ScheduledEvent<E> {
    return this.queue.push(Math.max(at, this.current), payload);
  }

  after(delayMs: Millis, payload: E): ScheduledEvent<E> {
    return this.at(this.current + Math.max(0, delayMs), payload);
  }

  cancel(event: ScheduledEvent<E>): void {
    this.queue.cancel(event);
  }

  /**
   * Runs every event due at or before `deadline`, then sets now = deadline. Returns how many
   * events ran. `stop` is checked after each event and ends the run early (now stays at the
   * time of the event that satisfied it).
   */
  runUntil(deadline: Millis, handle: (payload: E, at: Millis) => void, stop?: () => boolean): number {
    let ran = 0;
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > deadline) break;
      const event = this.queue.pop() as ScheduledEvent<E>;
      this.current = event.at;
      handle(event.payload, event.at);
      ran++;
      if (stop?.()) return ran;
    }
    this.current = Math.max(this.current, deadline);
    return ran;
  }
}
