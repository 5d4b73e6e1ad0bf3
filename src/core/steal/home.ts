// The home's side of work stealing: the node where a job was submitted tracks every task of
// it to completion, wherever the task travels. For each replica of each task it knows the
// current attempt, the tickets it has issued (a result must carry one), the last holder it
// heard from and when that holder's lease runs out. It requeues lost tasks, retries failed
// ones with exponential backoff, accepts exactly one result per task (by vote when verified),
// and persists what must survive a reload.
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { persistKey } from '../effects.ts';
import type { StealConfig } from './config.ts';
import { measureJson, type JsonValue } from './json.ts';
import { asJobId, maxExcludedNodes, maxTasksPerMessage, type JobId, type Priority, type TaskRef, type WorkItem } from './messages.ts';
import { jobKey, resultKey, taskKey, type JobRecord, type RestoredJob, type TaskRecord } from './persist.ts';
import type { JobStatus, JobSubmission, JobView, RefusalReason, StealCounters, StealEffect, StealEvent, TaskOutcome } from './types.ts';
import { judge } from './verify.ts';

/** Largest job-level parameters kept with a job, in bytes of JSON. */
const maxJobParamsBytes = 16 * 1024;
/** Tickets remembered per replica; a result carrying an older one is refused as unknown. */
const maxTicketsPerReplica = 8;
/** Characters in a ticket (6 bits each). */
const ticketChars = 12;
const ticketAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type ReplicaStatus = 'out' | 'delayed' | 'done' | 'dropped';

interface Replica {
  attempt: number;
  tickets: string[];
  status: ReplicaStatus;
  /** Last node known to hold the current attempt; null after a restart until someone renews. */
  holder: NodeId | null;
  leaseUntil: Millis;
  notBefore: Millis;
  vote: { node: NodeId; digest: string } | null;
  /** The value behind `vote`, kept until the task is decided. */
  value: JsonValue | null;
  exclude: NodeId[];
}

interface Task {
  index: number;
  params: JsonValue;
  cost: number;
  status: 'pending' | 'done' | 'failed';
  replicas: Replica[];
  failures: number;
  losses: number;
  lastError: string | null;
  accepted: { digest: string; nodes: NodeId[] } | null;
  result: JsonValue | null;
}

interface Job {
  id: JobId;
  kind: string;
  params: JsonValue;
  priority: Priority;
  redundancy: number;
  createdAt: Millis;
  status: Exclude<JobStatus, 'orphaned'>;
  finishedAt: Millis | null;
  error: string | null;
  tasks: Task[];
  done: number;
  shares: Map<NodeId, number>;
}

/** What the home needs from the node it lives in. */
export interface HomeContext {
  readonly self: NodeId;
  readonly config: StealConfig;
  readonly rng: Rng;
  digest(result: JsonValue): string;
  /** Largest result for a kind, in bytes (the core's cap when the kind has none). */
  resultLimitBytes(kind: string): number;
  /** Kind-specific check of a result against its task parameters; an error text or null. */
  checkResult(kind: string, result: JsonValue, params: JsonValue): string | null;
  canRun(kind: string): boolean;
  isBlocklisted(node: NodeId): boolean;
  blocklist(node: NodeId, reason: string, effects: StealEffect[]): void;
  /** Put a task into this node's queue. */
  enqueue(item: WorkItem): void;
  /** Take every queued (not running) task of a job out of this node's queue. */
  dropQueued(match: (item: WorkItem) => boolean): void;
  /** Abort running tasks that match. */
  abortRunning(match: (item: WorkItem) => boolean, effects: StealEffect[]): void;
  queuedCount(): number;
  refuse(reason: RefusalReason, detail: string, from: NodeId | null): void;
  readonly counters: StealCounters;
}

export class HomeJobs {
  private readonly jobs = new Map<JobId, Job>();
  private submitted = 0;
  private nextLeaseCheckAt: Millis = Number.POSITIVE_INFINITY;

  constructor(private readonly ctx: HomeContext) {}

  /** Restores persisted jobs: unfinished replicas get one lease to be renewed by whoever holds them. */
  restore(now: Millis, restored: readonly RestoredJob[]): void {
    for (const r of restored) {
      const job: Job = {
        id: r.job.id,
        kind: r.job.kind,
        params: r.job.params,
        priority: r.job.priority,
        redundancy: r.job.redundancy,
        createdAt: r.job.createdAt,
        status: r.job.status,
        finishedAt: r.job.finishedAt,
        error: r.job.error,
        tasks: r.tasks.map((t, index) => restoreTask(t, index, r.results.get(index) ?? null, now, this.ctx.config.leaseMs)),
        done: 0,
        shares: new Map(),
      };
      for (const t of job.tasks) {
        if (t.status !== 'done') continue;
        job.done++;
        for (const n of t.accepted?.nodes ?? []) job.shares.set(n, (job.shares.get(n) ?? 0) + 1);
      }
      // 'running' is not written on its own (it would cost a write per job start); progress shows it.
      if (job.status === 'queued' && job.done > 0) job.status = 'running';
      this.jobs.set(job.id, job);
      this.submitted++;
    }
    this.scheduleLeaseCheck(now);
  }

  get activeCount(): number {
    let n = 0;
    for (const job of this.jobs.values()) if (isActive(job)) n++;
    return n;
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId as JobId);
  }

  submit(now: Millis, submission: JobSubmission, effects: StealEffect[]): JobId | null {
    const { config } = this.ctx;
    const refuse = (reason: string): null => {
      this.ctx.refuse('bad-submission', reason, null);
      effects.push(event({ kind: 'job-refused', reason }));
      return null;
    };
    const tasks = Array.isArray(submission.tasks) ? submission.tasks : [];
    const priority = submission.priority ?? 'medium';
    const redundancy = submission.redundancy ?? 1;
    if (typeof submission.kind !== 'string' || !this.ctx.canRun(submission.kind)) {
      return refuse(
        `unknown task kind "${String(submission.kind).slice(0, 40)}": no node runs it (not this one, nor a peer it heard from lately); register a kernel for it first`,
      );
    }
    if (tasks.length === 0 || tasks.length > 4096) return refuse(`a job needs 1–4096 tasks, got ${tasks.length}`);
    if (!['critical', 'high', 'medium', 'low'].includes(priority)) return refuse(`priority must be critical, high, medium or low`);
    if (!Number.isInteger(redundancy) || redundancy < 1 || redundancy > config.maxRedundancy) {
      return refuse(`redundancy must be a whole number from 1 to ${config.maxRedundancy}`);
    }
    const costs = submission.costs ?? tasks.map(() => 1);
    if (costs.length !== tasks.length || costs.some((c) => typeof c !== 'number' || !Number.isFinite(c) || c < 0)) {
      return refuse('costs must be one finite number ≥ 0 per task');
    }
    for (let i = 0; i < tasks.length; i++) {
      const size = measureJson(tasks[i], config.maxTaskParamsBytes);
      if (!size.ok) return refuse(`task ${i} parameters: ${size.error}`);
    }
    const jobParams = measureJson(submission.params ?? null, maxJobParamsBytes);
    if (!jobParams.ok) return refuse(`job parameters: ${jobParams.error}`);
    if (this.activeCount >= config.maxActiveJobs) return refuse(`this node already runs ${config.maxActiveJobs} jobs; wait for one to finish or cancel one`);
    if (this.ctx.queuedCount() + tasks.length * redundancy > config.maxQueuedTasks) {
      return refuse(`the queue holds at most ${config.maxQueuedTasks} tasks; submit fewer chunks or wait`);
    }
    let id: JobId;
    if (submission.jobId !== undefined) {
      if (typeof submission.jobId !== 'string' || !/^[A-Za-z0-9_.~-]{1,200}$/.test(submission.jobId)) {
        return refuse('a job id is 1–200 letters, digits or . _ ~ -');
      }
      if (this.jobs.has(submission.jobId as JobId)) return refuse(`job ${submission.jobId} already exists`);
      id = asJobId(submission.jobId);
    } else {
      do id = asJobId(`${this.ctx.self}~${now.toString(36)}~${(this.submitted++).toString(36)}`);
      while (this.jobs.has(id));
    }
    // Costs are normalised to a mean of 1 per job, so queues can compare tasks of different kinds.
    const mean = costs.reduce((a, b) => a + b, 0) / costs.length || 1;
    const job: Job = {
      id,
      kind: submission.kind,
      params: submission.params ?? null,
      priority,
      redundancy,
      createdAt: now,
      status: 'queued',
      finishedAt: null,
      error: null,
      tasks: tasks.map((params, index) => ({
        index,
        params,
        cost: (costs[index] as number) / mean,
        status: 'pending',
        replicas: [],
        failures: 0,
        losses: 0,
        lastError: null,
        accepted: null,
        result: null,
      })),
      done: 0,
      shares: new Map(),
    };
    this.jobs.set(id, job);
    effects.push(persistKey(jobKey(id), jobRecord(job)));
    for (const task of job.tasks) {
      for (let r = 0; r < redundancy; r++) task.replicas.push(this.newReplica(now, []));
      effects.push(persistKey(taskKey(id, task.index), taskRecord(task)));
    }
    effects.push(event({ kind: 'job-submitted', jobId: id, total: job.tasks.length }));
    for (const task of job.tasks) task.replicas.forEach((_, r) => this.ctx.enqueue(this.itemFor(job, task, r)));
    this.evictFinished(effects);
    return id;
  }

  cancel(now: Millis, jobId: string, effects: StealEffect[]): boolean {
    const job = this.jobs.get(jobId as JobId);
    if (!job || !isActive(job)) return false;
    this.finish(now, job, 'cancelled', null, effects);
    return true;
  }

  /** Whether a task attempt of ours is still wanted (drops stale copies from our own queue). */
  wants(item: WorkItem): boolean {
    const found = this.find(item);
    return found !== null && isActive(found.job) && found.replica.status !== 'done' && found.replica.status !== 'dropped';
  }

  /** Whether `node` already answered another copy (replica) of this task. */
  answeredOtherCopy(item: WorkItem, node: NodeId): boolean {
    const task = this.jobs.get(item.jobId as JobId)?.tasks[item.index];
    return task?.replicas.some((r, i) => i !== item.replica && r.vote?.node === node) ?? false;
  }

  /** Our own task left this node (stolen or shed): its new holder has one lease to renew. */
  noteLeft(now: Millis, item: WorkItem, to: NodeId): void {
    const found = this.find(item);
    if (!found || found.replica.attempt !== item.attempt) return;
    found.replica.holder = to;
    found.replica.leaseUntil = now + this.ctx.config.leaseMs;
    this.nextLeaseCheckAt = Math.min(this.nextLeaseCheckAt, found.replica.leaseUntil);
  }

  /** Our own task is back here (or starts here). */
  noteHere(item: WorkItem, started: boolean): void {
    const found = this.find(item);
    if (!found) return;
    if (found.replica.attempt === item.attempt) found.replica.holder = this.ctx.self;
    if (started && found.job.status === 'queued') found.job.status = 'running';
  }

  /** A holder renews its leases; refs no longer wanted come back as a cancel list. */
  renew(now: Millis, from: NodeId, refs: readonly TaskRef[], running: readonly boolean[]): { cancel: TaskRef[]; reason: 'done' | 'unknown' | 'refused' } {
    const cancel: TaskRef[] = [];
    let reason: 'done' | 'unknown' | 'refused' = 'done';
    if (this.ctx.isBlocklisted(from)) {
      this.ctx.refuse('blocklisted-peer', `lease renewal from blocklisted ${from}`, from);
      return { cancel: [...refs], reason: 'refused' };
    }
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i] as TaskRef;
      const found = this.find(ref);
      if (!found) {
        this.ctx.refuse(
          this.jobs.has(ref.jobId as JobId) ? 'unknown-ticket' : 'unknown-job',
          `lease renewal for ${ref.jobId.slice(0, 60)}#${ref.index} that this home never gave out`,
          from,
        );
        reason = 'unknown';
        cancel.push(ref);
        continue;
      }
      const { job, replica } = found;
      if (!isActive(job) || found.task.status !== 'pending' || replica.status === 'done' || replica.status === 'dropped') {
        cancel.push(ref);
        continue;
      }
      if (replica.attempt === ref.attempt) {
        replica.holder = from;
        replica.leaseUntil = now + this.ctx.config.leaseMs;
      }
      if (running[i] && job.status === 'queued') job.status = 'running';
    }
    return { cancel, reason };
  }

  /** A result (or a failure) for one of our tasks, computed by `from` (maybe this node). */
  onResult(now: Millis, from: NodeId, ref: TaskRef, outcome: TaskOutcome, effects: StealEffect[]): void {
    const job = this.jobs.get(ref.jobId as JobId);
    if (!job) return this.ctx.refuse('unknown-job', `result for job ${ref.jobId.slice(0, 60)} which this node is not home of`, from);
    const task = job.tasks[ref.index];
    const replica = task?.replicas[ref.replica];
    if (!task || !replica) return this.ctx.refuse('unknown-task', `result for task ${ref.index}.${ref.replica} that job ${job.id} does not have`, from);
    if (!replica.tickets.includes(ref.ticket))
      return this.ctx.refuse('unknown-ticket', `result for ${job.id}#${ref.index} with a ticket this home never gave out`, from);
    if (this.ctx.isBlocklisted(from)) return this.ctx.refuse('blocklisted-peer', `result from blocklisted ${from} ignored`, from);
    if (!isActive(job)) return this.ctx.refuse('late-result', `result for ${job.status} job ${job.id}`, from);
    if (task.status !== 'pending' || replica.status === 'done' || replica.status === 'dropped') {
      return this.ctx.refuse('duplicate-result', `task ${job.id}#${ref.index} already has its result`, from);
    }
    if (task.replicas.some((r) => r !== replica && r.vote?.node === from)) {
      this.ctx.refuse('same-node-replica', `${from} already answered another copy of ${job.id}#${ref.index}; copies must run on distinct nodes`, from);
      this.requeue(now, job, task, ref.replica, [from], 0, 'computed by a node that ran another copy', effects);
      return;
    }
    if (job.status === 'queued') job.status = 'running';
    if (!outcome.ok) return this.failAttempt(now, job, task, ref.replica, from, outcome.error, effects);
    const limit = Math.min(this.ctx.config.maxResultBytes, this.ctx.resultLimitBytes(job.kind));
    const size = measureJson(outcome.value, limit);
    if (!size.ok) {
      this.ctx.refuse('oversized-result', `result for ${job.id}#${ref.index} from ${from}: ${size.error} (limit ${limit} bytes)`, from);
      return this.failAttempt(now, job, task, ref.replica, from, `result refused: ${size.error}`, effects);
    }
    const problem = this.ctx.checkResult(job.kind, outcome.value, task.params);
    if (problem !== null) {
      this.ctx.refuse('bad-result', `result for ${job.id}#${ref.index} from ${from}: ${problem}`, from);
      return this.failAttempt(now, job, task, ref.replica, from, `result refused: ${problem}`, effects);
    }
    replica.status = 'done';
    replica.vote = { node: from, digest: this.ctx.digest(outcome.value) };
    replica.value = outcome.value;
    this.decide(now, job, task, effects);
  }

  /** Every replica held by `node` goes back in the queue now (it died, or was blocklisted). */
  releaseHolder(now: Millis, node: NodeId, why: string, effects: StealEffect[]): void {
    for (const job of this.jobs.values()) {
      if (!isActive(job)) continue;
      for (const task of job.tasks) {
        if (task.status !== 'pending') continue;
        task.replicas.forEach((replica, r) => {
          if (replica.status === 'out' && replica.holder === node) this.loseHolder(now, job, task, r, why, effects);
        });
      }
    }
  }

  /** A node is no longer trusted: its answers to tasks still undecided are thrown away and those copies run again elsewhere. */
  distrust(now: Millis, node: NodeId, effects: StealEffect[]): void {
    for (const job of this.jobs.values()) {
      if (!isActive(job)) continue;
      for (const task of job.tasks) {
        if (task.status !== 'pending') continue;
        task.replicas.forEach((replica, r) => {
          if (replica.status === 'done' && replica.vote?.node === node)
            this.requeue(now, job, task, r, [node], 0, `its answer came from ${node}, now blocklisted`, effects);
        });
      }
    }
  }

  /** Requeues replicas whose holder's lease ran out; promotes retries whose backoff is over. */
  tick(now: Millis, effects: StealEffect[]): void {
    if (now < this.nextLeaseCheckAt) return;
    for (const job of this.jobs.values()) {
      if (!isActive(job)) continue;
      for (const task of job.tasks) {
        if (task.status !== 'pending') continue;
        task.replicas.forEach((replica, r) => {
          if (job.status === 'failed' || task.status !== 'pending') return;
          if (replica.status === 'delayed' && replica.notBefore <= now) {
            replica.status = 'out';
            replica.holder = this.ctx.self;
            this.ctx.enqueue(this.itemFor(job, task, r));
          } else if (replica.status === 'out' && replica.holder !== this.ctx.self && replica.leaseUntil <= now) {
            this.ctx.counters.leaseExpiries++;
            this.loseHolder(
              now,
              job,
              task,
              r,
              replica.holder === null ? 'no holder renewed it after a restart' : `the lease of ${replica.holder} ran out`,
              effects,
            );
          }
        });
      }
    }
    this.scheduleLeaseCheck(now);
  }

  nextWakeAt(): Millis | undefined {
    return Number.isFinite(this.nextLeaseCheckAt) ? this.nextLeaseCheckAt : undefined;
  }

  results(jobId: string): JsonValue[] | null {
    const job = this.jobs.get(jobId as JobId);
    if (!job || job.status !== 'done') return null;
    return job.tasks.map((t) => t.result as JsonValue);
  }

  /** The job's parameters (as submitted) and each task's, or null for an unknown job. */
  inputs(jobId: string): { params: JsonValue; tasks: JsonValue[] } | null {
    const job = this.jobs.get(jobId as JobId);
    return job ? { params: job.params, tasks: job.tasks.map((t) => t.params) } : null;
  }

  views(): JobView[] {
    return [...this.jobs.values()].map((job) => ({
      id: job.id,
      kind: job.kind,
      home: this.ctx.self,
      mine: true,
      status: job.status,
      priority: job.priority,
      redundancy: job.redundancy,
      done: job.done,
      total: job.tasks.length,
      shares: Object.fromEntries(job.shares),
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
      error: job.error,
    }));
  }

  // ── internals ────────────────────────────────────────────────────────────

  private decide(now: Millis, job: Job, task: Task, effects: StealEffect[]): void {
    const votes = task.replicas.flatMap((r) => (r.vote ? [r.vote] : []));
    const outstanding = task.replicas.filter((r) => r.status === 'out' || r.status === 'delayed').length;
    const maxReplicas = job.redundancy + (job.redundancy > 1 ? this.ctx.config.maxExtraReplicas : 0);
    const verdict = judge(votes, job.redundancy, outstanding, task.replicas.length, maxReplicas);
    if (verdict.kind === 'wait') {
      effects.push(persistKey(taskKey(job.id, task.index), taskRecord(task)));
      return;
    }
    if (verdict.kind === 'spawn') {
      const exclude = votes.map((v) => v.node);
      for (let i = 0; i < verdict.count; i++) {
        task.replicas.push(this.newReplica(now, exclude));
        this.ctx.enqueue(this.itemFor(job, task, task.replicas.length - 1));
      }
      effects.push(persistKey(taskKey(job.id, task.index), taskRecord(task)));
      return;
    }
    if (verdict.kind === 'fail') return this.failTask(now, job, task, verdict.reason, effects);

    // The result that completed the vote has its value; restored votes may not.
    const winner = task.replicas.find((r) => r.vote?.digest === verdict.digest && r.value !== null) as Replica;
    task.status = 'done';
    task.result = winner.value;
    task.accepted = { digest: verdict.digest, nodes: verdict.agreeing };
    for (const r of task.replicas) {
      r.value = null;
      if (r.status === 'out' || r.status === 'delayed') r.status = 'dropped';
    }
    job.done++;
    for (const node of verdict.agreeing) job.shares.set(node, (job.shares.get(node) ?? 0) + 1);
    this.ctx.counters.resultsAccepted++;
    this.ctx.dropQueued((item) => item.jobId === job.id && item.index === task.index);
    effects.push(persistKey(resultKey(job.id, task.index), task.result));
    effects.push(persistKey(taskKey(job.id, task.index), taskRecord(task)));
    effects.push(event({ kind: 'task-accepted', jobId: job.id, index: task.index, nodes: verdict.agreeing }));
    for (const node of verdict.wrong) {
      this.ctx.counters.wrongResults++;
      effects.push(event({ kind: 'wrong-result', jobId: job.id, index: task.index, node }));
      this.ctx.blocklist(node, `returned a wrong result for ${job.id}#${task.index}`, effects);
    }
    effects.push(event({ kind: 'job-progress', jobId: job.id, done: job.done, total: job.tasks.length }));
    if (job.done === job.tasks.length) this.finish(now, job, 'done', null, effects);
  }

  private failAttempt(now: Millis, job: Job, task: Task, r: number, from: NodeId, error: string, effects: StealEffect[]): void {
    task.failures++;
    task.lastError = `${error} (on ${from})`;
    if (task.failures >= this.ctx.config.maxAttempts) {
      return this.failTask(now, job, task, `task ${task.index} failed ${task.failures} times; last error: ${task.lastError}`, effects);
    }
    const { retryBaseMs, retryMaxMs } = this.ctx.config;
    const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (task.failures - 1));
    this.requeue(now, job, task, r, [], delay, error, effects);
  }

  private loseHolder(now: Millis, job: Job, task: Task, r: number, why: string, effects: StealEffect[]): void {
    task.losses++;
    if (task.losses > this.ctx.config.maxLeaseLosses) {
      return this.failTask(now, job, task, `task ${task.index} lost its holder ${task.losses} times (last: ${why})`, effects);
    }
    this.requeue(now, job, task, r, [], 0, why, effects);
  }

  /** A new attempt of replica `r`: a new ticket, queued here now or after `delayMs`. */
  private requeue(now: Millis, job: Job, task: Task, r: number, alsoExclude: NodeId[], delayMs: number, reason: string, effects: StealEffect[]): void {
    const replica = task.replicas[r] as Replica;
    replica.attempt++;
    replica.tickets.push(this.ticket());
    if (replica.tickets.length > maxTicketsPerReplica) replica.tickets.shift();
    replica.vote = null;
    replica.value = null;
    const others = task.replicas.flatMap((x) => (x !== replica && x.vote ? [x.vote.node] : []));
    replica.exclude = unique([...others, ...alsoExclude, ...replica.exclude]).slice(0, maxExcludedNodes);
    this.ctx.counters.retries++;
    effects.push(event({ kind: 'task-retry', jobId: job.id, index: task.index, replica: r, attempt: replica.attempt, reason, delayMs }));
    if (delayMs > 0) {
      replica.status = 'delayed';
      replica.holder = null;
      replica.notBefore = now + delayMs;
      this.nextLeaseCheckAt = Math.min(this.nextLeaseCheckAt, replica.notBefore);
    } else {
      replica.status = 'out';
      replica.holder = this.ctx.self;
      this.ctx.enqueue(this.itemFor(job, task, r));
    }
    effects.push(persistKey(taskKey(job.id, task.index), taskRecord(task)));
  }

  private failTask(now: Millis, job: Job, task: Task, error: string, effects: StealEffect[]): void {
    task.status = 'failed';
    task.lastError = error;
    for (const r of task.replicas) if (r.status === 'out' || r.status === 'delayed') r.status = 'dropped';
    effects.push(persistKey(taskKey(job.id, task.index), taskRecord(task)));
    effects.push(event({ kind: 'task-failed', jobId: job.id, index: task.index, error }));
    this.finish(now, job, 'failed', error, effects);
  }

  private finish(now: Millis, job: Job, status: 'done' | 'failed' | 'cancelled', error: string | null, effects: StealEffect[]): void {
    job.status = status;
    job.error = error;
    job.finishedAt = now;
    const ofJob = (item: WorkItem) => item.jobId === job.id;
    this.ctx.dropQueued(ofJob);
    if (status !== 'done') {
      this.ctx.abortRunning(ofJob, effects);
      // Holders hear at once rather than at their next renewal, so no queued copy starts meanwhile.
      for (const [holder, refs] of holdersOf(job, this.ctx.self))
        effects.push({ type: 'send', to: holder, msg: { type: 'lease-cancel', refs, reason: 'cancelled' } });
    }
    effects.push(persistKey(jobKey(job.id), jobRecord(job)));
    effects.push(
      event(
        status === 'done'
          ? { kind: 'job-done', jobId: job.id }
          : status === 'failed'
            ? { kind: 'job-failed', jobId: job.id, error: error ?? 'failed' }
            : { kind: 'job-cancelled', jobId: job.id },
      ),
    );
    this.evictFinished(effects);
  }

  /** Keeps at most `maxFinishedJobs` finished jobs (oldest finished go, with their records). */
  private evictFinished(effects: StealEffect[]): void {
    const finished = [...this.jobs.values()].filter((j) => !isActive(j)).sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const job of finished.slice(0, Math.max(0, finished.length - this.ctx.config.maxFinishedJobs))) {
      this.jobs.delete(job.id);
      effects.push(persistKey(jobKey(job.id), null));
      for (const t of job.tasks) {
        effects.push(persistKey(taskKey(job.id, t.index), null));
        effects.push(persistKey(resultKey(job.id, t.index), null));
      }
    }
  }

  private newReplica(now: Millis, exclude: NodeId[]): Replica {
    return {
      attempt: 1,
      tickets: [this.ticket()],
      status: 'out',
      holder: this.ctx.self,
      leaseUntil: now,
      notBefore: now,
      vote: null,
      value: null,
      exclude: unique(exclude).slice(0, maxExcludedNodes),
    };
  }

  private itemFor(job: Job, task: Task, r: number): WorkItem {
    const replica = task.replicas[r] as Replica;
    return {
      jobId: job.id,
      index: task.index,
      total: job.tasks.length,
      home: this.ctx.self,
      kind: job.kind,
      priority: job.priority,
      params: task.params,
      cost: task.cost,
      replica: r,
      attempt: replica.attempt,
      ticket: replica.tickets[replica.tickets.length - 1] as string,
      exclude: replica.exclude,
      hops: 0,
    };
  }

  private find(ref: TaskRef): { job: Job; task: Task; replica: Replica } | null {
    const job = this.jobs.get(ref.jobId as JobId);
    const task = job?.tasks[ref.index];
    const replica = task?.replicas[ref.replica];
    if (!job || !task || !replica || !replica.tickets.includes(ref.ticket)) return null;
    return { job, task, replica };
  }

  private ticket(): string {
    let out = '';
    for (let i = 0; i < ticketChars; i++) out += ticketAlphabet[this.ctx.rng.int(64)];
    return out;
  }

  /** The next time a lease may run out or a retry is due (checked no more than once per interval). */
  private scheduleLeaseCheck(now: Millis): void {
    let next = Number.POSITIVE_INFINITY;
    for (const job of this.jobs.values()) {
      if (!isActive(job)) continue;
      for (const task of job.tasks) {
        if (task.status !== 'pending') continue;
        for (const r of task.replicas) {
          if (r.status === 'delayed') next = Math.min(next, r.notBefore);
          else if (r.status === 'out' && r.holder !== this.ctx.self) next = Math.min(next, Math.max(r.leaseUntil, now + this.ctx.config.leaseCheckIntervalMs));
        }
      }
    }
    this.nextLeaseCheckAt = next;
  }
}

/** The current attempt of every replica still out at another node, by holder (at most one message's worth each). */
function holdersOf(job: Job, self: NodeId): Map<NodeId, TaskRef[]> {
  const byHolder = new Map<NodeId, TaskRef[]>();
  for (const task of job.tasks) {
    task.replicas.forEach((replica, r) => {
      if (replica.holder === null || replica.holder === self || (replica.status !== 'out' && replica.status !== 'dropped')) return;
      const refs = byHolder.get(replica.holder) ?? [];
      if (refs.length < maxTasksPerMessage)
        refs.push({ jobId: job.id, index: task.index, replica: r, attempt: replica.attempt, ticket: replica.tickets[replica.tickets.length - 1] as string });
      byHolder.set(replica.holder, refs);
    });
  }
  return byHolder;
}

function isActive(job: Job): boolean {
  return job.status === 'queued' || job.status === 'running';
}

function event(e: StealEvent): StealEffect {
  return { type: 'event', event: e };
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function jobRecord(job: Job): JsonValue {
  const record: JobRecord = {
    v: 1,
    id: job.id,
    kind: job.kind,
    params: job.params,
    priority: job.priority,
    redundancy: job.redundancy,
    total: job.tasks.length,
    createdAt: job.createdAt,
    status: job.status,
    finishedAt: job.finishedAt,
    error: job.error,
  };
  return record as unknown as JsonValue;
}

function taskRecord(task: Task): JsonValue {
  const record: TaskRecord = {
    v: 1,
    params: task.params,
    cost: task.cost,
    status: task.status,
    failures: task.failures,
    losses: task.losses,
    lastError: task.lastError,
    replicas: task.replicas.map((r) => ({ attempt: r.attempt, tickets: [...r.tickets], status: r.status, vote: r.vote, exclude: [...r.exclude] })),
    accepted: task.accepted,
  };
  return record as unknown as JsonValue;
}

function restoreTask(t: TaskRecord, index: number, result: JsonValue | null, now: Millis, leaseMs: number): Task {
  return {
    index,
    params: t.params,
    cost: t.cost,
    status: t.status,
    failures: t.failures,
    losses: t.losses,
    lastError: t.lastError,
    accepted: t.accepted,
    result: t.status === 'done' ? result : null,
    replicas: t.replicas.map((r) => ({
      attempt: r.attempt,
      tickets: [...r.tickets],
      status: r.status,
      // Whoever held it before the restart has one lease to say so; a retry waiting out its
      // backoff is simply due now.
      holder: null,
      leaseUntil: now + leaseMs,
      notBefore: now,
      vote: r.vote,
      value: null,
      exclude: [...r.exclude],
    })),
  };
}
