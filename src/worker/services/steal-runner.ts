// Carries the stealing core's `run` and `abort` effects out on the compute pool. A pool cannot
// stop a kernel midway, so an aborted task keeps its worker busy until it returns; while it does,
// the core is told it has one worker fewer (`capacity`), so it never hands the pool more tasks
// than it has free workers — a task waiting inside the pool could not be stolen by an idle peer.
// A kernel's outcome comes back through the runtime's dispatch (`reenter`, as a signature does:
// docs/architecture.md, "Effects"), so a throw while the core takes it is counted, never an
// unhandled rejection.
import type { JsonValue } from '../../core/steal/json.ts';
import type { TaskOutcome, WorkItem } from '../../core/steal/index.ts';
import type { TaskResult } from '../../compute/pool.ts';
import type { ComputePoolLike } from './steal-pool.ts';

/** Where the app's own kernels run (steal-app-kernels.ts): in the app, beside the pool. */
export interface AppLane {
  handles(kind: string): boolean;
  /** App tasks that may run at once. */
  readonly slots: number;
  run(key: string, task: WorkItem): Promise<TaskResult>;
  /** Tells the app's kernel to stop; its slot is free at once (the app's thread is not the pool's). */
  abort(key: string): void;
}

export interface TaskRunnerOptions {
  pool: ComputePoolLike | null;
  /** How long a task of this kind may run (the kind's `maxRunMs`). */
  budgetMs(kind: string): number;
  /** Checks a task's kind and parameters (they may come from a peer); an error text, or null to run it. */
  check(kind: string, params: unknown): string | null;
  /** The app's kernels, when the app registered some. */
  app?: AppLane;
  /** Runs `fn` as the runtime runs every call into the service (ServiceContext.reenter). */
  reenter(fn: () => void): void;
  /** A started task ended (not called for aborted ones); called inside `reenter`. */
  finished(key: string, outcome: TaskOutcome): void;
  /** The free capacity changed (an aborted task started or stopped occupying a worker). */
  capacityChanged(workers: number): void;
}

const outcomeOf = (result: TaskResult): TaskOutcome => (result.ok ? { ok: true, value: result.result as JsonValue } : { ok: false, error: result.error });

const failed = (what: string, error: unknown): TaskOutcome => ({
  ok: false,
  error: `${what} failed: ${error instanceof Error ? error.message : String(error)}`,
});

export class TaskRunner {
  /** Runs the core is waiting for: key → run number (a later run of the same key supersedes). */
  private readonly runs = new Map<string, number>();
  private nextRun = 1;
  /** Aborted tasks still occupying a worker. */
  private zombies = 0;
  private closed = false;
  /** Runs handed to the app's kernels (not the pool's). */
  private readonly appRuns = new Set<string>();

  constructor(private readonly options: TaskRunnerOptions) {}

  /**
   * Workers the core may fill: the pool's size less those still finishing aborted tasks, plus
   * the app's slots. (The core keeps one count for both, so with both kinds of work queued the
   * pool may briefly hold one task more than it has workers; it runs it next.)
   */
  get capacity(): number {
    const pool = this.options.pool ? Math.max(0, this.options.pool.size - this.zombies) : 0;
    return pool + (this.options.app?.slots ?? 0);
  }

  get running(): number {
    return this.runs.size;
  }

  get abortedStillRunning(): number {
    return this.zombies;
  }

  start(key: string, task: WorkItem): void {
    const pool = this.options.pool;
    const run = this.nextRun++;
    this.runs.set(key, run);
    const app = this.options.app;
    if (app?.handles(task.kind)) {
      this.appRuns.add(key);
      app.run(key, task).then(
        (result) => this.options.reenter(() => this.appDone(key, run, outcomeOf(result))),
        (error: unknown) => this.options.reenter(() => this.appDone(key, run, failed('the app kernel', error))),
      );
      return;
    }
    const done = (outcome: TaskOutcome) => this.options.reenter(() => this.poolDone(key, run, outcome));
    if (!pool) {
      // The core only runs tasks on workers it was told about; with no pool it was told none.
      queueMicrotask(() => done({ ok: false, error: 'this node has no compute workers' }));
      return;
    }
    // Refused before a kernel worker sees it: the attempt fails (the home retries it elsewhere).
    const problem = this.options.check(task.kind, task.params);
    if (problem !== null) {
      queueMicrotask(() => done({ ok: false, error: `task refused: ${problem}` }));
      return;
    }
    pool.run(task.kind, task.params, this.options.budgetMs(task.kind)).then(
      (result) => this.options.reenter(() => this.poolDone(key, run, outcomeOf(result))),
      (error: unknown) => done(failed('the compute pool', error)),
    );
  }

  /** The core gave up on this task (its job ended, or its home took it back). */
  abort(key: string): void {
    if (!this.runs.delete(key)) return;
    if (this.appRuns.has(key)) {
      // The app's kernel is told through its AbortSignal; it holds no pool worker.
      this.appRuns.delete(key);
      this.options.app?.abort(key);
      return;
    }
    this.zombies++;
    this.options.capacityChanged(this.capacity);
  }

  /** A pool run ended: the core takes its outcome, or (aborted earlier) its worker is free again. */
  private poolDone(key: string, run: number, outcome: TaskOutcome): void {
    if (this.closed) return;
    if (this.runs.get(key) !== run) {
      this.zombies = Math.max(0, this.zombies - 1);
      this.options.capacityChanged(this.capacity);
      return;
    }
    this.runs.delete(key);
    this.options.finished(key, outcome);
  }

  /** An app kernel's run ended; an aborted or superseded one held no worker, so there is nothing to free. */
  private appDone(key: string, run: number, outcome: TaskOutcome): void {
    if (this.closed || this.runs.get(key) !== run) return;
    this.runs.delete(key);
    this.appRuns.delete(key);
    this.options.finished(key, outcome);
  }

  close(): void {
    this.closed = true;
    this.runs.clear();
    this.options.pool?.close();
  }
}
