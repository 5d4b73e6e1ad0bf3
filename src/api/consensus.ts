// Consensus over an app's own state machine. The app hands a deterministic machine (apply,
// snapshot, restore); pBFT orders its operations (src/core/pbft/app-machines.ts) and every
// node's app applies them in that order, here in the app's own context — the app's code never
// leaves it, and never travels over the mesh. A node that joins late, falls behind or reloads
// restores the machine from its last certified snapshot (f+1 replicas' apps agreed on it) and
// applies the operations after it. Disagreeing replicas (a machine that is not deterministic)
// are reported, never "fixed" by forking: the order of operations stays the agreed one.
//
//   const counter = createConsensus(node, 'counter', {
//     total: 0,
//     apply(op: { add: number }) { this.total += op.add; return this.total; },
//     snapshot() { return this.total; },
//     restore(total: number) { this.total = total; },
//   });
//   await counter.propose({ add: 1 });   // → the total after this operation, once committed
import type { NodeBackend } from './backend.ts';
import { AbortError, InvalidArgumentError, TabmeshError } from './errors.ts';
import { TypedEmitter } from './events.ts';
import { FeatureSubscriptions, checkFeatureName } from './feature.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import { appCheckpointEveryOps, appMachineNamePattern, maxAppSnapshotBytes } from '../core/pbft/app-limits.ts';
import { maxOpChars } from '../core/pbft/constants.ts';
import { checkJson, type JsonValue } from '../core/pbft/json.ts';
import type { StateMachine } from '../core/pbft/machine.ts';
import { utf8Length } from '../core/utf8.ts';
import {
  decodeCheckpointEvent,
  decodeOpEvent,
  decodeProposeReply,
  decodeStateReply,
  decodeSyncEvent,
  type OpEvent,
  type StateReply,
} from './consensus-wire.ts';

export type { StateMachine };

/**
 * Why a consensus call failed, beyond the API's shared errors (InvalidArgumentError for a bad
 * name, machine, operation or option; AbortError when the signal aborts; RoomClosedError after
 * room.leave()): `code` says what happened.
 */
export type ConsensusErrorCode =
  /** This node already runs a machine of that name (close it first). */
  | 'name-taken'
  /** The room refused to order it (too many machines, or the machine waits for a checkpoint). */
  | 'refused'
  /** It did not commit (no quorum in time, the node is shutting down, too many proposals open). */
  | 'not-committed'
  /** It committed, and the machine's apply threw for it (on this node). */
  | 'apply-threw'
  /** It committed, but this node restored a snapshot past it, so it has no result for it. */
  | 'result-unavailable'
  /** The handle was closed. */
  | 'closed';

/** A consensus call failed; `code` (ConsensusErrorCode) says how. */
export class ConsensusError extends TabmeshError {
  override name = 'ConsensusError';
  declare readonly code: ConsensusErrorCode;

  /**
   * @param code what happened
   * @param message what went wrong and what to do
   */
  constructor(code: ConsensusErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What `on()` can listen to, with what the listener gets. */
export interface ConsensusEvents<Op, Result> {
  /** An operation was applied here (on every node, in the same order). `from`: the proposing node. */
  applied: { index: number; op: Op; result: Result; from: string };
  /** The machine was restored from a certified snapshot (catching up); `index`: the operations it covers. */
  restored: { index: number };
  /**
   * Replicas' snapshots differed at `index`: the machine is not deterministic. `local`: this
   * node's own snapshot differs from the certified one (else: some replicas differ).
   */
  diverged: { index: number; local: boolean; variants: number };
  /** The machine failed here: apply threw (`index` of the operation), or snapshot() was refused. */
  error: { index: number; error: Error };
}

export interface ConsensusStats {
  /** Operations applied here (the index of the last). */
  applied: number;
  /** Times the machine was restored from a certified snapshot. */
  restores: number;
  /** Operations whose apply threw here. */
  threw: number;
  /** Indices at which a divergence was reported (local or among replicas). */
  divergences: number;
  /** Snapshots voted by this node's app. */
  votes: number;
  /** Event payloads from the node that did not decode (counted, dropped). */
  malformed: number;
}

export interface ProposeOptions {
  /** Stops waiting (rejects with an AbortError); the operation may still commit and be applied. */
  signal?: AbortSignal;
}

/** A running replicated state machine of this node. */
export interface Consensus<Op, Result> {
  readonly name: string;
  /** Resolves once the machine has caught up with what this node had committed when it started. */
  readonly ready: Promise<void>;
  /** Operations applied here so far. */
  readonly applied: number;
  /**
   * Orders `op` in the room and resolves with the result of applying it, computed by this
   * node's own machine once the operation is committed and every earlier one applied.
   */
  propose(op: Op, options?: ProposeOptions): Promise<Result>;
  /** Calls `listener` on each such event; returns the unsubscribe. */
  on<E extends keyof ConsensusEvents<Op, Result>>(event: E, listener: (payload: ConsensusEvents<Op, Result>[E]) => void): () => void;
  stats(): ConsensusStats;
  /** Stops following the log; open proposals reject with 'closed'. The name may be used again. */
  close(): void;
}

/** Results kept for proposals that learn their index after the operation was applied. */
const resultsKept = 256;
/** This node's own snapshots kept to compare with certified ones. */
const ownSnapshotsKept = 8;

const taken = new WeakMap<NodeBackend, Set<string>>();

type Outcome = { ok: true; result: unknown } | { ok: false; error: TabmeshError };
/** ConsensusEvents as the argument lists of a TypedEmitter. */
type EventArgs<Op, Result> = { [E in keyof ConsensusEvents<Op, Result>]: [ConsensusEvents<Op, Result>[E]] };

/**
 * Runs `machine` as the replicated state machine `name` of this node's room. Several machines
 * may run side by side, each with its own name (its own operations). Throws an
 * InvalidArgumentError for a bad name or machine, a ConsensusError 'name-taken' when this node
 * runs a machine of that name already.
 */
export function createConsensus<Op, Result, Snapshot>(backend: NodeBackend, name: string, machine: StateMachine<Op, Result, Snapshot>): Consensus<Op, Result> {
  checkFeatureName(
    name,
    appMachineNamePattern,
    (shown) =>
      new InvalidArgumentError('consensus: name', `${shown} is not a machine name: use 1–64 of a-z, 0-9, dash, dot and underscore, starting with a letter`),
  );
  for (const method of ['apply', 'snapshot', 'restore'] as const) {
    if (typeof (machine as unknown as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new InvalidArgumentError(
        'consensus: machine',
        `needs ${method}(): a state machine has apply(op) → result, snapshot() → JSON and restore(snapshot)`,
      );
    }
  }
  const names = taken.get(backend) ?? new Set<string>();
  if (names.has(name)) throw new ConsensusError('name-taken', `this node already runs the machine ${name}: close() it first, or pick another name`);
  const replica = new AppReplica<Op, Result, Snapshot>(backend, name, machine);
  names.add(name);
  taken.set(backend, names);
  replica.onClose = () => names.delete(name);
  return replica;
}

class AppReplica<Op, Result, Snapshot> implements Consensus<Op, Result> {
  readonly ready: Promise<void>;
  onClose: () => void = () => {};

  private readonly initial: Snapshot;
  private genesis: string | null | undefined = undefined;
  private appliedIndex = 0;
  private readonly queue: Array<() => Promise<void> | void> = [];
  private pumping = false;
  private readonly results = new Map<number, Outcome>();
  /** Proposals waiting for the operation at an index to be applied, with the genesis that numbered it. */
  private readonly waiting = new Map<number, Array<{ genesis: string | null; settle: (outcome: Outcome) => void }>>();
  private readonly own = new Map<number, string>();
  /** Every open proposal's settle function, so close() ends them all (also those the node has not answered yet). */
  private readonly open = new Set<(outcome: Outcome) => void>();
  private readonly divergedAt = new Set<number>();
  private readonly listeners = new TypedEmitter<EventArgs<Op, Result>>((error, event) =>
    console.error(`tabmesh: a consensus ${String(event)} listener threw:`, error),
  );
  private readonly counts = { restores: 0, threw: 0, divergences: 0, votes: 0, malformed: 0 };
  private readonly subscriptions: FeatureSubscriptions;

  constructor(
    private readonly backend: NodeBackend,
    readonly name: string,
    private readonly machine: StateMachine<Op, Result, Snapshot>,
  ) {
    // The state before any operation: a node that finds its room started over restores it.
    const initial = this.checkedSnapshot();
    if (!initial.ok) throw new InvalidArgumentError('consensus: machine', `snapshot() of the fresh machine: ${initial.error}`);
    this.initial = JSON.parse(initial.text) as Snapshot;
    this.subscriptions = new FeatureSubscriptions(backend);
    this.subscriptions.onEvent('consensus-op', (raw) => this.enqueue(() => this.onOp(raw)));
    this.subscriptions.onEvent('consensus-checkpoint', (raw) => this.enqueue(() => this.onCheckpoint(raw)));
    this.subscriptions.onEvent('consensus-sync', (raw) => this.enqueue(() => this.onSync(raw)));
    this.ready = new Promise<void>((resolve) => this.enqueue(() => this.sync().then(resolve, resolve)));
  }

  get applied(): number {
    return this.appliedIndex;
  }

  private get closed(): boolean {
    return this.subscriptions.closed;
  }

  async propose(op: Op, options: ProposeOptions = {}): Promise<Result> {
    if (this.closed) throw new ConsensusError('closed', `the machine ${this.name} was closed`);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('propose: options.signal', 'must be an AbortSignal');
    if (signal?.aborted) throw new AbortError(signal.reason);
    const problem = checkJson(op, maxOpChars);
    if (problem !== null || op === undefined) {
      throw new InvalidArgumentError('propose: op', `must be plain JSON within ${maxOpChars} characters (${problem ?? 'it is undefined'})`);
    }
    return new Promise<Result>((resolve, reject) => {
      let done = false;
      const finish = (outcome: Outcome | { ok: false; error: TabmeshError }) => {
        if (done) return;
        done = true;
        this.open.delete(finish);
        signal?.removeEventListener('abort', onAbort);
        if (outcome.ok) resolve(outcome.result as Result);
        else reject(outcome.error);
      };
      // The wait stops; the operation may still commit and be applied.
      const onAbort = () => finish({ ok: false, error: new AbortError(signal?.reason) });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.open.add(finish);
      this.backend.command('consensus-propose', this.name, op).then(
        (raw) => {
          const reply = decodeProposeReply(raw);
          if (!reply.ok) return finish({ ok: false, error: new ConsensusError('not-committed', `the node gave an unreadable answer: ${reply.error}`) });
          this.awaitResult(reply.value.index, reply.value.genesis, finish);
        },
        (error: unknown) => finish({ ok: false, error: toApiError(error) }),
      );
    });
  }

  on<E extends keyof ConsensusEvents<Op, Result>>(event: E, listener: (payload: ConsensusEvents<Op, Result>[E]) => void): () => void {
    if (!['applied', 'restored', 'diverged', 'error'].includes(event))
      throw new InvalidArgumentError('consensus.on: event', `${String(event)} is none of applied, restored, diverged, error`);
    if (typeof listener !== 'function') throw new InvalidArgumentError('consensus.on: listener', 'must be a function');
    return this.listeners.on(event, listener);
  }

  stats(): ConsensusStats {
    return { applied: this.appliedIndex, ...this.counts };
  }

  close(): void {
    if (!this.subscriptions.close()) return;
    this.queue.length = 0;
    const closed: Outcome = { ok: false, error: new ConsensusError('closed', `the machine ${this.name} was closed`) };
    this.failWaiting(closed.error);
    for (const finish of [...this.open]) finish(closed);
    this.onClose();
  }

  // ── the log, in order ──

  /** Events and syncs run one at a time, in arrival order (a sync is a round trip to the node). */
  private enqueue(task: () => Promise<void> | void): void {
    if (this.closed) return;
    this.queue.push(task);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const task = this.queue.shift() as () => Promise<void> | void;
        try {
          await task();
        } catch (error) {
          console.error(`tabmesh: consensus ${this.name}:`, error);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async onOp(raw: unknown): Promise<void> {
    const event = decodeOpEvent(raw);
    if (!event.ok) return void this.counts.malformed++;
    const e = event.value;
    if (e.machine !== this.name) return;
    if (e.genesis !== this.genesis || e.index > this.appliedIndex + 1) return this.sync();
    if (e.index === this.appliedIndex + 1) this.applyOne(e);
  }

  private onCheckpoint(raw: unknown): void {
    const event = decodeCheckpointEvent(raw);
    if (!event.ok) return void this.counts.malformed++;
    const e = event.value;
    if (e.machine !== this.name || e.genesis !== this.genesis) return;
    if (e.variants > 1) this.reportDivergence(e.index, false, e.variants);
    const mine = this.own.get(e.index);
    if (e.certified && e.snapshot !== undefined && mine !== undefined && mine !== e.snapshot) {
      this.reportDivergence(e.index, true, Math.max(2, e.variants));
    }
  }

  private async onSync(raw: unknown): Promise<void> {
    if (!decodeSyncEvent(raw).ok) return void this.counts.malformed++;
    return this.sync();
  }

  /** Catches up from the node: the certified snapshot if it is ahead of us, then the operations after it. */
  private async sync(): Promise<void> {
    let reply: StateReply;
    try {
      const decoded = decodeStateReply(await this.backend.command('consensus-state', this.name));
      if (!decoded.ok) return void this.counts.malformed++;
      reply = decoded.value;
    } catch (error) {
      console.error(`tabmesh: consensus ${this.name}: could not read the machine's state:`, error);
      return;
    }
    if (this.closed) return;
    if (reply.genesis !== this.genesis) {
      // The node follows another genesis (its room's consensus started over): so does the machine.
      if (this.genesis !== undefined && this.appliedIndex > 0) this.machine.restore(structuredClone(this.initial));
      this.genesis = reply.genesis;
      this.failWaiting(new ConsensusError('not-committed', "the room's consensus started over (another genesis); propose again"), reply.genesis);
      this.appliedIndex = 0;
      this.own.clear();
      this.results.clear();
    }
    const certified = reply.certified;
    if (certified && certified.index > this.appliedIndex) {
      try {
        this.machine.restore(structuredClone(certified.snapshot) as Snapshot);
      } catch (error) {
        this.counts.threw++;
        this.emit('error', { index: certified.index, error: asError(error) });
        void this.backend.command('consensus-report', this.name, 'threw').catch(() => {});
      }
      this.appliedIndex = certified.index;
      this.counts.restores++;
      this.own.set(certified.index, canonicalJson(certified.snapshot));
      this.emit('restored', { index: certified.index });
      this.settleSkipped();
    }
    for (const entry of reply.ops) {
      if (entry.index === this.appliedIndex + 1) this.applyOne({ genesis: reply.genesis, machine: this.name, ...entry });
    }
  }

  private applyOne(e: OpEvent): void {
    let outcome: Outcome;
    try {
      outcome = { ok: true, result: this.machine.apply(structuredClone(e.op) as Op) };
    } catch (error) {
      // Determinism makes a throw an outcome like any other: every honest node throws alike.
      this.counts.threw++;
      outcome = { ok: false, error: new ConsensusError('apply-threw', `apply() threw for operation ${e.index}: ${asError(error).message}`) };
      void this.backend.command('consensus-report', this.name, 'threw').catch(() => {});
    }
    this.appliedIndex = e.index;
    this.results.set(e.index, outcome);
    if (this.results.size > resultsKept) this.results.delete(this.results.keys().next().value as number);
    this.settleAt(e.index, outcome);
    if (outcome.ok) this.emit('applied', { index: e.index, op: e.op as Op, result: outcome.result as Result, from: e.client });
    else this.emit('error', { index: e.index, error: outcome.error });
    if (e.index % appCheckpointEveryOps === 0) this.vote(e.index);
  }

  /** Every appCheckpointEveryOps operations: our snapshot, voted when this node is a replica. */
  private vote(index: number): void {
    const snapshot = this.checkedSnapshot();
    if (!snapshot.ok) {
      const error = new InvalidArgumentError('consensus: machine', `snapshot() after operation ${index}: ${snapshot.error}`);
      this.emit('error', { index, error });
      void this.backend.command('consensus-report', this.name, 'bad-snapshot').catch(() => {});
      return;
    }
    this.own.set(index, snapshot.text);
    if (this.own.size > ownSnapshotsKept) this.own.delete(this.own.keys().next().value as number);
    this.counts.votes++;
    void this.backend.command('consensus-vote', this.name, index, JSON.parse(snapshot.text)).catch(() => {});
  }

  private checkedSnapshot(): { ok: true; text: string } | { ok: false; error: string } {
    let value: unknown;
    try {
      value = this.machine.snapshot();
    } catch (error) {
      return { ok: false, error: `it threw: ${asError(error).message}` };
    }
    const problem = value === undefined ? 'it returned undefined' : checkJson(value, maxAppSnapshotBytes);
    if (problem !== null) return { ok: false, error: `not plain JSON within ${maxAppSnapshotBytes} bytes (${problem})` };
    const text = canonicalJson(value as JsonValue);
    if (utf8Length(text) > maxAppSnapshotBytes) return { ok: false, error: `larger than ${maxAppSnapshotBytes} bytes of JSON` };
    return { ok: true, text };
  }

  // ── proposals waiting for their result ──

  private awaitResult(index: number, genesis: string | null, settle: (outcome: Outcome) => void): void {
    if (this.closed) return settle({ ok: false, error: new ConsensusError('closed', `the machine ${this.name} was closed`) });
    if (genesis === this.genesis && index <= this.appliedIndex) return settle(this.results.get(index) ?? unavailable(index));
    const list = this.waiting.get(index) ?? [];
    list.push({ genesis, settle });
    this.waiting.set(index, list);
    // The commit may have outrun the event that carries it (or this node is catching up).
    if (genesis !== this.genesis || index > this.appliedIndex) this.enqueue(() => this.sync());
  }

  /** Settles the proposals numbered `index` under the current genesis. */
  private settleAt(index: number, outcome: Outcome): void {
    const list = this.waiting.get(index);
    if (!list) return;
    const now = list.filter((w) => w.genesis === this.genesis);
    const later = list.filter((w) => w.genesis !== this.genesis);
    if (later.length > 0) this.waiting.set(index, later);
    else this.waiting.delete(index);
    for (const w of now) w.settle(outcome);
  }

  /** Proposals at or below the restored index have no result here. */
  private settleSkipped(): void {
    for (const index of [...this.waiting.keys()]) if (index <= this.appliedIndex) this.settleAt(index, this.results.get(index) ?? unavailable(index));
  }

  /** Fails the waiting proposals, all of them or (with `keep`) those not numbered under genesis `keep`. */
  private failWaiting(error: TabmeshError, keep?: string | null): void {
    for (const [index, list] of [...this.waiting]) {
      const stay = list.filter((w) => keep !== undefined && w.genesis === keep);
      if (stay.length > 0) this.waiting.set(index, stay);
      else this.waiting.delete(index);
      for (const w of list) if (!stay.includes(w)) w.settle({ ok: false, error });
    }
  }

  private reportDivergence(index: number, local: boolean, variants: number): void {
    const key = local ? -index : index;
    if (this.divergedAt.has(key)) return;
    this.divergedAt.add(key);
    if (this.divergedAt.size > resultsKept) this.divergedAt.delete(this.divergedAt.values().next().value as number);
    this.counts.divergences++;
    if (local) void this.backend.command('consensus-report', this.name, 'diverged').catch(() => {});
    this.emit('diverged', { index, local, variants });
  }

  private emit<E extends keyof ConsensusEvents<Op, Result>>(event: E, payload: ConsensusEvents<Op, Result>[E]): void {
    this.listeners.emit(event, ...([payload] as EventArgs<Op, Result>[E]));
  }
}

const unavailable = (index: number): Outcome => ({
  ok: false,
  error: new ConsensusError('result-unavailable', `operation ${index} committed, but this node restored a snapshot past it, so it has no result for it`),
});

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * A node command's refusal as a typed error (codes from src/worker/services/pbft-apps.ts); the
 * API's own errors (RoomClosedError after leave) pass as they are.
 */
function toApiError(error: unknown): TabmeshError {
  if (error instanceof TabmeshError) return error;
  const e = asError(error);
  const code = (e as { code?: unknown }).code;
  if (code === 'bad-op' || code === 'bad-name') return new InvalidArgumentError('propose: op', e.message);
  return new ConsensusError(code === 'refused' || code === 'closed' ? code : 'not-committed', e.message, { cause: error });
}
