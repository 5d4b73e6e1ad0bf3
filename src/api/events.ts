// A small typed event emitter for the API's objects (Room, RoomMemory): `on` returns the
// unsubscribe, `off` removes a listener, and a listener that throws is reported without keeping
// the others from hearing the event.

/** A function that stops a subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/** Event name → the listener's argument list. */
export type EventMap = Record<string, unknown[]>;

/** How listeners are stored: their types are checked on the way in (`on`) and out (`emit`). */
type AnyListener = (...args: unknown[]) => void;

/** Listeners by event name, with typed arguments. */
export class TypedEmitter<Events extends EventMap> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();

  /** Where a throwing listener's error goes (default: console.error), so one listener cannot break the others. */
  constructor(
    private readonly onListenerError: (error: unknown, event: keyof Events) => void = (error, event) =>
      console.error(`tabmesh: a '${String(event)}' listener threw`, error),
  ) {}

  /** Calls `listener` for every `event` from now on; returns the unsubscribe. */
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as unknown as AnyListener);
    return () => this.off(event, listener);
  }

  /** Stops calling `listener` for `event` (nothing happens if it was not listening). */
  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): void {
    this.listeners.get(event)?.delete(listener as unknown as AnyListener);
  }

  /** Calls every listener of `event` with `args`, in the order they subscribed. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...(args as unknown[]));
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  /** How many listeners `event` has (for tests and for starting work only when someone listens). */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** Removes every listener (a closed room). */
  clear(): void {
    this.listeners.clear();
  }
}
