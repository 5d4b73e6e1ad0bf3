// The two built-in state machines (machine.ts), run by every node's consensus core itself:
// the decision log (`propose(text | JSON)`: ordering is all it does; the replicated log tail
// shows the decisions) and the key–value store (`kv-set`, `kv-del`). Their snapshots are
// fields of the replicated state (state-machine.ts), in the form checkpoints have always digested.
import { maxKvEntries } from './constants.ts';
import type { JsonValue } from './json.ts';
import type { Op, OpResult } from './ops.ts';
import type { StateMachine } from './machine.ts';

export type DecisionOp = Extract<Op, { kind: 'decision' }>;
export type KvOp = Extract<Op, { kind: 'kv-set' | 'kv-del' }>;

/** Decisions change no state: agreeing on their order is the whole point. */
export class DecisionLogMachine implements StateMachine<DecisionOp, OpResult, null> {
  apply(_op: DecisionOp): OpResult {
    return { ok: true };
  }

  snapshot(): null {
    return null;
  }

  restore(_snapshot: null): void {}
}

/** The replicated key–value store: at most maxKvEntries keys; snapshots are entries sorted by key. */
export class KvMachine implements StateMachine<KvOp, OpResult, Array<[string, JsonValue]>> {
  private readonly entries = new Map<string, JsonValue>();

  apply(op: KvOp): OpResult {
    if (op.kind === 'kv-del') return { ok: true, existed: this.entries.delete(op.key) };
    const existed = this.entries.has(op.key);
    if (!existed && this.entries.size >= maxKvEntries) {
      return { ok: false, note: `the key–value store is full (${maxKvEntries} keys); delete some first` };
    }
    this.entries.set(op.key, op.value);
    return { ok: true, existed };
  }

  snapshot(): Array<[string, JsonValue]> {
    return [...this.entries.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  restore(snapshot: Array<[string, JsonValue]>): void {
    this.entries.clear();
    for (const [key, value] of snapshot) this.entries.set(key, value);
  }

  get(key: string): JsonValue | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
