// Runs this app's kernels for its node: the node hands a task over as a 'compute-task' event,
// the kernel runs here (the page's thread, or the Node process), and the answer goes back with
// computeTaskDone. Everything is checked on the way: the input against the kernel's schema, the
// output against its schema and as JSON within the size limit. A kernel that throws, hangs past
// its node's timeout or returns garbage fails that one task with a reason — the task's home
// retries it (elsewhere, or later) within its budget — and nothing else is disturbed.
import { measureJson } from '../core/steal/json.ts';
import type { NodeBackend } from './backend.ts';
import { checkWith, type StandardSchemaV1 } from './compute-schema.ts';
import { decodeAbortEvent, decodeTaskEvent, type ComputeTaskEvent } from './compute-wire.ts';
import { FeatureSubscriptions } from './feature.ts';

/** What a kernel is told besides its input. */
export interface KernelContext {
  /** Aborted when the task is no longer wanted: its job was cancelled or finished, or the node timed it out. */
  signal: AbortSignal;
  /** The job this task belongs to, and the task's place in it (0-based). */
  job: string;
  index: number;
  /** 1 for the first try of this task, more for retries. */
  attempt: number;
}

/** A kernel: an input in, an output out (JSON both ways), maybe async. */
export type Kernel<I, O> = (input: I, context: KernelContext) => O | Promise<O>;

export interface RegisteredKernelSpec {
  run: Kernel<unknown, unknown>;
  input: StandardSchemaV1 | undefined;
  output: StandardSchemaV1 | undefined;
  maxOutputBytes: number;
}

/** Counts of this app's kernel runs (what `compute.stats()` shows). */
export interface KernelStats {
  /** Tasks run to an output the node took. */
  completed: number;
  /** Tasks that failed here: the kernel threw, or its input or output did not check. */
  failed: number;
  /** Tasks stopped by their AbortSignal. */
  aborted: number;
  /** Events from the node that did not decode (never acted on). */
  invalid: number;
  /** The last failure's reason. */
  lastError: string | null;
}

export class KernelHost {
  readonly kernels = new Map<string, RegisteredKernelSpec>();
  readonly stats: KernelStats = { completed: 0, failed: 0, aborted: 0, invalid: 0, lastError: null };
  private readonly running = new Map<string, AbortController>();
  private readonly subscriptions: FeatureSubscriptions;

  constructor(private readonly backend: NodeBackend) {
    this.subscriptions = new FeatureSubscriptions(backend);
    this.subscriptions.onEvent('compute-task', (payload) => void this.onTask(payload));
    this.subscriptions.onEvent('compute-abort', (payload) => this.onAbort(payload));
  }

  /** Stops listening and aborts every running kernel. */
  close(): void {
    this.subscriptions.close();
    for (const controller of this.running.values()) controller.abort(new Error('the node closed'));
    this.running.clear();
  }

  private async onTask(payload: unknown): Promise<void> {
    const decoded = decodeTaskEvent(payload);
    if (!decoded.ok) {
      this.stats.invalid++;
      return;
    }
    const task = decoded.value;
    const kernel = this.kernels.get(task.kind);
    if (!kernel) return this.fail(task, `no kernel "${task.kind}" is registered in this app`);
    const controller = new AbortController();
    this.running.get(task.key)?.abort(new Error('superseded'));
    this.running.set(task.key, controller);
    try {
      let input: unknown = task.input;
      if (kernel.input) {
        const checked = await checkWith(kernel.input, input);
        if (!checked.ok) return await this.fail(task, `input refused by the kernel's schema: ${checked.error}`);
        input = checked.value;
      }
      let output: unknown = await kernel.run(input, { signal: controller.signal, job: task.job, index: task.index, attempt: task.attempt });
      if (controller.signal.aborted) {
        this.stats.aborted++;
        return;
      }
      if (kernel.output) {
        const checked = await checkWith(kernel.output, output);
        if (!checked.ok) return await this.fail(task, `output refused by the kernel's schema: ${checked.error}`);
        output = checked.value;
      }
      const size = measureJson(output, kernel.maxOutputBytes);
      if (!size.ok) return await this.fail(task, `output refused: ${size.error} (outputs are JSON of at most ${kernel.maxOutputBytes} bytes)`);
      await this.answer(task, { ok: true, output });
      this.stats.completed++;
    } catch (error) {
      if (controller.signal.aborted) {
        this.stats.aborted++;
        return;
      }
      await this.fail(task, `kernel threw: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (this.running.get(task.key) === controller) this.running.delete(task.key);
    }
  }

  private onAbort(payload: unknown): void {
    const decoded = decodeAbortEvent(payload);
    if (!decoded.ok) {
      this.stats.invalid++;
      return;
    }
    const controller = this.running.get(decoded.value.key);
    if (!controller) return;
    this.running.delete(decoded.value.key);
    controller.abort(new Error(decoded.value.reason === 'timeout' ? 'the task ran past its timeout' : 'the task is no longer wanted'));
  }

  private async fail(task: ComputeTaskEvent, error: string): Promise<void> {
    this.stats.failed++;
    this.stats.lastError = `${task.kind} task ${task.index} of ${task.job}: ${error}`.slice(0, 500);
    await this.answer(task, { ok: false, error: error.slice(0, 400) });
  }

  private async answer(task: ComputeTaskEvent, outcome: { ok: true; output: unknown } | { ok: false; error: string }): Promise<void> {
    try {
      await this.backend.command('computeTaskDone', task.key, outcome);
    } catch (error) {
      // The node is gone or refused the answer: the task's home retries it, nothing to do here.
      this.stats.lastError = `answer to ${task.kind} task ${task.index} not taken: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
    }
  }
}
