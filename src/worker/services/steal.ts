// Work stealing in a node (a tab's protocol worker, or the Node peer): the stealing core wired to
// the compute pool, the node's store, its links and gossip's failure detector, and the job
// commands of window.tabmesh (submitJob, jobResult, cancelJob, jobTiles).
//
// - `run` effects go to the pool; their outcomes come back as `task-finished` through the
//   runtime's dispatch (ctx.reenter, steal-runner.ts), like a signature.
// - the effect driver (effect-driver.ts) writes `persist` effects before the messages after them leave.
// - `send` effects and load adverts go through `deliver`, the one function that puts a steal
//   frame on the wire: over direct links for now (in rooms of ≤ 6 tabs every node links to every
//   other); mesh routing (`ctx.route`, with the topology issue) replaces it there.
// - gossip's member-status events become `member-dead` / `member-alive`.
// Only ServiceContext and injected pieces are used (no DOM), so the Node peer runs it as it is
// with a worker_threads pool.
import { createKindRegistry, digestResult, type KindRegistry } from '../../compute/kernels/index.ts';
import {
  createStealCore,
  decodePersistedJobs,
  stealKeyPrefix,
  type StealAction,
  type StealConfig,
  type StealCore,
  type StealEffect,
  type StealInput,
  type StealMsg,
  type StealView,
} from '../../core/steal/index.ts';
import type { JsonValue } from '../../core/steal/json.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { EffectDriver } from '../effect-driver.ts';
import { GroupCommit } from '../group-commit.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';
import type { TimerHandle } from '../clock.ts';
import { setAside } from '../../store/set-aside.ts';
import { defaultComputePool, type ComputePoolFactory, type ComputePoolLike } from './steal-pool.ts';
import { AcceptedResults, maxTilesPerCall, type TilesPage } from './steal-results.ts';
import { TaskRunner } from './steal-runner.ts';
import { computeSnapshot, jobsSnapshot, type ServiceRefusals } from './steal-snapshot.ts';
import { decodeJobRequest } from './steal-submit.ts';
import { AppKernels } from './steal-app-kernels.ts';
import { submitAppJob } from './steal-app-submit.ts';
import { CommandError } from '../command-error.ts';
import { StealTrace } from '../../core/steal/trace.ts';

export interface StealServiceOptions {
  /** The compute pool, made at start (default: kernel Web Workers where `Worker` exists, else none). */
  createPool?: ComputePoolFactory;
  /** Task kinds (default: the four built-ins). Kernel workers must know the same kinds. */
  registry?: KindRegistry;
  config?: Partial<StealConfig>;
}

/** Distinct refusal reasons this service counts itself (beyond the core's); later ones are lumped. */
const maxRefusalReasons = 32;
/** Longest job id accepted in a command (the core's own limit). */
const maxJobIdChars = 200;

export class StealService implements Service {
  readonly protocol = 'steal' as const;
  /** The work this node really handed over (grants, sheds, results), bounded, for the demo view. */
  readonly trace = new StealTrace();
  private ctx!: ServiceContext;
  private core!: StealCore;
  private driver!: EffectDriver<StealMsg, StealAction>;
  private runner!: TaskRunner;
  private pool: ComputePoolLike | null = null;
  private poolError: string | null = null;
  private readonly registry: KindRegistry;
  /** The app's own kernels (run by the app; see steal-app-kernels.ts). */
  private app!: AppKernels;
  private readonly results = new AcceptedResults();
  private readonly refusals: ServiceRefusals = { counts: {}, last: null };
  private cachedView: StealView | null = null;
  private lastAdvert: Extract<StealEffect, { type: 'advertise' }>['advert'] | null = null;
  /** Frames that had no direct link and went over the mesh. */
  private routed = 0;
  /** The wake-up time the runtime last read from nextWakeAt(). */
  private runtimeWakeAt: Millis | undefined;
  /** Own timer for wake-ups that steps outside a runtime call move earlier (see wakeSoonerIfNeeded). */
  private ownWake: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly options: StealServiceOptions = {}) {
    this.registry = options.registry ?? createKindRegistry();
  }

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.driver = new EffectDriver(
      new GroupCommit(ctx.storage, { now: () => ctx.now(), failed: (error) => ctx.reject(`storage write failed: ${String(error)}`) }),
      {
        send: (to, msg) => this.deliver(to, msg),
        event: (action) => this.carryOut(action),
        reenter: (fn) => ctx.reenter(fn),
        failed: (what, error) => ctx.reject(`${what} failed: ${String(error).slice(0, 120)}`),
      },
    );
    const keys = await ctx.storage.keys(stealKeyPrefix);
    const entries: Array<[string, unknown]> = [];
    for (const key of keys) entries.push([key, await ctx.storage.get(key)]);
    const restored = decodePersistedJobs(entries);
    const stored = new Map(entries);
    for (const skipped of restored.skipped) {
      this.refuse('damaged-record', `${skipped.key.slice(0, 120)}: ${skipped.reason}`, null);
      // Set aside (src/store/set-aside.ts) so it is reported once and the job starts clean.
      if (stored.get(skipped.key) !== undefined) await setAside(ctx.storage, skipped.key, stored.get(skipped.key), skipped.reason, ctx.now());
    }
    try {
      this.pool = (this.options.createPool ?? defaultComputePool)();
      if (!this.pool) this.poolError = 'no compute pool on this node: it hands its tasks out but computes none';
    } catch (error) {
      this.poolError = `the compute pool could not start: ${error instanceof Error ? error.message : String(error)}`;
    }
    this.app = new AppKernels({
      publish: ctx.publishEvent ? (name, payload) => ctx.publishEvent?.(name, payload) : null,
      isBuiltin: (kind) => this.registry.has(kind),
      clock: () => ctx.now(),
      timers: ctx.timers,
      changed: () => {
        this.stepOutside({ type: 'set-kinds', kinds: this.kindNames() });
        this.stepOutside({ type: 'set-workers', count: this.runner.capacity });
      },
      refuse: (reason, detail) => this.refuse(reason, detail, null),
    });
    this.runner = new TaskRunner({
      pool: this.pool,
      app: this.app,
      budgetMs: (kind) => this.registry.get(kind)?.maxRunMs ?? this.app.spec(kind)?.timeoutMs ?? 60_000,
      check: (kind, params) => {
        const checked = this.registry.get(kind)?.validateTaskParams(params) ?? { ok: false, error: `unknown task kind "${kind.slice(0, 40)}"` };
        if (checked.ok) return null;
        this.refuse('bad-task-params', `${kind.slice(0, 40)} task parameters: ${checked.error}`, null);
        return checked.error;
      },
      // A kernel's outcome comes back through the runtime's dispatch, which re-reads nextWakeAt after.
      reenter: (fn) => ctx.reenter(fn),
      finished: (key, outcome) => this.step({ type: 'task-finished', key, outcome }),
      capacityChanged: (count) => this.stepOutside({ type: 'set-workers', count }),
    });
    this.core = createStealCore({
      self: ctx.self,
      rng: ctx.rng,
      now: ctx.now(),
      kinds: this.kindNames(),
      digest: digestResult,
      // An app kind's results are JSON within the core's limit (and the kernel's own, when this
      // node registered it); the app checks their shape with its own validator.
      resultLimitBytes: (kind) => this.registry.get(kind)?.maxResultBytes ?? this.app.spec(kind)?.maxOutputBytes ?? Number.MAX_SAFE_INTEGER,
      checkResult: (kind, result, params) => {
        if (!this.registry.has(kind)) return null;
        const checked = this.registry.checkResult(kind, result, params);
        return checked.ok ? null : checked.error;
      },
      workers: this.runner.capacity,
      restored: restored.jobs,
      ...(this.options.config ? { config: this.options.config } : {}),
    });
    this.results.restore(restored.jobs);
  }

  receive(from: NodeId, message: unknown): void {
    this.step({ type: 'message', from, msg: message });
  }

  /** A new link: tell the peer our load at once, so it can steal from us (or shed to us) now. */
  linkUp(peer: NodeId): void {
    if (this.lastAdvert) this.deliver(peer, { type: 'load', load: this.lastAdvert });
  }

  onEvent(event: ServiceEvent): void {
    if (event.type !== 'member-status' || event.peer === this.ctx.self) return;
    if (event.status === 'dead' || event.status === 'left') this.step({ type: 'member-dead', node: event.peer });
    else if (event.status === 'alive') this.step({ type: 'member-alive', node: event.peer });
  }

  tick(now: Millis): void {
    this.stepAt(now, { type: 'tick' });
  }

  nextWakeAt(): Millis | undefined {
    this.runtimeWakeAt = this.core.nextWakeAt();
    return this.runtimeWakeAt;
  }

  shutdown(): void {
    this.stopped = true;
    // Writes already asked for still land; nothing more is sent or run.
    this.driver.close();
    if (this.ownWake) this.ctx.timers.clearTimeout(this.ownWake);
    this.ownWake = null;
    this.runner.close();
    this.app.close();
  }

  readonly commands = {
    /** `submitJob({ kind, params?, chunks?, priority?, redundancy? })` → the job id. */
    submitJob: (args: unknown[]) => this.submitJob(args[0]),
    /** `jobResult(id)` → the job's assembled result (the kind's merge of every task's result). */
    jobResult: (args: unknown[]) => this.jobResult(args[0]),
    /** `cancelJob(id)` → true; the job's queued tasks are dropped and running ones stopped. */
    cancelJob: (args: unknown[]) => this.cancelJob(args[0]),
    /** `jobTiles(id, after?)` → accepted results from position `after` on, for drawing a job as it runs. */
    jobTiles: (args: unknown[]) => this.jobTiles(args[0], args[1]),
    /** `computeKinds([{ kind, maxInputBytes?, maxOutputBytes?, timeoutMs?, concurrency? }])` → the app's kinds: the app runs these kernels (src/api/compute.ts). */
    computeKinds: (args: unknown[]) => this.app.setKinds(args[0]),
    /** `computeTaskDone(key, { ok: true, output } | { ok: false, error })` → true, or false when that task had ended. */
    computeTaskDone: (args: unknown[]) => this.app.taskDone(args[0], args[1]),
    /** `computeSubmit({ kind, tasks, priority?, redundancy? })` → { id, total }: a job of an app's kind, one task per input. */
    computeSubmit: (args: unknown[]) => this.submitAppJob(args[0]),
  };

  snapshot(): Record<string, unknown> {
    const view = this.view();
    return {
      jobs: jobsSnapshot(view, this.ctx.now()),
      compute: computeSnapshot(
        view,
        { size: this.pool?.size ?? 0, stats: this.pool?.stats() ?? null, error: this.poolError },
        this.refusals,
        this.routed,
        this.app.names(),
      ),
    };
  }

  /** The core's current view (for other parts of the node, e.g. the status record). */
  view(): StealView {
    return (this.cachedView ??= this.core.view());
  }

  // ── commands ──

  private submitJob(raw: unknown): Promise<string> {
    const request = decodeJobRequest(raw);
    if (!request.ok) return Promise.reject(this.refusedCommand('bad-job-request', request.error));
    const { kind, params, chunks, priority, redundancy } = request.value;
    const prepared = this.registry.prepareJob({ kind, params, chunks });
    if (!prepared.ok) return Promise.reject(this.refusedCommand('bad-job-request', prepared.error));
    const job = prepared.value;
    const effects = this.step({
      type: 'submit',
      job: { kind: job.kind, params: job.params as JsonValue, tasks: job.tasks, costs: job.costs, priority, redundancy },
    });
    for (const effect of effects) {
      if (effect.type !== 'event') continue;
      if (effect.event.kind === 'job-refused') return Promise.reject(new Error(effect.event.reason));
      if (effect.event.kind === 'job-submitted') {
        const jobId = effect.event.jobId;
        this.results.open(jobId, job.kind, job.params as JsonValue);
        // Resolve once the job is in the store: a reload after this keeps it.
        return this.driver.settled().then(() => jobId);
      }
    }
    return Promise.reject(new Error('the job was neither accepted nor refused (a bug: please report it)'));
  }

  private submitAppJob(raw: unknown): Promise<{ id: string; total: number }> {
    return submitAppJob(raw, {
      isBuiltin: (kind) => this.registry.has(kind),
      runners: (kind) => this.core.runnersOf(kind).length,
      submit: (job) => this.step({ type: 'submit', job }),
      accepted: (jobId, kind) => {
        this.results.open(jobId, kind, null);
        this.app.noteKind(jobId, kind);
        return this.driver.settled();
      },
      refused: (code, message) => {
        this.refuse(code, message, null);
        return new CommandError(code, message);
      },
    });
  }

  /** Kinds this node runs: the registry's and the app's. */
  private kindNames(): string[] {
    return [...this.registry.names(), ...(this.app?.names() ?? [])];
  }

  private jobResult(rawId: unknown): unknown {
    const jobId = this.jobIdArg(rawId, 'jobResult(id)');
    const job = this.view().jobs.find((j) => j.id === jobId && j.mine);
    if (!job) throw new Error(this.notHere(jobId));
    if (job.status !== 'done') {
      const state = job.status === 'failed' ? `failed: ${job.error ?? 'no reason given'}` : `${job.status} (${job.done} of ${job.total} tasks done)`;
      throw new Error(`job ${jobId} is ${state}; its result exists once it is done`);
    }
    const output = this.core.jobOutput(jobId);
    if (!output) throw new Error(`job ${jobId} is done but its results are gone (a bug: please report it)`);
    // An app's kind: its outputs in task order (the app checks them with its own validator).
    if (!this.registry.has(output.kind)) return output.results;
    const merged = this.registry.mergeResults(output.kind, output.params, output.tasks, output.results);
    if (!merged.ok) throw new Error(`job ${jobId} could not be assembled: ${merged.error}`);
    return merged.value;
  }

  private cancelJob(rawId: unknown): true {
    const jobId = this.jobIdArg(rawId, 'cancelJob(id)');
    const effects = this.step({ type: 'cancel', jobId });
    if (!effects.some((e) => e.type === 'event' && e.event.kind === 'job-cancelled')) {
      const job = this.view().jobs.find((j) => j.id === jobId && j.mine);
      throw new Error(job ? `job ${jobId} is already ${job.status}; only queued or running jobs can be cancelled` : this.notHere(jobId));
    }
    return true;
  }

  private jobTiles(rawId: unknown, rawAfter: unknown): TilesPage {
    const jobId = this.jobIdArg(rawId, 'jobTiles(id, after)');
    if (rawAfter !== undefined && (typeof rawAfter !== 'number' || !Number.isInteger(rawAfter) || rawAfter < 0)) {
      throw this.refusedCommand('bad-command', 'jobTiles(id, after): after must be a whole number ≥ 0 (how many results you already have)');
    }
    const done = this.core.jobOutput(jobId)?.results ?? null;
    const page = this.results.page(jobId, (rawAfter as number | undefined) ?? 0, maxTilesPerCall, done);
    if (!page) throw new Error(this.notHere(jobId));
    return page;
  }

  private jobIdArg(raw: unknown, usage: string): string {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > maxJobIdChars) {
      throw this.refusedCommand('bad-command', `${usage}: id must be a job id string (from submitJob or snapshot().jobs)`);
    }
    return raw;
  }

  private notHere(jobId: string): string {
    return `no job ${jobId.slice(0, 80)} at this node: a job's result is kept at the node it was submitted to (its home), and finished jobs only until 32 newer ones have finished`;
  }

  private refusedCommand(reason: string, message: string): Error {
    this.refuse(reason, message, null);
    return new Error(message);
  }

  // ── stepping the core ──

  private step(input: StealInput): StealEffect[] {
    return this.stepAt(this.ctx.now(), input);
  }

  private stepAt(now: Millis, input: StealInput): StealEffect[] {
    if (this.stopped) return [];
    const effects = this.core.step(now, input);
    this.cachedView = null;
    this.apply(effects);
    return effects;
  }

  /**
   * A step the runtime did not call for (a worker came free, the app's kinds changed). The runtime
   * re-reads nextWakeAt() only after it calls in, so if this step moved the core's next wake-up
   * earlier than the runtime knows, the service wakes itself then.
   */
  private stepOutside(input: StealInput): void {
    this.step(input);
    this.wakeSoonerIfNeeded();
  }

  private wakeSoonerIfNeeded(): void {
    if (this.ownWake) this.ctx.timers.clearTimeout(this.ownWake);
    this.ownWake = null;
    const at = this.core.nextWakeAt();
    if (this.stopped || at === undefined || (this.runtimeWakeAt !== undefined && at >= this.runtimeWakeAt)) return;
    this.ownWake = this.ctx.timers.setTimeout(
      () => {
        this.ownWake = null;
        this.stepOutside({ type: 'tick' });
      },
      Math.max(0, at - this.ctx.now()),
    );
  }

  /** Hands the step's effects to the driver; the results view and app kernels follow them at once. */
  private apply(effects: StealEffect[]): void {
    let visible = false;
    for (const effect of effects) {
      this.results.note(effect);
      this.app.note(effect);
      // Events, runs and aborts change what the snapshot shows; sends and periodic adverts do not.
      if (effect.type === 'event' || effect.type === 'run' || effect.type === 'abort') visible = true;
    }
    void this.driver.apply(effects);
    if (visible) this.ctx.changed();
  }

  /** The stealing core's own effects, after the writes before them are durable. */
  private carryOut(effect: StealAction): void {
    if (this.stopped) return;
    switch (effect.type) {
      case 'run':
        this.runner.start(effect.key, effect.task);
        return;
      case 'abort':
        this.runner.abort(effect.key);
        return;
      case 'advertise':
        this.lastAdvert = effect.advert;
        for (const peer of this.ctx.linkedPeers()) this.deliver(peer, { type: 'load', load: effect.advert });
        return;
      case 'event':
        return;
    }
  }

  /**
   * The one way a steal frame leaves this node: over the direct link when there is one, else
   * routed over the mesh (results to a far home, requests to a victim known only from adverts),
   * signed by this node and checked on arrival.
   */
  private deliver(to: NodeId, msg: StealMsg): void {
    this.trace.sent(this.ctx.self, to, msg, this.ctx.now());
    if (this.ctx.send(to, msg)) return;
    this.routed++;
    this.ctx.sendTo(to, msg);
  }

  private refuse(reason: string, detail: string, from: NodeId | null): void {
    const counts = this.refusals.counts;
    const key = reason in counts || Object.keys(counts).length < maxRefusalReasons ? reason : 'other';
    counts[key] = (counts[key] ?? 0) + 1;
    this.refusals.last = { reason, detail, from, at: this.ctx.now() };
    this.ctx.changed();
  }
}
