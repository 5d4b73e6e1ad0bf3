// App events by name (the worker's `publishEvent`, see src/worker/service.ts), fanned out to the
// listeners the page or a Node backend registered for that name. One class for every backend, so
// each delivers events the same way.

export type AppEventListener = (payload: unknown) => void;

export class AppEventListeners {
  private readonly byName = new Map<string, Set<AppEventListener>>();

  /** Registers `listener` for events called `name`; the returned function removes it. */
  on(name: string, listener: AppEventListener): () => void {
    const named = this.byName.get(name) ?? new Set();
    this.byName.set(name, named);
    named.add(listener);
    return () => {
      named.delete(listener);
      if (named.size === 0 && this.byName.get(name) === named) this.byName.delete(name);
    };
  }

  /** How many listeners `name` has (a test's check that a feature let go of its listener). */
  count(name: string): number {
    return this.byName.get(name)?.size ?? 0;
  }

  /** Hands `payload` to every listener of `name` (a copy of the set: a listener may remove itself). */
  publish(name: string, payload: unknown): void {
    const named = this.byName.get(name);
    if (named) for (const listener of [...named]) listener(payload);
  }
}
