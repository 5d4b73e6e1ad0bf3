// The task-kind registry: the only code that can run as a task is a kind registered here, in
// the app's own bundle. Nothing a peer sends is ever evaluated; a peer names a kind and hands
// over JSON parameters, which the kind validates before a kernel sees them.
//
// One registry serves three places, each importing the same module so they agree on kinds:
//   - the page / protocol worker, on submit: `prepareJob({ kind, params?, chunks? })` validates
//     and fills in defaults, then splits the job into task parameters (and cost hints);
//   - a kernel worker (Web Worker or Node worker_threads): `runTask(kind, taskParams, deadline)`
//     validates the task's parameters, runs the kernel, and turns a throw, an overrun or an
//     oversized result into a failed attempt, never a crashed worker;
//   - the job's home, on results: `checkResult(kind, result, taskParams)` and then
//     `mergeResults(kind, params, results)` to assemble the job's answer.
//
// To add a kind: build a `TaskKind` (see the built-ins in this folder) and call
// `registry.registerKind(kind)` in a module that both the protocol worker and the kernel
// workers import, so every node that may run the task knows it.
import type { JsonValue } from '../../core/steal/json.ts';
import { measureJson } from '../../core/steal/json.ts';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A kernel polls this between slices of work and stops (by throwing) when it has expired. */
export interface Deadline {
  expired(): boolean;
}

/** Thrown by kernels through `checkDeadline`; `runTask` turns it into a failed attempt. */
export class DeadlineExceededError extends Error {
  constructor() {
    super('the task ran past its deadline');
    this.name = 'DeadlineExceededError';
  }
}

export function checkDeadline(deadline: Deadline): void {
  if (deadline.expired()) throw new DeadlineExceededError();
}

/** For tests and benchmarks that want a kernel to run to the end. */
export const noDeadline: Deadline = { expired: () => false };

/**
 * A deadline `budgetMs` after now on the given clock. Kernel workers pass `() => performance.now()`;
 * the kernels themselves never read a clock, so they stay pure and replayable.
 */
export function deadlineAfter(clock: () => number, budgetMs: number): Deadline {
  const end = clock() + budgetMs;
  return { expired: () => clock() >= end };
}

export interface TaskKind<P = unknown, T extends JsonValue = JsonValue, R extends JsonValue = JsonValue, J = unknown> {
  /** Lower-case letters, digits and dashes, 1–32 characters; what jobs and peers name. */
  name: string;
  /** One line for the UI. */
  description: string;
  /** Tasks a job is split into when the submitter does not say. */
  defaultChunks: number;
  /** Largest result one task may return, in UTF-8 bytes of its JSON. */
  maxResultBytes: number;
  /** How long one task may run before its attempt is failed, in milliseconds. */
  maxRunMs: number;
  /** Job parameters from a person or a page; `undefined` (or `{}`) gives the kind's defaults. */
  validateParams(raw: unknown): Checked<P>;
  /** Task parameters, as many as fit `chunks` (a kind may decide its own count, e.g. tiles). */
  split(params: P, chunks: number): T[];
  /** Relative cost of a task (any unit, the same for all tasks of a kind); used to order work. */
  estimateCost?(task: T): number;
  /** Task parameters as they arrive from a peer. */
  validateTaskParams(raw: unknown): Checked<T>;
  /** The kernel: pure, synchronous, deterministic for given parameters. */
  run(task: T, deadline: Deadline): R;
  /** A result as it arrives from a peer, for the task it claims to answer. */
  validateResult(raw: unknown, task: T): Checked<R>;
  /** The job's answer from its tasks' results, in task order. */
  merge(results: R[], params: P): J;
}

/** A kind with its types erased, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTaskKind = TaskKind<any, any, any, any>;

export interface JobRequest {
  kind: unknown;
  params?: unknown;
  chunks?: unknown;
}

export interface PreparedJob {
  kind: string;
  /** The validated job parameters, defaults filled in (JSON, so the home can persist it). */
  params: unknown;
  /** One entry per task, in order. */
  tasks: JsonValue[];
  /** One relative cost per task (1 when the kind gives no estimate). */
  costs: number[];
}

export type TaskOutcome = { ok: true; result: JsonValue; bytes: number } | { ok: false; error: string };

export type RegistryRefusal = 'unknown-kind' | 'bad-params' | 'bad-chunks' | 'too-many-tasks' | 'kernel-threw' | 'deadline' | 'oversized-result' | 'bad-result';

/** Upper bound on tasks per job, whatever a kind's split returns: the home tracks each one. */
export const maxTasksPerJob = 4096;
/** Upper bound on the chunks a submitter may ask for. */
export const maxChunksPerJob = 1024;
/** Kind names: short, safe in keys and logs. */
export const kindNamePattern = /^[a-z][a-z0-9-]{0,31}$/;

export class KindRegistry {
  private readonly kinds = new Map<string, AnyTaskKind>();
  /** Refusals by reason, for the UI and tests. */
  readonly refusals: Record<RegistryRefusal, number> = {
    'unknown-kind': 0,
    'bad-params': 0,
    'bad-chunks': 0,
    'too-many-tasks': 0,
    'kernel-threw': 0,
    deadline: 0,
    'oversized-result': 0,
    'bad-result': 0,
  };

  /** Adds a kind. Throws on a bad or duplicate name: that is a bug in the app, not bad input. */
  registerKind<P, T extends JsonValue, R extends JsonValue, J>(kind: TaskKind<P, T, R, J>): void {
    if (!kindNamePattern.test(kind.name)) throw new Error(`task kind name "${kind.name}" must match ${kindNamePattern}`);
    if (this.kinds.has(kind.name)) throw new Error(`task kind "${kind.name}" is already registered`);
    if (!(kind.maxResultBytes > 0) || !(kind.maxRunMs > 0) || !(kind.defaultChunks >= 1)) {
      throw new Error(`task kind "${kind.name}" needs positive maxResultBytes, maxRunMs and defaultChunks`);
    }
    this.kinds.set(kind.name, kind as AnyTaskKind);
  }

  has(name: string): boolean {
    return this.kinds.has(name);
  }

  get(name: string): AnyTaskKind | undefined {
    return this.kinds.get(name);
  }

  names(): string[] {
    return [...this.kinds.keys()].sort();
  }

  /** Validates a job request and splits it into tasks; everything but `kind` may be left out. */
  prepareJob(request: JobRequest): Checked<PreparedJob> {
    const kind = this.lookup(request.kind);
    if (!kind.ok) return kind;
    const k = kind.value;
    const params = k.validateParams(request.params ?? {});
    if (!params.ok) return this.refuse('bad-params', `${k.name} parameters: ${params.error}`);
    let chunks = k.defaultChunks;
    if (request.chunks !== undefined) {
      if (typeof request.chunks !== 'number' || !Number.isInteger(request.chunks) || request.chunks < 1 || request.chunks > maxChunksPerJob) {
        return this.refuse('bad-chunks', `chunks must be a whole number from 1 to ${maxChunksPerJob}`);
      }
      chunks = request.chunks;
    }
    const tasks = k.split(params.value, chunks) as JsonValue[];
    if (tasks.length === 0 || tasks.length > maxTasksPerJob) {
      return this.refuse('too-many-tasks', `${k.name} split into ${tasks.length} tasks; allowed 1–${maxTasksPerJob} (use fewer chunks or larger tiles)`);
    }
    const costs = tasks.map((t) => {
      const c = k.estimateCost ? k.estimateCost(t) : 1;
      return Number.isFinite(c) && c > 0 ? c : 1;
    });
    return { ok: true, value: { kind: k.name, params: params.value, tasks, costs } };
  }

  /**
   * Runs one task to completion or failure. Everything that can go wrong in a kernel — bad
   * parameters from a peer, a throw, an overrun, a result too large or not JSON — comes back
   * as `{ ok: false, error }` for the attempt; this function itself never throws.
   */
  runTask(kindName: unknown, rawTask: unknown, deadline: Deadline): TaskOutcome {
    const kind = this.lookup(kindName);
    if (!kind.ok) return kind;
    const k = kind.value;
    const task = k.validateTaskParams(rawTask);
    if (!task.ok) return this.refuse('bad-params', `${k.name} task parameters: ${task.error}`);
    let result: unknown;
    try {
      result = k.run(task.value, deadline);
    } catch (err) {
      if (err instanceof DeadlineExceededError) return this.refuse('deadline', `${k.name} ran past its deadline of ${k.maxRunMs} ms`);
      const message = err instanceof Error ? err.message : String(err);
      return this.refuse('kernel-threw', `${k.name} kernel threw: ${message.slice(0, 200)}`);
    }
    const size = measureJson(result, k.maxResultBytes);
    if (!size.ok) return this.refuse('oversized-result', `${k.name} result refused: ${size.error} (limit ${k.maxResultBytes} bytes)`);
    return { ok: true, result: result as JsonValue, bytes: size.bytes };
  }

  /** Checks a result that arrived from a peer against its kind and the task it answers. */
  checkResult(kindName: unknown, rawResult: unknown, rawTask: unknown): Checked<JsonValue> {
    const kind = this.lookup(kindName);
    if (!kind.ok) return kind;
    const k = kind.value;
    const size = measureJson(rawResult, k.maxResultBytes);
    if (!size.ok) return this.refuse('oversized-result', `${k.name} result refused: ${size.error} (limit ${k.maxResultBytes} bytes)`);
    const task = k.validateTaskParams(rawTask);
    if (!task.ok) return this.refuse('bad-params', `${k.name} task parameters: ${task.error}`);
    const result = k.validateResult(rawResult, task.value);
    if (!result.ok) return this.refuse('bad-result', `${k.name} result: ${result.error}`);
    return { ok: true, value: result.value as JsonValue };
  }

  /** The job's answer from its results (task order); refuses a result that does not check out. */
  mergeResults(kindName: unknown, rawParams: unknown, tasks: readonly JsonValue[], results: readonly JsonValue[]): Checked<unknown> {
    const kind = this.lookup(kindName);
    if (!kind.ok) return kind;
    const k = kind.value;
    const params = k.validateParams(rawParams);
    if (!params.ok) return this.refuse('bad-params', `${k.name} parameters: ${params.error}`);
    if (tasks.length !== results.length) return this.refuse('bad-result', `${k.name}: ${results.length} results for ${tasks.length} tasks`);
    const checked: unknown[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = this.checkResult(k.name, results[i], tasks[i]);
      if (!r.ok) return { ok: false, error: `task ${i}: ${r.error}` };
      checked.push(r.value);
    }
    try {
      return { ok: true, value: k.merge(checked, params.value) };
    } catch (err) {
      return { ok: false, error: `${k.name} merge threw: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  private lookup(name: unknown): Checked<AnyTaskKind> {
    const kind = typeof name === 'string' ? this.kinds.get(name) : undefined;
    if (!kind) {
      const shown = typeof name === 'string' ? `"${name.slice(0, 40)}"` : typeof name;
      return this.refuse('unknown-kind', `unknown task kind ${shown}; this app runs: ${this.names().join(', ') || '(none)'}`);
    }
    return { ok: true, value: kind };
  }

  private refuse(reason: RegistryRefusal, error: string): { ok: false; error: string } {
    this.refusals[reason]++;
    return { ok: false, error };
  }
}
