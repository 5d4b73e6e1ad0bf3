// What every room feature (channel, consensus, compute) does when it opens and when it closes:
// its name is checked against its pattern, it hears its node's events only while it is open,
// and close() ends every subscription once. One place, so "closed means closed" is the same for
// each feature.
import type { NodeBackend } from './backend.ts';
import type { NodeSnapshot } from '../mesh-node.ts';

/** A refused argument as an error message shows it: quoted, and at most 80 characters. */
export function shownArgument(value: unknown): string {
  return JSON.stringify(String(value)).slice(0, 80);
}

/** Throws `refuse(the name as shown)` unless `name` is a string that matches `pattern`. */
export function checkFeatureName(name: unknown, pattern: RegExp, refuse: (shown: string) => Error): asserts name is string {
  if (typeof name !== 'string' || !pattern.test(name)) throw refuse(shownArgument(name));
}

/** A feature's subscriptions to its node, heard until close(). */
export class FeatureSubscriptions {
  private readonly stops: Array<() => void> = [];
  private open = true;

  constructor(private readonly backend: NodeBackend) {}

  /** True once close() was called. */
  get closed(): boolean {
    return !this.open;
  }

  /** Calls `handler` with each payload of the node's app event `name` (unchecked) until close(). */
  onEvent(name: string, handler: (payload: unknown) => void): void {
    this.stops.push(this.backend.onEvent(name, (payload) => this.open && handler(payload)));
  }

  /** Calls `handler` with each node snapshot until close(). */
  onSnapshot(handler: (snapshot: NodeSnapshot) => void): void {
    this.stops.push(this.backend.subscribe((snapshot) => this.open && handler(snapshot)));
  }

  /** Ends every subscription; true the first time only, so the feature's own cleanup runs once. */
  close(): boolean {
    if (!this.open) return false;
    this.open = false;
    for (const stop of this.stops.splice(0)) stop();
    return true;
  }
}
