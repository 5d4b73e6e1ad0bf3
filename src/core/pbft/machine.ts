// A replicated state machine: what pBFT replicates. The log of operations is agreed; every
// node applies it in order to its own copy of the machine, so the machine must be
// deterministic — the same operations in the same order give the same state and the same
// results on every node. The built-in machines (builtin-machines.ts: the decision log and the
// key–value store) run inside the consensus core; an app's own machines have the same shape
// and run in the app (src/api/consensus.ts), with pBFT only ordering their operations
// (app-machines.ts).

/**
 * A deterministic state machine. `Op`, `Result` and `Snapshot` are plain JSON (no `undefined`,
 * functions, class instances, `NaN`/`Infinity`, cycles).
 */
export interface StateMachine<Op, Result, Snapshot> {
  /**
   * Applies one committed operation and returns its result. Must depend only on the current
   * state and `op`: no clock, randomness, I/O or other outside input. Throwing is an outcome
   * too (every node throws alike for a bad operation), and must leave the state unchanged.
   */
  apply(op: Op): Result;
  /** The whole state as plain JSON: checkpoints compare it and late nodes restore from it. */
  snapshot(): Snapshot;
  /** Replaces the state with one `snapshot()` gave (on this node or another). */
  restore(snapshot: Snapshot): void;
}
