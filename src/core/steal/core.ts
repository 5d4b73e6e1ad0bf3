// The work-stealing core of one node: a pure state machine, `step(now, input) → effects`.
//
// A node queues tasks by priority and runs them on its local worker slots (the compute pool
// tells it how many). When a worker is idle, or its small buffer (`stealLowWaterPerWorker`)
// runs low, it steals: it picks a victim at random, weighted by the work peers advertise, and
// asks (Blumofe & Leiserson's randomized work stealing). The victim gives half of its queue
// when it knows nothing else, but when it knows the mesh's load it gives the thief no more than
// brings it up to the average — when many thieves come at once, each gets a fair share instead
// of the first one half of everything — choosing tasks that would start sooner at the thief,
// long ones first (queue.ts). That cap and the packing took the makespan of heavily skewed jobs
// from 1.26–1.44× the lower bound to under 1.05× in the benchmark (bench/suites/stealing.ts).
// A node busy above `shedBusyThreshold` whose load is above the mesh's average pushes work to
// peers below it that have an idle worker (shedding). Tasks carry their metadata and attempt
// count when they move; each one's home (where its job was submitted) tracks it to completion.
//
// Driving it (the runtime in a tab, or the simulator):
//   const core = createStealCore({ self, rng, now, kinds: registry.names(), digest: digestResult });
//   effects = core.step(now, input)      // after every input: a peer message, a tick, a command
//   core.nextWakeAt()                    // when to deliver the next { type: 'tick' }
//   core.view()                          // immutable snapshot for the UI
//   core.jobOutput(jobId)                // params, task params and results of a finished job,
//                                        //   for registry.mergeResults(kind, params, tasks, results)
// Effects, in order: `persist` before `send` (write storage first), `run` a task on a local
// worker (answer with `task-finished`), `abort` one, `advertise` the load (publish via gossip),
// `event` for the UI. No timers, clock, randomness or I/O of its own.
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { resolveStealConfig, type StealConfig } from './config.ts';
import { HomeJobs } from './home.ts';
import { measureJson, type JsonValue } from './json.ts';
import {
  decodeLoadAdvert,
  decodeStealMessageWithReason,
  maxResultBytesOnWire,
  maxTasksPerMessage,
  priorities,
  refKey,
  refOf,
  type LoadAdvert,
  type Priority,
  type StealMsg,
  type TaskRef,
  type WorkItem,
} from './messages.ts';
import type { RestoredJob } from './persist.ts';
import { ForeignJobs } from './foreign.ts';
import { normaliseKinds } from './kinds.ts';
import { loadOf, PeerLoads, workOf } from './peers.ts';
import { TaskQueues } from './queue.ts';
import type { RefusalReason, StealCounters, StealEffect, StealEvent, StealInput, StealView, TaskOutcome } from './types.ts';

export interface StealCoreOptions {
  self: NodeId;
  /** Seeded randomness (victim choice, tickets, request ids). */
  rng: Rng;
  /** Start time; with the advert sequence it orders this node's adverts across restarts. */
  now: Millis;
  /** Task kinds this node can run (the kernel registry's `names()`, and the app's kernels); `set-kinds` changes them. */
  kinds: readonly string[];
  /** Digest of a result, compared across replicas in verified mode (kernels' `digestResult`). */
  digest: (result: JsonValue) => string;
  /** Largest result per kind, in bytes (the registry kind's `maxResultBytes`). */
  resultLimitBytes?: (kind: string) => number;
  /** Kind-specific check of a peer's result against its task (registry `checkResult`); error text or null. */
  checkResult?: (kind: string, result: JsonValue, params: JsonValue) => string | null;
  /** Local worker slots at start (default 1; `set-workers` changes it). */
  workers?: number;
  config?: Partial<StealConfig>;
  /** Jobs read back from the store (`decodePersistedJobs(entries).jobs`). */
  restored?: readonly RestoredJob[];
}

/** Moving less work than this (in mean tasks) is not worth a message. */
const minMoveCost = 0.5;
/** Steal requests and sheds remembered for matching late replies. */
const maxRecentRequests = 64;
/** Keys of aborted runs remembered, so their late `task-finished` is not counted as bad input. */
const maxRememberedAborts = 256;
/** Keys of finished runs remembered, so a duplicated delivery of the same attempt is dropped. */
const maxRememberedFinished = 4_096;

export function createStealCore(options: StealCoreOptions): StealCore {
  return new StealCore(options);
}

export class StealCore {
  readonly self: NodeId;
  private readonly config: StealConfig;
  private readonly rng: Rng;
  private kinds: ReadonlySet<string>;
  private kindList: string[];
  /** kindList joined, as adverts compare it (set with kindList). */
  private kindsKey: string;
  private readonly digest: (result: JsonValue) => string;
  private readonly home: HomeJobs;
  private readonly boot: Millis;

  private workers: number;
  private readonly queue = new TaskQueues();
  private readonly running = new Map<string, { item: WorkItem; startedAt: Millis }>();
  private readonly aborted = new Set<string>();
  /** Attempts this node finished lately, so a duplicated grant or shed does not run them again. */
  private readonly finished = new Set<string>();
  private readonly peers: PeerLoads;
  private readonly foreign: ForeignJobs;

  private pendingSteal: { reqId: string; victim: NodeId; sentAt: Millis } | null = null;
  private readonly recentSteals = new Map<string, NodeId>();
  private readonly recentSheds = new Map<string, NodeId>();
  private nextStealAt: Millis = 0;
  private stealWanted = false;
  private lastShedAt: Millis = Number.NEGATIVE_INFINITY;
  private shedWanted = false;
  private nextRenewAt: Millis = Number.POSITIVE_INFINITY;
  private tokens = 0;

  private advertSeq = 0;
  private lastAdvertAt: Millis = Number.NEGATIVE_INFINITY;
  /** What the last advert said of this node's load and kinds (advertShape), to tell when it changed. */
  private lastAdvertShape = { workers: -1, running: -1, queued: -1, kinds: '' };
  private now: Millis;

  private readonly counters: StealCounters = {
    tasksRun: 0,
    tasksFailedHere: 0,
    stealRequestsSent: 0,
    stealsSucceeded: 0,
    stealsDenied: 0,
    stealTimeouts: 0,
    tasksStolenIn: 0,
    tasksStolenOut: 0,
    shedsSent: 0,
    tasksShedOut: 0,
    tasksShedIn: 0,
    tasksReturned: 0,
    migrationsIn: 0,
    migrationsOut: 0,
    retries: 0,
    leaseExpiries: 0,
    resultsAccepted: 0,
    wrongResults: 0,
  };
  private readonly refusals: Partial<Record<RefusalReason, number>> = {};
  private lastRefusal: StealView['lastRefusal'] = null;

  constructor(options: StealCoreOptions) {
    this.self = options.self;
    this.config = resolveStealConfig(options.config);
    this.rng = options.rng;
    this.kindList = normaliseKinds(options.kinds);
    this.kinds = new Set(this.kindList);
    this.kindsKey = this.kindList.join(',');
    this.digest = options.digest;
    this.boot = options.now;
    this.now = options.now;
    this.workers = clampWorkers(options.workers ?? 1);
    this.peers = new PeerLoads(this.self, this.config);
    this.foreign = new ForeignJobs(this.self, this.config);
    const resultLimit = options.resultLimitBytes ?? (() => this.config.maxResultBytes);
    const checkResult = options.checkResult ?? (() => null);
    this.home = new HomeJobs({
      self: this.self,
      config: this.config,
      rng: options.rng.fork('home'),
      digest: (r) => this.digest(r),
      resultLimitBytes: resultLimit,
      checkResult,
      canRun: (kind) => this.runnersOf(kind).length > 0,
      isBlocklisted: (node) => this.peers.isBlocked(node),
      blocklist: (node, reason, effects) => this.blocklistNode(this.now, node, reason, effects),
      enqueue: (item) => this.enqueue(item),
      dropQueued: (match) => void this.queue.removeWhere(match),
      abortRunning: (match, effects) => this.abortWhere(match, effects),
      queuedCount: () => this.queue.size,
      refuse: (reason, detail, from) => this.refuse(reason, detail, from),
      counters: this.counters,
    });
    if (options.restored) this.home.restore(options.now, options.restored);
  }

  /** Feeds one input; returns what the runtime must do, in order. */
  step(now: Millis, input: StealInput): StealEffect[] {
    this.now = now;
    const effects: StealEffect[] = [];
    switch (input.type) {
      case 'tick':
        break;
      case 'message':
        this.onMessage(now, input.from, input.msg, effects);
        break;
      case 'load-advert': {
        const advert = decodeLoadAdvert(input.advert);
        if (advert) this.noteAdvert(now, advert);
        else this.refuse('malformed-advert', 'load advert did not decode', null);
        break;
      }
      case 'submit':
        this.home.submit(now, input.job, effects);
        break;
      case 'cancel':
        if (!this.home.cancel(now, input.jobId, effects))
          this.refuse('unknown-job', `cannot cancel ${String(input.jobId).slice(0, 60)}: not an active job of this node`, null);
        break;
      case 'task-finished':
        this.onTaskFinished(now, input.key, input.outcome, effects);
        break;
      case 'set-workers':
        this.workers = clampWorkers(input.count);
        break;
      case 'set-kinds':
        // Tasks of a kind dropped here stay queued for a thief that runs it (they are never
        // started here again: runnableHere); a running one is the runtime's to end.
        this.kindList = normaliseKinds(input.kinds);
        this.kinds = new Set(this.kindList);
        this.kindsKey = this.kindList.join(',');
        break;
      case 'member-dead':
        this.onMemberDead(now, input.node, effects);
        break;
      case 'member-alive':
        this.onMemberAlive(now, input.node, effects);
        break;
      case 'blocklist':
        this.blocklistNode(now, input.node, input.reason, effects);
        break;
    }
    this.pump(now, effects);
    return effects;
  }

  /** When the core next needs a `tick` (undefined: only when some other input arrives). */
  nextWakeAt(): Millis | undefined {
    let next = this.lastAdvertAt + this.config.advertRefreshMs;
    if (this.advertShapeChanged()) next = Math.min(next, this.lastAdvertAt + this.config.advertMinIntervalMs);
    const homeWake = this.home.nextWakeAt();
    if (homeWake !== undefined) next = Math.min(next, homeWake);
    if (this.pendingSteal) next = Math.min(next, this.pendingSteal.sentAt + this.config.stealTimeoutMs);
    else if (this.stealWanted) next = Math.min(next, this.nextStealAt);
    if (this.shedWanted) next = Math.min(next, this.lastShedAt + this.config.shedIntervalMs);
    next = Math.min(next, this.nextRenewAt);
    const sweep = this.foreign.nextWakeAt();
    if (sweep !== undefined) next = Math.min(next, sweep);
    return next === Number.POSITIVE_INFINITY ? undefined : Math.max(next, this.now);
  }

  /** Nodes that run `kind` as far as this node knows: itself, and peers whose fresh adverts say so. */
  runnersOf(kind: string): NodeId[] {
    const peers = this.peers.runnersOf(this.now, kind);
    return this.kinds.has(kind) ? [this.self, ...peers] : peers;
  }

  /**
   * A finished job of this home: its parameters as submitted, its task parameters and their
   * accepted results in task order (what `KindRegistry.mergeResults` takes), or null.
   */
  jobOutput(jobId: string): { kind: string; params: JsonValue; tasks: JsonValue[]; results: JsonValue[] } | null {
    const results = this.home.results(jobId);
    const inputs = this.home.inputs(jobId);
    const kind = this.home.views().find((j) => j.id === jobId)?.kind;
    return results && inputs && kind ? { kind, params: inputs.params, tasks: inputs.tasks, results } : null;
  }

  view(): StealView {
    const queued = Object.fromEntries(priorities.map((p) => [p, this.queue.sizeOf(p)])) as Record<Priority, number>;
    const { peers, loads } = this.peers.views(this.now);
    loads.push(loadOf(this.advert()));
    const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
    return {
      self: this.self,
      kinds: [...this.kindList],
      workers: this.workers,
      running: this.running.size,
      queued,
      busyFraction: this.workers === 0 ? 0 : this.running.size / this.workers,
      advert: this.advert(),
      peers,
      loadVariance: loads.reduce((s, l) => s + (l - mean) ** 2, 0) / loads.length,
      jobs: [...this.home.views(), ...this.foreign.views()],
      blocklist: this.peers.blocklist(),
      counters: { ...this.counters },
      refusals: { ...this.refusals },
      lastRefusal: this.lastRefusal ? { ...this.lastRefusal } : null,
    };
  }

  // ── inputs ────────────────────────────────────────────────────────────────

  private onMessage(now: Millis, from: NodeId, raw: unknown, effects: StealEffect[]): void {
    if (from === this.self) return this.refuse('self-message', 'a steal message from this node to itself', from);
    const decoded = decodeStealMessageWithReason(raw);
    if (!decoded.ok) return this.refuse('malformed-message', decoded.error, from);
    const msg = decoded.value;
    switch (msg.type) {
      case 'steal-request':
        this.noteAdvert(now, msg.load, from);
        return this.onStealRequest(now, from, msg, effects);
      case 'steal-grant':
        return this.onStealGrant(now, from, msg, effects);
      case 'steal-deny':
        return this.onStealDeny(now, from, msg);
      case 'shed':
        this.noteAdvert(now, msg.load, from);
        return this.onShed(now, from, msg, effects);
      case 'shed-return':
        return this.onShedReturn(now, from, msg);
      case 'lease-renew': {
        const { cancel, reason } = this.home.renew(now, from, msg.refs, msg.running);
        if (cancel.length > 0) effects.push({ type: 'send', to: from, msg: { type: 'lease-cancel', refs: cancel, reason } });
        return;
      }
      case 'lease-cancel':
        return this.onLeaseCancel(from, msg.refs, effects);
      case 'result':
        return this.home.onResult(now, from, msg.ref, msg.outcome, effects);
      case 'load':
        return this.noteAdvert(now, msg.load, from);
    }
  }

  private onStealRequest(now: Millis, thief: NodeId, msg: Extract<StealMsg, { type: 'steal-request' }>, effects: StealEffect[]): void {
    const deny = (reason: 'empty' | 'refused') => {
      effects.push({ type: 'send', to: thief, msg: { type: 'steal-deny', reqId: msg.reqId, reason, load: this.advert() } });
    };
    if (this.peers.isBlocked(thief)) {
      this.refuse('blocklisted-peer', `steal request from blocklisted ${thief}`, thief);
      return deny('refused');
    }
    const thiefKinds = new Set(msg.kinds);
    const stealable = (item: WorkItem) => thiefKinds.has(item.kind) && item.hops < this.config.maxHops && !item.exclude.includes(thief);
    // Which tasks: each one that would start sooner at the thief than here (list scheduling);
    // how much: no more than brings the thief to the mesh's average load, so when many thieves
    // come at once each gets its fair share instead of the first taking half of everything
    // (without adverts, steal-half). An idle thief gets at least one task.
    const thiefIdle = msg.load.workers > msg.load.running;
    const thiefHas = workOf(msg.load) + this.peers.inFlight(now, thief);
    const average = this.meshAverage(now);
    const budget = average === null ? this.queue.totalCost / 2 : average * msg.load.workers - thiefHas;
    if (!thiefIdle && budget < minMoveCost) return deny('empty');
    const taken = this.queue.takeFitting(
      stealable,
      budget,
      { lanes: msg.load.workers, work: thiefHas },
      { lanes: this.workers, work: this.runningWork() },
      {
        maxTasks: Math.min(this.config.maxStealBatch, maxTasksPerMessage),
        maxBytes: this.config.maxBatchBytes,
        sizeOf: paramsBytes,
        atLeastOne: thiefIdle,
      },
    );
    if (taken.length === 0) return deny('empty');
    const moving = taken.map((item) => this.leaving(now, item, thief));
    this.peers.noteSent(now, thief, costOf(moving));
    this.counters.tasksStolenOut += moving.length;
    this.counters.migrationsOut += moving.length;
    effects.push({ type: 'send', to: thief, msg: { type: 'steal-grant', reqId: msg.reqId, tasks: moving, load: this.advert() } });
    effects.push(event({ kind: 'gave', to: thief, count: moving.length, how: 'steal' }));
  }

  private onStealGrant(now: Millis, from: NodeId, msg: Extract<StealMsg, { type: 'steal-grant' }>, effects: StealEffect[]): void {
    const askedOf = this.recentSteals.get(msg.reqId);
    if (askedOf !== from) {
      return this.refuse('unsolicited-grant', `steal grant ${msg.reqId} from ${from} answers no request of ours; ${msg.tasks.length} tasks not taken`, from);
    }
    this.recentSteals.delete(msg.reqId);
    if (this.pendingSteal?.reqId === msg.reqId) this.pendingSteal = null;
    this.noteAdvert(now, msg.load, from);
    const arrived = msg.tasks.filter((item) => this.arrive(now, item, from));
    const accepted = arrived.length;
    this.renewNow(arrived, effects);
    this.counters.stealsSucceeded++;
    this.counters.tasksStolenIn += accepted;
    this.counters.migrationsIn += accepted;
    effects.push(event({ kind: 'stole', from, count: accepted }));
  }

  private onStealDeny(now: Millis, from: NodeId, msg: Extract<StealMsg, { type: 'steal-deny' }>): void {
    if (this.recentSteals.get(msg.reqId) !== from)
      return this.refuse('unsolicited-grant', `steal deny ${msg.reqId} from ${from} answers no request of ours`, from);
    this.recentSteals.delete(msg.reqId);
    if (this.pendingSteal?.reqId === msg.reqId) this.pendingSteal = null;
    this.counters.stealsDenied++;
    this.noteAdvert(now, msg.load, from);
    this.peers.skip(from, now + this.config.stealIdleRetryMs);
  }

  private onShed(now: Millis, from: NodeId, msg: Extract<StealMsg, { type: 'shed' }>, effects: StealEffect[]): void {
    const back: WorkItem[] = [];
    const arrived: WorkItem[] = [];
    let reason = '';
    if (this.peers.isBlocked(from)) {
      this.refuse('blocklisted-peer', `shed from blocklisted ${from}`, from);
      back.push(...msg.tasks);
      reason = 'blocklisted';
    } else {
      for (const item of msg.tasks) {
        if (!this.kinds.has(item.kind)) {
          this.refuse('unknown-kind', `shed task of kind "${item.kind}", which this node does not run`, from);
          back.push(item);
          reason = `unknown kind ${item.kind}`;
        } else if (this.queue.size >= this.config.maxQueuedTasks) {
          this.refuse('queue-full', `shed task refused: queue holds ${this.queue.size} tasks`, from);
          back.push(item);
          reason = 'queue full';
        } else if (this.arrive(now, item, from)) {
          this.counters.tasksShedIn++;
          arrived.push(item);
        }
      }
      this.renewNow(arrived, effects);
      this.counters.migrationsIn += arrived.length;
    }
    if (back.length > 0) effects.push({ type: 'send', to: from, msg: { type: 'shed-return', shedId: msg.shedId, tasks: back, reason } });
  }

  private onShedReturn(now: Millis, from: NodeId, msg: Extract<StealMsg, { type: 'shed-return' }>): void {
    if (this.recentSheds.get(msg.shedId) !== from) {
      return this.refuse('unsolicited-return', `shed-return ${msg.shedId} from ${from} matches no shed of ours; ${msg.tasks.length} tasks not taken`, from);
    }
    this.counters.tasksReturned += msg.tasks.length;
    for (const item of msg.tasks) this.arrive(now, item, from);
  }

  private onLeaseCancel(from: NodeId, refs: readonly TaskRef[], effects: StealEffect[]): void {
    for (const ref of refs) {
      const key = refKey(ref);
      const item = this.queue.get(key) ?? this.running.get(key)?.item;
      if (!item) continue;
      if (item.home !== from) {
        this.refuse('not-home', `${from} cancelled ${ref.jobId.slice(0, 60)}#${ref.index} but is not its home`, from);
        continue;
      }
      if (this.queue.remove(key) === undefined) this.abort(key, effects);
    }
  }

  private onTaskFinished(now: Millis, key: string, outcome: TaskOutcome, effects: StealEffect[]): void {
    const entry = this.running.get(key);
    if (!entry) {
      if (!this.aborted.delete(key)) this.refuse('unknown-run', `task-finished for ${key.slice(0, 80)}, which is not running here`, null);
      return;
    }
    this.running.delete(key);
    this.finished.add(key);
    if (this.finished.size > maxRememberedFinished) this.finished.delete(this.finished.values().next().value as string);
    const { item } = entry;
    let result: TaskOutcome = outcome;
    if (outcome.ok) {
      const size = measureJson(outcome.value, Math.min(this.config.maxResultBytes, maxResultBytesOnWire));
      if (!size.ok) result = { ok: false, error: `result not sent: ${size.error}` };
    }
    if (result.ok) this.counters.tasksRun++;
    else this.counters.tasksFailedHere++;
    this.foreign.noteComputed(now, item, result.ok);
    if (item.home === this.self) {
      this.home.onResult(now, this.self, refOf(item), result, effects);
      return;
    }
    const error = result.ok ? null : result.error.slice(0, 500);
    effects.push({
      type: 'send',
      to: item.home,
      msg: { type: 'result', ref: refOf(item), outcome: error === null ? { ok: true, value: (result as { value: JsonValue }).value } : { ok: false, error } },
    });
  }

  private onMemberDead(now: Millis, node: NodeId, effects: StealEffect[]): void {
    if (node === this.self) return;
    if (this.pendingSteal?.victim === node) this.pendingSteal = null;
    this.home.releaseHolder(now, node, `holder ${node} was declared dead`, effects);
    this.peers.markDead(node);
    // Its jobs are orphaned here: nobody collects their results, so their tasks wait aside.
    const queued = this.queue.removeWhere((item) => item.home === node);
    for (const e of this.foreign.orphan(now, node, queued)) effects.push(event(e));
  }

  private onMemberAlive(now: Millis, node: NodeId, effects: StealEffect[]): void {
    if (!this.peers.markAlive(node)) return;
    const { tasks, events } = this.foreign.resume(now, node);
    for (const item of tasks) this.enqueue(item);
    for (const e of events) effects.push(event(e));
  }

  private blocklistNode(now: Millis, node: NodeId, reason: string, effects: StealEffect[]): void {
    if (!this.peers.block(node)) return;
    effects.push(event({ kind: 'node-blocklisted', node, reason }));
    this.home.releaseHolder(now, node, `holder ${node} is blocklisted`, effects);
    this.home.distrust(now, node, effects);
    if (this.pendingSteal?.victim === node) this.pendingSteal = null;
  }

  // ── the scheduler ────────────────────────────────────────────────────────

  private pump(now: Millis, effects: StealEffect[]): void {
    this.home.tick(now, effects);
    this.startRunnable(now, effects);
    this.maybeRenew(now, effects);
    this.maybeSteal(now, effects);
    this.maybeShed(now, effects);
    this.maybeAdvertise(now, effects);
    this.foreign.sweep(now, (jobId) => this.queue.items().some((i) => i.jobId === jobId) || [...this.running.values()].some((r) => r.item.jobId === jobId));
  }

  private startRunnable(now: Millis, effects: StealEffect[]): void {
    while (this.running.size < this.workers) {
      const item = this.queue.takeNext(this.runnableHere);
      if (!item) return;
      const key = refKey(item);
      this.running.set(key, { item, startedAt: now });
      if (item.home === this.self) this.home.noteHere(item, true);
      effects.push({ type: 'run', key, task: item });
    }
  }

  /**
   * Can this node run this task now? Not if its home excluded this node (it answered another
   * copy of the task), not while it runs another copy itself, and — for its own jobs, where it
   * knows the votes — not if it already answered another copy. (A peer might still compute two
   * copies one after the other; the home refuses the second answer and sends that copy
   * elsewhere, which wastes one run but can never deadlock two nodes on each other.)
   */
  private readonly runnableHere = (item: WorkItem): boolean => {
    if (!this.kinds.has(item.kind) || item.exclude.includes(this.self)) return false;
    for (const { item: other } of this.running.values()) {
      if (other.jobId === item.jobId && other.index === item.index && other.replica !== item.replica) return false;
    }
    return item.home !== this.self || !this.home.answeredOtherCopy(item, this.self);
  };

  private lowWater(): number {
    return Math.ceil(this.config.stealLowWaterPerWorker * this.workers);
  }

  private maybeSteal(now: Millis, effects: StealEffect[]): void {
    if (this.pendingSteal && now >= this.pendingSteal.sentAt + this.config.stealTimeoutMs) {
      this.counters.stealTimeouts++;
      this.peers.skip(this.pendingSteal.victim, now + this.config.stealIdleRetryMs);
      this.pendingSteal = null;
    }
    const idle = this.workers - this.running.size;
    // Idle workers mean nothing runnable is queued (startRunnable just ran); otherwise top up a small buffer.
    const want = idle > 0 ? idle + this.lowWater() : this.lowWater() - this.queue.size;
    this.stealWanted = want > 0 && this.workers > 0;
    if (!this.stealWanted || this.pendingSteal || now < this.nextStealAt) return;
    const victim = this.peers.pickVictim(now, this.rng, idle > 0);
    if (!victim) {
      this.nextStealAt = now + this.config.stealIdleRetryMs;
      return;
    }
    const reqId = this.token();
    this.pendingSteal = { reqId, victim, sentAt: now };
    this.remember(this.recentSteals, reqId, victim);
    this.counters.stealRequestsSent++;
    effects.push({
      type: 'send',
      to: victim,
      msg: { type: 'steal-request', reqId, want: Math.min(maxTasksPerMessage, Math.max(1, want)), kinds: this.kindList.slice(0, 64), load: this.advert() },
    });
  }

  /**
   * A node busy above the threshold, with a backlog, whose load (running + queued cost per
   * worker) exceeds the mesh's average pushes work to peers that have an idle worker and are
   * below the average: the largest queued tasks that fit, never more than brings a target up
   * to the average (so shed work does not bounce on), to a few targets per round.
   */
  private maybeShed(now: Millis, effects: StealEffect[]): void {
    const w = this.workers;
    const busy = w === 0 ? 1 : this.running.size / w;
    const average = this.meshAverage(now);
    const mine = this.ownWork();
    const myLoad = w === 0 ? Number.POSITIVE_INFINITY : mine / w;
    this.shedWanted =
      busy >= this.config.shedBusyThreshold &&
      this.queue.size > this.config.shedBacklogPerWorker * w &&
      average !== null &&
      myLoad > average + this.config.shedLoadMargin;
    if (!this.shedWanted || average === null || now < this.lastShedAt + this.config.shedIntervalMs) return;
    // One look per interval, whether or not it finds a lighter peer.
    this.lastShedAt = now;
    let excess = mine - average * w;
    // Candidates: peers with an idle worker, below the average; chosen at random weighted by
    // their room, so several busy nodes do not all pile onto the same light one.
    const candidates = this.peers.shedCandidates(now, average, minMoveCost);
    for (let round = 0; round < this.config.maxShedTargets && candidates.length > 0 && excess >= minMoveCost; round++) {
      const totalRoom = candidates.reduce((sum, c) => sum + c.room, 0);
      let pick = this.rng.next() * totalRoom;
      let index = candidates.findIndex((c) => (pick -= c.room) < 0);
      if (index < 0) index = candidates.length - 1;
      const { node: target, room, has, lanes, kinds } = candidates.splice(index, 1)[0] as (typeof candidates)[number];
      // Work that just arrived stays a while: passing it straight on is how shed work bounces
      // around, and fresh work is what idle thieves come for anyway. Shedding is for backlogs
      // that stealing has not cleared.
      const movable = (item: WorkItem, arrivedAt: Millis) =>
        kinds.includes(item.kind) && item.hops < this.config.maxHops && !item.exclude.includes(target) && now - arrivedAt >= this.config.shedCooldownMs;
      const taken = this.queue.takeFitting(
        movable,
        Math.min(excess, room),
        { lanes, work: has },
        { lanes: w, work: this.runningWork() },
        {
          maxTasks: Math.min(this.config.maxShedBatch, maxTasksPerMessage),
          maxBytes: this.config.maxBatchBytes,
          sizeOf: paramsBytes,
          atLeastOne: false,
        },
      );
      if (taken.length === 0) continue;
      const moving = taken.map((item) => this.leaving(now, item, target));
      const movedCost = costOf(moving);
      this.peers.noteSent(now, target, movedCost);
      excess -= movedCost;
      const shedId = this.token();
      this.remember(this.recentSheds, shedId, target);
      this.counters.shedsSent++;
      this.counters.tasksShedOut += moving.length;
      this.counters.migrationsOut += moving.length;
      effects.push({ type: 'send', to: target, msg: { type: 'shed', shedId, tasks: moving, load: this.advert() } });
      effects.push(event({ kind: 'gave', to: target, count: moving.length, how: 'shed' }));
    }
  }

  /** Work per worker across this node and the peers it hears from (null when nobody has workers). */
  private meshAverage(now: Millis): number | null {
    return this.peers.average(now, { work: this.ownWork(), workers: this.workers });
  }

  private ownWork(): number {
    return this.runningWork() + this.queue.totalCost;
  }

  private runningWork(): number {
    let running = 0;
    for (const { item } of this.running.values()) running += item.cost;
    return running;
  }

  /** Holders renew the leases of other homes' tasks they hold, one message per home. */
  private maybeRenew(now: Millis, effects: StealEffect[]): void {
    if (now < this.nextRenewAt) return;
    const held = [...this.queue.items().map((item) => ({ item, running: false })), ...[...this.running.values()].map(({ item }) => ({ item, running: true }))];
    this.nextRenewAt = held.some(({ item }) => item.home !== this.self) ? now + this.config.leaseRenewIntervalMs : Number.POSITIVE_INFINITY;
    this.sendRenewals(held, effects);
  }

  /** Tells the homes of tasks that just arrived who holds them now, so a crash here is traced to them at once. */
  private renewNow(items: readonly WorkItem[], effects: StealEffect[]): void {
    this.sendRenewals(
      items.map((item) => ({ item, running: false })),
      effects,
    );
  }

  private sendRenewals(held: ReadonlyArray<{ item: WorkItem; running: boolean }>, effects: StealEffect[]): void {
    const byHome = new Map<NodeId, Array<{ ref: TaskRef; running: boolean }>>();
    for (const { item, running } of held) {
      if (item.home === this.self || this.peers.isDead(item.home as NodeId)) continue;
      const list = byHome.get(item.home as NodeId) ?? [];
      list.push({ ref: refOf(item), running });
      byHome.set(item.home as NodeId, list);
    }
    for (const [homeNode, list] of byHome) {
      for (let i = 0; i < list.length; i += maxTasksPerMessage) {
        const part = list.slice(i, i + maxTasksPerMessage);
        effects.push({ type: 'send', to: homeNode, msg: { type: 'lease-renew', refs: part.map((p) => p.ref), running: part.map((p) => p.running) } });
      }
    }
  }

  private maybeAdvertise(now: Millis, effects: StealEffect[]): void {
    const due = now >= this.lastAdvertAt + this.config.advertRefreshMs;
    const changed = now >= this.lastAdvertAt + this.config.advertMinIntervalMs && this.advertShapeChanged();
    if (!due && !changed) return;
    this.advertSeq++;
    this.lastAdvertAt = now;
    this.lastAdvertShape = { workers: this.workers, running: this.running.size, queued: this.queue.size, kinds: this.kindsKey };
    effects.push({ type: 'advertise', advert: this.advert() });
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  /** A task received from a peer (steal, shed or return); false if it was not taken. */
  private arrive(now: Millis, item: WorkItem, from: NodeId): boolean {
    const key = refKey(item);
    if (this.queue.has(key) || this.running.has(key) || this.finished.has(key)) {
      // The network delivered a grant or shed twice: the copy is not a second task.
      this.refuse('duplicate-task', `task ${key.slice(0, 80)} from ${from} is already here`, from);
      return false;
    }
    if (!this.kinds.has(item.kind)) {
      this.refuse('unknown-kind', `task of kind "${item.kind}" from ${from}, which this node does not run`, from);
      return false;
    }
    if (item.home === this.self) {
      if (!this.home.wants(item)) return false; // superseded or already answered
      this.home.noteHere(item, false);
    } else if (this.peers.isDead(item.home as NodeId)) {
      this.foreign.park([item]);
      return true;
    }
    if (this.queue.size >= this.config.maxQueuedTasks) {
      this.refuse('queue-full', `task from ${from} dropped: queue holds ${this.queue.size} tasks (its home will requeue it)`, from);
      return false;
    }
    this.enqueue(item);
    if (item.home !== this.self) this.foreign.noteTask(now, item);
    return true;
  }

  private enqueue(item: WorkItem): void {
    this.queue.push(item, this.now);
    if (item.home !== this.self && !Number.isFinite(this.nextRenewAt)) this.nextRenewAt = this.now + this.config.leaseRenewIntervalMs;
  }

  /** A task leaves for `to`: the copy that travels counts one more hop; the home learns of it. */
  private leaving(now: Millis, item: WorkItem, to: NodeId): WorkItem {
    if (item.home === this.self) this.home.noteLeft(now, item, to);
    return { ...item, hops: item.hops + 1 };
  }

  private noteAdvert(now: Millis, advert: LoadAdvert, from?: NodeId): void {
    if (from !== undefined && advert.node !== from) return this.refuse('malformed-advert', `${from} sent a load advert for ${advert.node}`, from);
    if (!this.peers.note(now, advert)) return;
    // An idle node waiting for work looks again as soon as someone advertises some.
    if (this.stealWanted && this.peers.offersWork(advert, this.workers > this.running.size)) this.nextStealAt = Math.min(this.nextStealAt, now);
  }

  private advert(): LoadAdvert {
    return {
      node: this.self,
      boot: this.boot,
      seq: this.advertSeq,
      workers: this.workers,
      running: this.running.size,
      queued: this.queue.size,
      queuedCost: Math.round(this.queue.totalCost * 1000) / 1000,
      runningCost: Math.round(this.runningWork() * 1000) / 1000,
      kinds: [...this.kindList],
    };
  }

  /** Whether the load or the kinds moved since the last advert (asked after every step, through nextWakeAt: no string built). */
  private advertShapeChanged(): boolean {
    const last = this.lastAdvertShape;
    return last.workers !== this.workers || last.running !== this.running.size || last.queued !== this.queue.size || last.kinds !== this.kindsKey;
  }

  private abortWhere(match: (item: WorkItem) => boolean, effects: StealEffect[]): void {
    for (const [key, { item }] of [...this.running]) if (match(item)) this.abort(key, effects);
  }

  private abort(key: string, effects: StealEffect[]): void {
    if (!this.running.delete(key)) return;
    this.aborted.add(key);
    if (this.aborted.size > maxRememberedAborts) this.aborted.delete(this.aborted.values().next().value as string);
    effects.push({ type: 'abort', key });
  }

  private remember(map: Map<string, NodeId>, id: string, node: NodeId): void {
    map.set(id, node);
    if (map.size > maxRecentRequests) map.delete(map.keys().next().value as string);
  }

  private token(): string {
    let out = (this.tokens++).toString(36);
    for (let i = 0; i < 6; i++) out += 'abcdefghijklmnopqrstuvwxyz0123456789'[this.rng.int(36)];
    return out.slice(0, 32);
  }

  private refuse(reason: RefusalReason, detail: string, from: NodeId | null): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    this.lastRefusal = { reason, detail, from, at: this.now };
  }
}

function event(e: StealEvent): StealEffect {
  return { type: 'event', event: e };
}

function costOf(items: readonly WorkItem[]): number {
  return items.reduce((sum, item) => sum + item.cost, 0);
}

function paramsBytes(item: WorkItem): number {
  const size = measureJson(item.params, Number.MAX_SAFE_INTEGER);
  return (size.ok ? size.bytes : 0) + 300;
}

function clampWorkers(count: number): number {
  return Number.isInteger(count) && count >= 0 ? Math.min(count, 1024) : 1;
}
