// One submitted job as the app holds it: progress events, the result, cancel.
import { ComputeError } from './compute-errors.ts';
import { TabmeshError } from './errors.ts';

/** Where a job is: submitting (not yet accepted by the node), then the node's job status. */
export type ComputeJobStatus = 'submitting' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A job's progress: tasks whose output was accepted, of all its tasks. */
export interface ComputeProgress {
  done: number;
  total: number;
  status: ComputeJobStatus;
}

/** A job handed to the room (`compute.submit`, or a registered kernel's `submit`). */
export interface ComputeJob<R> {
  /** The kind of kernel it runs. */
  readonly kind: string;
  /** The job's id once the node accepted it (null before). */
  readonly id: string | null;
  /** Resolves with the job's id once the node accepted it (it is then in the node's store). */
  readonly submitted: Promise<string>;
  /** Progress now (tasks done of total; total is 0 until the node accepted the job). */
  readonly progress: ComputeProgress;
  /**
   * Calls `listener` on every change of progress (each accepted task, and the job's end).
   * Returns the unsubscribe function.
   */
  on(event: 'progress', listener: (progress: ComputeProgress) => void): () => void;
  /**
   * The job's result once every task is done: for `{ tasks }` the outputs in task order, for
   * `{ input }` the one output, for a built-in kind its assembled result. Rejects with a
   * ComputeError: `compute-failed`, `compute-cancelled`, `compute-bad-output`, or the node's refusal.
   */
  result(): Promise<R>;
  /**
   * Cancels the job: queued tasks are dropped on every node, running kernels are told through
   * their AbortSignal, and `result()` rejects with `compute-cancelled`. Resolves once the node
   * has it; a job that already ended stays as it ended.
   */
  cancel(): Promise<void>;
}

/** What a handle needs from the Compute that made it. */
export interface JobDriver<R> {
  /** Asks the node to cancel job `id`; a job that already ended is not an error. */
  cancel(id: string): Promise<void>;
  /** Fetches and checks a done job's result. */
  fetchResult(id: string): Promise<R>;
}

export class JobHandle<R> implements ComputeJob<R> {
  id: string | null = null;
  readonly submitted: Promise<string>;
  private state: ComputeProgress = { done: 0, total: 0, status: 'submitting' };
  private readonly listeners = new Set<(progress: ComputeProgress) => void>();
  private readonly outcome: Promise<R>;
  private settleOutcome!: { resolve(value: R): void; reject(error: TabmeshError): void };
  private settleSubmitted!: { resolve(id: string): void; reject(error: TabmeshError): void };
  private settled = false;
  private cancelWanted = false;
  private fetching = false;
  /** Called once the job has ended (the Compute stops tracking it). */
  onEnd: () => void = () => {};

  constructor(
    readonly kind: string,
    private readonly driver: JobDriver<R>,
  ) {
    this.submitted = new Promise<string>((resolve, reject) => (this.settleSubmitted = { resolve, reject }));
    this.outcome = new Promise<R>((resolve, reject) => (this.settleOutcome = { resolve, reject }));
    // Nobody has to ask for either: an unobserved rejection is not an error of the app's.
    this.submitted.catch(() => {});
    this.outcome.catch(() => {});
  }

  get progress(): ComputeProgress {
    return { ...this.state };
  }

  on(event: 'progress', listener: (progress: ComputeProgress) => void): () => void {
    if (event !== 'progress') throw new ComputeError('compute-bad-argument', `a job has one event, 'progress'; got ${String(event).slice(0, 40)}`);
    if (typeof listener !== 'function') throw new ComputeError('compute-bad-argument', "on('progress', listener): listener must be a function");
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  result(): Promise<R> {
    return this.outcome;
  }

  async cancel(): Promise<void> {
    if (this.settled) return;
    this.cancelWanted = true;
    if (this.id === null) return; // cancelled as soon as the node names it (accepted)
    await this.driver.cancel(this.id);
  }

  /** The node accepted the job. */
  accepted(id: string, total: number): void {
    if (this.settled) return;
    this.id = id;
    this.settleSubmitted.resolve(id);
    this.update({ done: Math.max(this.state.done, 0), total, status: this.state.status === 'submitting' ? 'queued' : this.state.status });
    if (this.cancelWanted) void this.driver.cancel(id).catch(() => {});
  }

  /** News of the job from the node (an event, or a snapshot). */
  report(status: Exclude<ComputeJobStatus, 'submitting'>, done: number | null, total: number | null, error: string | null): void {
    if (this.settled || this.id === null) return;
    // Snapshots lag behind events: progress never goes back, nor does running turn queued again.
    const shown = status === 'queued' && this.state.status === 'running' ? 'running' : status;
    const next: ComputeProgress = {
      done: Math.max(this.state.done, done ?? (status === 'done' ? this.state.total : this.state.done)),
      total: total ?? this.state.total,
      status: shown,
    };
    if (status === 'done') {
      if (this.fetching) return;
      this.fetching = true;
      this.driver.fetchResult(this.id).then(
        (value) => {
          this.update({ ...next, done: next.total });
          this.end();
          this.settleOutcome.resolve(value);
        },
        (cause: unknown) =>
          this.fail(
            cause instanceof TabmeshError ? cause : new ComputeError('compute-failed', cause instanceof Error ? cause.message : String(cause)),
            'failed',
          ),
      );
      return;
    }
    if (status === 'failed') return this.fail(new ComputeError('compute-failed', `job ${this.id} failed: ${error ?? 'no reason given'}`), 'failed');
    if (status === 'cancelled') return this.fail(new ComputeError('compute-cancelled', `job ${this.id} was cancelled`), 'cancelled');
    if (next.done !== this.state.done || next.total !== this.state.total || next.status !== this.state.status) this.update(next);
  }

  /** The job ended without a result (refused, failed, cancelled before it was accepted). */
  fail(error: TabmeshError, status: 'failed' | 'cancelled' = error.code === 'compute-cancelled' ? 'cancelled' : 'failed'): void {
    if (this.settled) return;
    this.update({ ...this.state, status });
    this.end();
    if (this.id === null) this.settleSubmitted.reject(error);
    this.settleOutcome.reject(error);
  }

  private end(): void {
    this.settled = true;
    this.onEnd();
  }

  private update(next: ComputeProgress): void {
    this.state = next;
    for (const listener of [...this.listeners]) {
      try {
        listener({ ...next });
      } catch (error) {
        // A listener's bug is the app's to see, not a reason to stop telling the others.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
