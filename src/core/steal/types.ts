// What goes into the stealing core and what comes out: plain data, so the runtime in a tab and
// the simulator drive the same code.
import type { Millis, NodeId } from '../types.ts';
import type { PersistEffect, SendEffect } from '../effects.ts';
import type { JsonValue } from './json.ts';
import type { JobId, LoadAdvert, Priority, StealMsg, TaskRef, WorkItem } from './messages.ts';

/** A job as submitted at its home: already split into task parameters by the kernel registry. */
export interface JobSubmission {
  kind: string;
  /** One entry per task (from `KindRegistry.prepareJob`). */
  tasks: JsonValue[];
  /** Relative cost per task (same length as `tasks`); all 1 when absent. */
  costs?: number[];
  /** Default 'medium'. */
  priority?: Priority;
  /** Copies of each task on distinct nodes: 1 (default), or 2–3 in verified mode. */
  redundancy?: number;
  /** Chosen by the core when absent; must be unique at this home when given. */
  jobId?: string;
  /** The job's own parameters (opaque to the core; kept and persisted for the merge). */
  params?: JsonValue;
}

export type TaskOutcome = { ok: true; value: JsonValue } | { ok: false; error: string };

export type StealInput =
  /** A timer went off (the runtime wakes the core at `nextWakeAt()`; extra ticks are harmless). */
  | { type: 'tick' }
  /** Raw message from a peer (`from` authenticated by the link or route); decoded inside. */
  | { type: 'message'; from: NodeId; msg: unknown }
  /** A peer's load advert, e.g. read from gossip; decoded inside. */
  | { type: 'load-advert'; advert: unknown }
  | { type: 'submit'; job: JobSubmission }
  | { type: 'cancel'; jobId: string }
  /** A local worker finished the task started by a `run` effect with this key. */
  | { type: 'task-finished'; key: string; outcome: TaskOutcome }
  /** The task kinds this node runs now (the app registered or dropped a kernel): advertised to peers. */
  | { type: 'set-kinds'; kinds: readonly string[] }
  /** The number of local worker slots (the compute pool's size). */
  | { type: 'set-workers'; count: number }
  /** Failure detection (gossip) declared a member dead / alive again. */
  | { type: 'member-dead'; node: NodeId }
  | { type: 'member-alive'; node: NodeId }
  /** Stop giving work to and accepting results from this node (e.g. from a trusted report). */
  | { type: 'blocklist'; node: NodeId; reason: string };

/** The stealing core's own effects; sends and writes are the shared vocabulary (src/core/effects.ts). */
export type StealAction =
  /** Start this task on a free local worker; answer with `task-finished { key }`. */
  | { type: 'run'; key: string; task: WorkItem }
  /** Stop a running task if possible (its job finished or was cancelled); no answer needed. */
  | { type: 'abort'; key: string }
  /** The node's current load, for the runtime to publish (gossip) to its peers. */
  | { type: 'advertise'; advert: LoadAdvert }
  | { type: 'event'; event: StealEvent };

/** Writes (one key per effect: persistKey) go to the node's store before later sends. */
export type StealEffect = SendEffect<StealMsg> | PersistEffect | StealAction;

export type StealEvent =
  | { kind: 'job-submitted'; jobId: JobId; total: number }
  | { kind: 'job-refused'; reason: string }
  | { kind: 'job-progress'; jobId: JobId; done: number; total: number }
  | { kind: 'job-done'; jobId: JobId }
  | { kind: 'job-failed'; jobId: JobId; error: string }
  | { kind: 'job-cancelled'; jobId: JobId }
  | { kind: 'job-orphaned'; jobId: JobId; home: NodeId }
  | { kind: 'job-resumed'; jobId: JobId; home: NodeId }
  | { kind: 'task-accepted'; jobId: JobId; index: number; nodes: NodeId[] }
  | { kind: 'task-retry'; jobId: JobId; index: number; replica: number; attempt: number; reason: string; delayMs: number }
  | { kind: 'task-failed'; jobId: JobId; index: number; error: string }
  | { kind: 'wrong-result'; jobId: JobId; index: number; node: NodeId }
  | { kind: 'node-blocklisted'; node: NodeId; reason: string }
  | { kind: 'stole'; from: NodeId; count: number }
  | { kind: 'gave'; to: NodeId; count: number; how: 'steal' | 'shed' };

export type RefusalReason =
  | 'malformed-message'
  | 'malformed-advert'
  | 'unsolicited-grant'
  | 'unsolicited-return'
  | 'unknown-job'
  | 'unknown-task'
  | 'unknown-ticket'
  | 'late-result'
  | 'duplicate-result'
  | 'same-node-replica'
  | 'oversized-result'
  | 'bad-result'
  | 'blocklisted-peer'
  | 'unknown-kind'
  | 'not-home'
  | 'queue-full'
  | 'bad-submission'
  | 'unknown-run'
  | 'duplicate-task'
  | 'self-message';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'orphaned';

/** One job as the UI shows it (`snapshot().jobs`). */
export interface JobView {
  id: JobId;
  kind: string;
  home: NodeId;
  /** true when this node is the job's home (it has the progress and the results). */
  mine: boolean;
  status: JobStatus;
  priority: Priority;
  redundancy: number;
  /** Tasks accepted, and tasks in all. On other nodes: tasks computed here, and the job's size. */
  done: number;
  total: number;
  /** Tasks computed per node (for r > 1 every agreeing node counts). */
  shares: Record<string, number>;
  createdAt: Millis | null;
  finishedAt: Millis | null;
  error: string | null;
}

export interface StealCounters {
  tasksRun: number;
  tasksFailedHere: number;
  stealRequestsSent: number;
  stealsSucceeded: number;
  stealsDenied: number;
  stealTimeouts: number;
  tasksStolenIn: number;
  tasksStolenOut: number;
  shedsSent: number;
  tasksShedOut: number;
  tasksShedIn: number;
  tasksReturned: number;
  migrationsIn: number;
  migrationsOut: number;
  retries: number;
  leaseExpiries: number;
  resultsAccepted: number;
  wrongResults: number;
}

export interface PeerLoadView {
  node: NodeId;
  workers: number;
  running: number;
  queued: number;
  ageMs: number;
  /** Task kinds it advertises that it runs. */
  kinds: string[];
}

/** Read-only picture for the UI (immutable copy). */
export interface StealView {
  self: NodeId;
  /** Task kinds this node runs (and advertises). */
  kinds: string[];
  workers: number;
  running: number;
  queued: Record<Priority, number>;
  /** running ÷ workers now; the compute pool measures real utilisation over time. */
  busyFraction: number;
  advert: LoadAdvert;
  peers: PeerLoadView[];
  /** Variance of (running + queued) per worker across this node and the peers it hears from. */
  loadVariance: number;
  jobs: JobView[];
  blocklist: NodeId[];
  counters: StealCounters;
  refusals: Partial<Record<RefusalReason, number>>;
  lastRefusal: { reason: RefusalReason; detail: string; from: NodeId | null; at: Millis } | null;
}

export type { TaskRef };
