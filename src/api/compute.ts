// Compute with your own kernels: the app registers a kernel by name on its own nodes, and a job
// of that kind runs only on nodes whose app registered it (they advertise the kinds they run;
// work stealing places tasks only there). No code travels over the mesh: tasks and outputs are
// JSON. The four built-in kinds (mandelbrot, primes, monte-carlo-pi, proof-of-work) are simply
// pre-registered on every node and run in its kernel workers; app kernels run in the app (the
// page, or the Node process), handed over by the node (compute-host.ts).
//
//   const blur = await room.compute.register('blur', async (tile: Tile, { signal }) => blurTile(tile, signal));
//   const job = blur.submit({ tasks: tiles }, { priority: 'high' });
//   job.on('progress', ({ done, total }) => bar.value = done / total);
//   const outputs = await job.result();
import { builtinKindNames } from '../compute/kernels/builtin-names.ts';
import { kindNamePattern } from '../compute/kernels/registry.ts';
import { priorities, type Priority } from '../core/steal/messages.ts';
import { measureJson } from '../core/steal/json.ts';
import type { NodeBackend } from './backend.ts';
import { ComputeError, computeErrorFrom } from './compute-errors.ts';
import { KernelHost, type Kernel, type KernelStats } from './compute-host.ts';
import { JobHandle, type ComputeJob } from './compute-job.ts';
import { checkWith, isStandardSchema, type StandardSchemaV1 } from './compute-schema.ts';
import { decodeJobEvent, decodeSubmitted } from './compute-wire.ts';
import { FeatureSubscriptions } from './feature.ts';

export { ComputeError, type ComputeErrorCode } from './compute-errors.ts';
export type { Kernel, KernelContext, KernelStats } from './compute-host.ts';
export type { ComputeJob, ComputeJobStatus, ComputeProgress } from './compute-job.ts';
export type { StandardSchemaV1 };
export type { Priority };

/** Largest input of one task: tasks travel between nodes as JSON of at most this many bytes. */
export const maxTaskInputBytes = 4 * 1024;
/** Largest output of one task, in bytes of JSON (a kernel may set a lower limit). */
export const maxTaskOutputBytes = 200 * 1024;
/** Most tasks in one job. */
export const maxTasksPerJob = 4096;

/** Options of `register`. */
export interface KernelOptions<I, O> {
  /** Checks each task's input before the kernel sees it (any Standard Schema: valibot, zod, arktype, …); also checked on submit. */
  input?: StandardSchemaV1<unknown, I>;
  /** Checks each output before it leaves this node, and the outputs of jobs submitted through this kernel. */
  output?: StandardSchemaV1<unknown, O>;
  /** Largest output, in bytes of JSON (default and most: 200 KiB). */
  maxOutputBytes?: number;
  /** A task that runs longer fails its attempt (and its kernel's signal aborts); default 60 000, most 600 000. */
  timeoutMs?: number;
  /** Tasks of this app's kernels that this node runs at once (default 1, most 16). */
  concurrency?: number;
}

/** Options of `submit`. */
export interface SubmitOptions<O = unknown> {
  /** Queue priority: 'critical', 'high', 'medium' (default) or 'low'. */
  priority?: Priority;
  /** 1 (default): trust one node per task; 2–3: that many distinct nodes must agree on each output. */
  redundancy?: number;
  /** Cancels the job when it aborts. */
  signal?: AbortSignal;
  /** Checks each output where the job was submitted (a registered kernel's `submit` uses its own). */
  output?: StandardSchemaV1<unknown, O>;
  /** Built-in kinds only: how many tasks to split the job into. */
  chunks?: number;
}

/** A job's work: one task per input (`tasks`), or one task (`input`). For a built-in kind, `input` is its parameters. */
export type JobInput<I> = { tasks: readonly I[] } | { input: I };

/** A kernel this app registered: submit jobs to it, or take it back. */
export interface RegisteredKernel<I, O> {
  readonly kind: string;
  /** A job of this kind: outputs in task order for `{ tasks }`, one output for `{ input }`. */
  submit(job: { tasks: readonly I[] }, options?: SubmitOptions<O>): ComputeJob<O[]>;
  submit(job: { input: I }, options?: SubmitOptions<O>): ComputeJob<O>;
  /** This node stops running the kind (its running tasks fail over to other nodes). */
  unregister(): Promise<void>;
}

/** `room.compute`. */
export interface Compute {
  /**
   * Registers a kernel on this node: from now on the node advertises `kind` and runs tasks of
   * it (up to `concurrency` at once) by calling `kernel(input, { signal, job, index, attempt })`.
   * Resolves once the node has it. Rejects with `compute-kind-taken` for a built-in kind or one
   * registered here already, `compute-bad-argument` for a bad name or option.
   */
  register<I, O>(kind: string, kernel: Kernel<I, O>, options?: KernelOptions<I, O>): Promise<RegisteredKernel<I, O>>;
  /**
   * Submits a job of `kind` (this app's or another node's kernel, or a built-in kind). Returns
   * the job at once; `submitted` and `result()` tell how it goes. Throws `compute-bad-argument`
   * for arguments that are not what it takes.
   */
  submit<O = unknown, I = unknown>(kind: string, job: { tasks: readonly I[] }, options?: SubmitOptions<O>): ComputeJob<O[]>;
  submit<O = unknown, I = unknown>(kind: string, job: { input: I }, options?: SubmitOptions<O>): ComputeJob<O>;
  /** The kinds this app registered on this node. */
  kinds(): string[];
  /** Counts of this node's kernel runs. */
  stats(): KernelStats;
  /** Stops: kernels are unregistered here and running ones aborted; jobs in flight reject with `compute-unavailable`. */
  close(): void;
}

const builtins: ReadonlySet<string> = new Set(builtinKindNames);
/** Job events that came before their submit's reply, kept until it comes (bounded). */
const maxEarlyEvents = 256;

const made = new WeakMap<NodeBackend, Compute>();

/**
 * The compute API over a node: one per node (asking again for the same backend gives the same
 * one, so two parts of an app share its kernels).
 */
export function createCompute(backend: NodeBackend): Compute {
  let compute = made.get(backend);
  if (!compute) {
    compute = new NodeCompute(backend);
    made.set(backend, compute);
  }
  return compute;
}

interface KernelEntry {
  maxOutputBytes?: number;
  timeoutMs?: number;
  concurrency?: number;
  output: StandardSchemaV1 | undefined;
  input: StandardSchemaV1 | undefined;
}

class NodeCompute implements Compute {
  private readonly host: KernelHost;
  private readonly specs = new Map<string, KernelEntry>();
  private readonly jobs = new Map<string, JobHandle<unknown>>();
  private readonly early = new Map<string, unknown>();
  private readonly live = new Set<JobHandle<unknown>>();
  private syncing: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly subscriptions: FeatureSubscriptions;

  constructor(private readonly backend: NodeBackend) {
    this.host = new KernelHost(backend);
    this.subscriptions = new FeatureSubscriptions(backend);
    this.subscriptions.onEvent('compute-job', (payload) => this.onJobEvent(payload));
    this.subscriptions.onSnapshot((snapshot) => this.onSnapshot(snapshot));
  }

  kinds(): string[] {
    return [...this.specs.keys()].sort();
  }

  stats() {
    return { ...this.host.stats };
  }

  async register<I, O>(kind: string, kernel: Kernel<I, O>, options: KernelOptions<I, O> = {}): Promise<RegisteredKernel<I, O>> {
    this.checkOpen();
    if (typeof kind !== 'string' || !kindNamePattern.test(kind))
      throw bad(`register(kind, kernel): kind must be 1–32 lower-case letters, digits or dashes, starting with a letter; got ${show(kind)}`);
    if (builtins.has(kind)) throw new ComputeError('compute-kind-taken', `"${kind}" is a built-in kind; give your kernel another name`);
    if (this.specs.has(kind)) throw new ComputeError('compute-kind-taken', `a kernel "${kind}" is already registered in this app; unregister it first`);
    if (typeof kernel !== 'function') throw bad('register(kind, kernel): kernel must be a function (input, { signal }) => output');
    const entry = kernelEntry(options);
    this.specs.set(kind, entry);
    this.host.kernels.set(kind, {
      run: kernel as Kernel<unknown, unknown>,
      input: entry.input,
      output: entry.output,
      maxOutputBytes: entry.maxOutputBytes ?? maxTaskOutputBytes,
    });
    try {
      await this.syncKinds();
    } catch (error) {
      this.specs.delete(kind);
      this.host.kernels.delete(kind);
      await this.syncKinds().catch(() => {});
      throw computeErrorFrom(error, 'compute-unavailable');
    }
    const submit = (job: JobInput<I>, submitOptions: SubmitOptions<O> = {}) =>
      this.submit<O, I>(kind, job as { tasks: readonly I[] }, { ...submitOptions, output: submitOptions.output ?? options.output });
    return {
      kind,
      submit: submit as RegisteredKernel<I, O>['submit'],
      unregister: async () => {
        if (!this.specs.delete(kind)) return;
        this.host.kernels.delete(kind);
        await this.syncKinds().catch((error: unknown) => {
          throw computeErrorFrom(error, 'compute-unavailable');
        });
      },
    };
  }

  submit<O, I>(kind: string, job: JobInput<I>, options: SubmitOptions<O> = {}): ComputeJob<never> {
    this.checkOpen();
    if (typeof kind !== 'string' || !kindNamePattern.test(kind))
      throw bad(`submit(kind, job): kind must name a kernel (1–32 lower-case letters, digits or dashes); got ${show(kind)}`);
    const shape = jobShape(job);
    const opts = submitOptions(options, builtins.has(kind));
    const single = shape.single;
    if (builtins.has(kind) && !single) throw bad(`submit('${kind}', job): a built-in kind takes { input: parameters } (and options.chunks), not { tasks }`);
    const outputSchema = opts.output ?? this.specs.get(kind)?.output;
    const handle = new JobHandle<unknown>(kind, {
      cancel: (id) => this.cancelJob(id),
      fetchResult: async (id) => {
        const raw = await this.backend.command('jobResult', id).catch((error: unknown) => Promise.reject(computeErrorFrom(error, 'compute-failed')));
        if (builtins.has(kind)) return raw;
        if (!Array.isArray(raw)) throw new ComputeError('compute-bad-output', `job ${id}: the node gave no list of outputs`);
        const outputs: unknown[] = [];
        for (const [index, output] of raw.entries()) {
          if (!outputSchema) {
            outputs.push(output);
            continue;
          }
          const checked = await checkWith(outputSchema, output);
          if (!checked.ok) throw new ComputeError('compute-bad-output', `job ${id}: task ${index}'s output fails the output schema: ${checked.error}`);
          outputs.push(checked.value);
        }
        return single ? outputs[0] : outputs;
      },
    });
    this.live.add(handle);
    handle.onEnd = () => {
      this.live.delete(handle);
      if (handle.id !== null) this.jobs.delete(handle.id);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => void handle.cancel().catch(() => {});
    if (opts.signal?.aborted) {
      handle.fail(new ComputeError('compute-cancelled', 'the job was cancelled before it was submitted (its AbortSignal had fired)'));
      return handle as unknown as ComputeJob<never>;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    void this.send(kind, shape.tasks, opts, handle);
    return handle as unknown as ComputeJob<never>;
  }

  close(): void {
    if (!this.subscriptions.close()) return;
    this.host.close();
    for (const handle of [...this.live]) handle.fail(new ComputeError('compute-unavailable', 'the room was left before the job ended'));
    this.specs.clear();
    made.delete(this.backend);
  }

  private async send(kind: string, tasks: unknown[], opts: CheckedSubmitOptions, handle: JobHandle<unknown>): Promise<void> {
    try {
      const inputSchema = this.specs.get(kind)?.input;
      const checked: unknown[] = [];
      for (const [index, task] of tasks.entries()) {
        let input = task;
        if (inputSchema) {
          const result = await checkWith(inputSchema, task);
          if (!result.ok) throw new ComputeError('compute-bad-input', `task ${index}'s input fails the kernel's input schema: ${result.error}`);
          input = result.value;
        }
        const size = measureJson(input, builtins.has(kind) ? 16 * 1024 : maxTaskInputBytes);
        if (!size.ok)
          throw new ComputeError(
            'compute-bad-input',
            `task ${index}'s input is refused: ${size.error} (tasks travel as JSON of at most ${maxTaskInputBytes} bytes)`,
          );
        checked.push(input);
      }
      const common = { ...(opts.priority ? { priority: opts.priority } : {}), ...(opts.redundancy ? { redundancy: opts.redundancy } : {}) };
      let accepted: { id: string; total: number };
      if (builtins.has(kind)) {
        const id = await this.backend.command('submitJob', { kind, params: checked[0], ...(opts.chunks ? { chunks: opts.chunks } : {}), ...common });
        if (typeof id !== 'string') throw new ComputeError('compute-refused', 'the node answered submitJob with no job id');
        accepted = { id, total: this.backend.snapshot()?.jobs.find((j) => j.id === id)?.total ?? 0 };
      } else {
        const reply = decodeSubmitted(await this.backend.command('computeSubmit', { kind, tasks: checked, ...common }));
        if (!reply.ok) throw new ComputeError('compute-refused', `the node's answer to computeSubmit did not decode: ${reply.error}`);
        accepted = reply.value;
      }
      this.jobs.set(accepted.id, handle);
      handle.accepted(accepted.id, accepted.total);
      const early = this.early.get(accepted.id);
      this.early.delete(accepted.id);
      if (early !== undefined) this.onJobEvent(early);
    } catch (error) {
      handle.fail(computeErrorFrom(error));
    }
  }

  private async cancelJob(id: string): Promise<void> {
    try {
      await this.backend.command('cancelJob', id);
    } catch (error) {
      // Already ended (done, failed, cancelled): the job's own news settles the handle.
      const job = this.backend.snapshot()?.jobs.find((j) => j.id === id && j.mine);
      if (job && job.status !== 'queued' && job.status !== 'running') return;
      throw computeErrorFrom(error, 'compute-unavailable');
    }
  }

  /** Sends the node the whole list of this app's kinds, one list at a time, in order. */
  private syncKinds(): Promise<void> {
    const list = [...this.specs.entries()].map(([kind, e]) => ({
      kind,
      ...(e.maxOutputBytes !== undefined ? { maxOutputBytes: e.maxOutputBytes } : {}),
      ...(e.timeoutMs !== undefined ? { timeoutMs: e.timeoutMs } : {}),
      ...(e.concurrency !== undefined ? { concurrency: e.concurrency } : {}),
    }));
    this.inFlight++;
    const next = this.syncing.catch(() => {}).then(() => this.backend.command('computeKinds', list).then(() => undefined));
    this.syncing = next
      .then(
        () => {},
        () => {},
      )
      .finally(() => this.inFlight--);
    return next;
  }

  private onJobEvent(payload: unknown): void {
    const decoded = decodeJobEvent(payload);
    if (!decoded.ok) {
      this.host.stats.invalid++;
      return;
    }
    const e = decoded.value;
    const handle = this.jobs.get(e.job);
    if (!handle) {
      // A job of ours whose submit reply has not come yet (the event is posted first), or
      // someone else's (the dashboard's): kept a little while, in case it is ours.
      this.early.set(e.job, payload);
      if (this.early.size > maxEarlyEvents) this.early.delete(this.early.keys().next().value as string);
      return;
    }
    handle.report(e.status, e.done, e.total, e.error);
  }

  /** Catches what events may have missed (a restarted worker), and registers the kernels again there. */
  private onSnapshot(snapshot: {
    jobs?: ReadonlyArray<{ id: string; mine: boolean; status: string; done: number; total: number; error: string | null }>;
    compute?: { appKinds?: readonly string[] };
  }): void {
    for (const handle of this.live) {
      if (handle.id === null) continue;
      const job = snapshot.jobs?.find((j) => j.id === handle.id && j.mine);
      if (!job) continue;
      if (job.status === 'queued' || job.status === 'running' || job.status === 'done' || job.status === 'failed' || job.status === 'cancelled') {
        handle.report(job.status, job.done, job.total, job.error);
      }
    }
    const theirs = snapshot.compute?.appKinds;
    if (theirs && this.inFlight === 0 && [...theirs].sort().join(',') !== this.kinds().join(',')) void this.syncKinds().catch(() => {});
  }

  private checkOpen(): void {
    if (this.subscriptions.closed) throw new ComputeError('compute-unavailable', 'this compute API was closed (the room was left)');
  }
}

interface CheckedSubmitOptions {
  priority?: Priority;
  redundancy?: number;
  signal?: AbortSignal;
  output?: StandardSchemaV1;
  chunks?: number;
}

function bad(message: string): ComputeError {
  return new ComputeError('compute-bad-argument', message);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}

function jobShape(job: unknown): { tasks: unknown[]; single: boolean } {
  const usage = 'submit(kind, job): job is { tasks: [input, …] } (one task per input) or { input } (one task)';
  if (typeof job !== 'object' || job === null || Array.isArray(job)) throw bad(usage);
  const keys = Object.keys(job);
  if (keys.length !== 1 || (keys[0] !== 'tasks' && keys[0] !== 'input')) throw bad(`${usage}; got the fields ${keys.join(', ') || '(none)'}`);
  if ('input' in job) return { tasks: [(job as { input: unknown }).input], single: true };
  const tasks = (job as { tasks: unknown }).tasks;
  if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length > maxTasksPerJob)
    throw bad(`submit(kind, { tasks }): tasks must be a list of 1–${maxTasksPerJob} inputs`);
  return { tasks: [...(tasks as unknown[])], single: false };
}

function submitOptions(options: unknown, builtin: boolean): CheckedSubmitOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw bad('submit(kind, job, options): options is an object { priority?, redundancy?, signal?, output?, chunks? }');
  const o = options as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !['priority', 'redundancy', 'signal', 'output', 'chunks'].includes(k));
  if (unknownKey) throw bad(`submit options: "${unknownKey.slice(0, 40)}" is not an option (allowed: priority, redundancy, signal, output, chunks)`);
  const out: CheckedSubmitOptions = {};
  if (o.priority !== undefined) {
    if (!priorities.includes(o.priority as Priority)) throw bad(`submit options: priority must be one of ${priorities.join(', ')}`);
    out.priority = o.priority as Priority;
  }
  if (o.redundancy !== undefined) {
    if (!Number.isInteger(o.redundancy) || (o.redundancy as number) < 1 || (o.redundancy as number) > 3)
      throw bad('submit options: redundancy must be 1 (trust one node) or 2–3 (that many distinct nodes must agree)');
    out.redundancy = o.redundancy as number;
  }
  if (o.signal !== undefined) {
    if (!(o.signal instanceof AbortSignal)) throw bad('submit options: signal must be an AbortSignal');
    out.signal = o.signal;
  }
  if (o.output !== undefined) {
    if (!isStandardSchema(o.output)) throw bad('submit options: output must be a Standard Schema (valibot, zod, arktype, …)');
    out.output = o.output;
  }
  if (o.chunks !== undefined) {
    if (!builtin) throw bad('submit options: chunks is for built-in kinds; an app kind runs one task per input');
    if (!Number.isInteger(o.chunks) || (o.chunks as number) < 1 || (o.chunks as number) > 1024)
      throw bad('submit options: chunks must be a whole number from 1 to 1024');
    out.chunks = o.chunks as number;
  }
  return out;
}

function kernelEntry(options: unknown): KernelEntry {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw bad('register(kind, kernel, options): options is an object { input?, output?, maxOutputBytes?, timeoutMs?, concurrency? }');
  const o = options as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !['input', 'output', 'maxOutputBytes', 'timeoutMs', 'concurrency'].includes(k));
  if (unknownKey) throw bad(`register options: "${unknownKey.slice(0, 40)}" is not an option (allowed: input, output, maxOutputBytes, timeoutMs, concurrency)`);
  const whole = (name: string, min: number, max: number): number | undefined => {
    const value = o[name];
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
      throw bad(`register options: ${name} must be a whole number from ${min} to ${max}`);
    return value as number;
  };
  for (const name of ['input', 'output'] as const) {
    if (o[name] !== undefined && !isStandardSchema(o[name])) throw bad(`register options: ${name} must be a Standard Schema (valibot, zod, arktype, …)`);
  }
  const entry: KernelEntry = { input: o.input as StandardSchemaV1 | undefined, output: o.output as StandardSchemaV1 | undefined };
  const maxOutputBytes = whole('maxOutputBytes', 4, maxTaskOutputBytes);
  const timeoutMs = whole('timeoutMs', 1, 600_000);
  const concurrency = whole('concurrency', 1, 16);
  if (maxOutputBytes !== undefined) entry.maxOutputBytes = maxOutputBytes;
  if (timeoutMs !== undefined) entry.timeoutMs = timeoutMs;
  if (concurrency !== undefined) entry.concurrency = concurrency;
  return entry;
}
