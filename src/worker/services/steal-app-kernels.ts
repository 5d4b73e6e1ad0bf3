// The app's own kernels, run by the app (the page, or the Node process that embeds the node):
// the stealing service hands such a task to the app as an app event ('compute-task') and the
// app answers with a command (computeTaskDone). No code travels over the mesh and none enters
// the worker: the worker only knows the kinds' names and limits (computeKinds), advertises them
// so peers place these tasks only here and on other nodes that registered them, and checks what
// comes back — an answer that is late, not JSON or too large fails its attempt with a reason
// (the home retries it within its budget), and a kernel that never answers is timed out.
import { measureJson, type JsonValue } from '../../core/steal/json.ts';
import type { TaskResult } from '../../compute/pool.ts';
import type { JobId, StealEffect, WorkItem } from '../../core/steal/index.ts';
import { CommandError } from '../command-error.ts';
import type { TimerHandle, Timers } from '../clock.ts';
import { decodeAppKinds, decodeTaskDone, maxAppErrorChars, type AppKindSpec } from './steal-app-messages.ts';

export interface AppKernelsOptions {
  /** Posts an app event; absent when no app listens (then the app cannot register kernels). */
  publish: ((name: string, payload: unknown) => void) | null;
  /** Kinds the node's own registry runs (the built-ins): an app kernel may not take their names. */
  isBuiltin(kind: string): boolean;
  /** Milliseconds on some clock, for a task's duration. */
  clock(): number;
  /** The node's timers (a task's timeout). */
  timers: Timers;
  /** The app's kinds or their concurrency changed: advertise them, resize the worker slots. */
  changed(): void;
  /** Counts a refused input (shown in snapshot().compute.refused). */
  refuse(reason: string, detail: string): void;
}

/** Jobs whose size is remembered for their events (a home runs at most 64 at once). */
const maxTrackedJobs = 256;

interface PendingRun {
  kind: string;
  startedAt: number;
  timer: TimerHandle;
  resolve(result: TaskResult): void;
}

export class AppKernels {
  private kinds = new Map<string, AppKindSpec>();
  private readonly pending = new Map<string, PendingRun>();
  /** Jobs of this home and their size, for the compute-job events (a job's progress names its total). */
  private readonly totals = new Map<string, { kind: string; total: number }>();

  constructor(private readonly options: AppKernelsOptions) {}

  /** The kinds the app registered, sorted. */
  names(): string[] {
    return [...this.kinds.keys()].sort();
  }

  handles(kind: string): boolean {
    return this.kinds.has(kind);
  }

  spec(kind: string): AppKindSpec | undefined {
    return this.kinds.get(kind);
  }

  /** App tasks this node runs at once: the largest concurrency any registered kernel asked for (0 with none). */
  get slots(): number {
    let slots = 0;
    for (const spec of this.kinds.values()) slots = Math.max(slots, spec.concurrency);
    return slots;
  }

  /** `computeKinds(list)`: the app's whole list of kinds (registering one more sends them all again). */
  setKinds(raw: unknown): string[] {
    if (!this.options.publish) throw new CommandError('no-app-events', 'this node has no app listening for its events, so it cannot hand tasks to app kernels');
    const decoded = decodeAppKinds(raw);
    if (!decoded.ok) throw this.refused('bad-kernel', `computeKinds: ${decoded.error}`);
    const taken = decoded.value.find((s) => this.options.isBuiltin(s.kind));
    if (taken) throw this.refused('kind-taken', `"${taken.kind}" is a built-in kind of this node; give your kernel another name`);
    const next = new Map(decoded.value.map((s) => [s.kind, s]));
    // Tasks of a kind the app no longer runs cannot finish here: their attempts fail now and the
    // home hands them to a node that still runs the kind.
    for (const [key, run] of [...this.pending])
      if (!next.has(run.kind)) this.settle(key, { ok: false, error: `the app dropped its kernel "${run.kind}" on this node` });
    this.kinds = next;
    this.options.changed();
    return this.names();
  }

  /** Hands one task to the app; resolves with its outcome, or a failure on timeout (never rejects). */
  run(key: string, task: WorkItem): Promise<TaskResult> {
    const spec = this.kinds.get(task.kind);
    const startedAt = this.options.clock();
    const failed = (error: string): Promise<TaskResult> => Promise.resolve({ ok: false, error, ms: 0 });
    if (!spec || !this.options.publish) return failed(`no app kernel "${task.kind}" on this node`);
    const size = measureJson(task.params, spec.maxInputBytes);
    if (!size.ok) {
      this.options.refuse('bad-task-params', `${task.kind} input: ${size.error}`);
      return failed(`task refused: ${task.kind} input ${size.error} (this node's limit ${spec.maxInputBytes} bytes)`);
    }
    this.settle(key, { ok: false, error: 'superseded by a new run of the same attempt' });
    return new Promise<TaskResult>((resolve) => {
      const timer = this.options.timers.setTimeout(() => {
        this.settle(key, { ok: false, error: `the app kernel "${task.kind}" did not answer within ${spec.timeoutMs} ms` });
        this.options.publish?.('compute-abort', { key, reason: 'timeout' });
      }, spec.timeoutMs);
      this.pending.set(key, { kind: task.kind, startedAt, timer, resolve });
      this.options.publish?.('compute-task', { key, kind: task.kind, input: task.params, job: task.jobId, index: task.index, attempt: task.attempt });
    });
  }

  /** The core gave up on a task (job cancelled or done, home took it back): tell the app's kernel. */
  abort(key: string): void {
    if (!this.pending.has(key)) return;
    this.settle(key, { ok: false, error: 'aborted' });
    this.options.publish?.('compute-abort', { key, reason: 'cancelled' });
  }

  /** `computeTaskDone(key, outcome)`: true if it answered a running task, false if that task had ended (late). */
  taskDone(rawKey: unknown, rawOutcome: unknown): boolean {
    const decoded = decodeTaskDone(rawKey, rawOutcome);
    if (!decoded.ok) throw this.refused('bad-command', decoded.error);
    const { key, outcome } = decoded.value;
    const run = this.pending.get(key);
    if (!run) return false;
    const spec = this.kinds.get(run.kind);
    if (!outcome.ok) {
      this.settle(key, { ok: false, error: `the app kernel "${run.kind}" failed: ${outcome.error.slice(0, maxAppErrorChars - 40)}` });
      return true;
    }
    const size = measureJson(outcome.output, spec?.maxOutputBytes ?? 0);
    if (!size.ok) {
      this.options.refuse('bad-output', `${run.kind} output: ${size.error}`);
      this.settle(key, { ok: false, error: `the app kernel "${run.kind}" returned an output that is refused: ${size.error}` });
      return true;
    }
    this.settle(key, { ok: true, result: outcome.output as JsonValue, bytes: size.bytes, ms: 0 });
    return true;
  }

  /** Follows the core's events to tell the app how its jobs go ('compute-job'). */
  note(effect: StealEffect): void {
    if (effect.type !== 'event' || !this.options.publish) return;
    const e = effect.event;
    const post = (job: JobId, status: string, done: number | null, error: string | null) => {
      const known = this.totals.get(job);
      this.options.publish?.('compute-job', { job, kind: known?.kind ?? null, status, done, total: known?.total ?? null, error });
    };
    switch (e.kind) {
      case 'job-submitted':
        this.totals.set(e.jobId, { kind: '', total: e.total });
        // Bounded: a job's entry goes when it ends; a home tracks at most 64 active jobs.
        if (this.totals.size > maxTrackedJobs) this.totals.delete(this.totals.keys().next().value as string);
        return post(e.jobId, 'queued', 0, null);
      case 'job-progress':
        return post(e.jobId, 'running', e.done, null);
      case 'job-done':
        post(e.jobId, 'done', this.totals.get(e.jobId)?.total ?? null, null);
        return void this.totals.delete(e.jobId);
      case 'job-failed':
        post(e.jobId, 'failed', null, e.error);
        return void this.totals.delete(e.jobId);
      case 'job-cancelled':
        post(e.jobId, 'cancelled', null, null);
        return void this.totals.delete(e.jobId);
      default:
        return;
    }
  }

  /** The kind of a job just submitted here (its events then name it). */
  noteKind(jobId: string, kind: string): void {
    const known = this.totals.get(jobId);
    if (known) known.kind = kind;
  }

  close(): void {
    for (const key of [...this.pending.keys()]) this.settle(key, { ok: false, error: 'the node stopped' });
  }

  private settle(key: string, outcome: { ok: true; result: JsonValue; bytes: number; ms: number } | { ok: false; error: string }): void {
    const run = this.pending.get(key);
    if (!run) return;
    this.pending.delete(key);
    this.options.timers.clearTimeout(run.timer);
    const ms = Math.max(0, this.options.clock() - run.startedAt);
    run.resolve(outcome.ok ? { ...outcome, ms } : { ok: false, error: outcome.error, ms });
  }

  private refused(code: string, message: string): CommandError {
    this.options.refuse(code, message);
    return new CommandError(code, message);
  }
}
