// A pool of kernel workers: runs tasks on at most `size` workers at once, queues the rest,
// measures utilisation from real busy time, and replaces a worker whose kernel hangs past its
// deadline (a kernel polls its deadline, but a bug could keep it from stopping).
import { decodeKernelReply, type KernelReply, type KernelRequest } from './kernel-protocol.ts';

/** One kernel worker, whatever runs it (Web Worker, worker_threads). */
export interface KernelWorker {
  post(request: KernelRequest): void;
  onReply(listener: (raw: unknown) => void): void;
  onCrash(listener: (reason: string) => void): void;
  terminate(): void;
}

export type TaskResult = { ok: true; result: unknown; bytes: number; ms: number } | { ok: false; error: string; ms: number };

export interface PoolStats {
  size: number;
  busy: number;
  queued: number;
  /** Share of worker time spent running kernels over the last utilisationWindowMs, 0…1. */
  utilisation: number;
  completed: number;
  failed: number;
  workersReplaced: number;
}

/** Tasks waiting for a worker; a submitter beyond this is refused at once. */
export const maxQueuedTasks = 4_096;
/** Extra time past a task's budget before its worker is presumed hung and replaced. */
export const hangGraceMs = 2_000;
/** The window over which utilisation is measured. */
export const utilisationWindowMs = 10_000;

interface Job {
  request: Omit<KernelRequest, 'id' | 'type'>;
  resolve(result: TaskResult): void;
}

interface Slot {
  worker: KernelWorker;
  running: { id: number; job: Job; startedAt: number; watchdog: ReturnType<typeof setTimeout> } | null;
}

export class ComputePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private completed = 0;
  private failed = 0;
  private replaced = 0;
  /** Finished busy intervals [start, end] within the utilisation window. */
  private busyIntervals: Array<[number, number]> = [];
  private closed = false;

  constructor(
    readonly size: number,
    private readonly spawn: () => KernelWorker,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`a compute pool needs at least one worker, got ${size}`);
  }

  /** Runs one task; resolves with its outcome (a failed attempt is an outcome, not a throw). */
  run(kind: string, task: unknown, budgetMs: number): Promise<TaskResult> {
    if (this.closed) return Promise.resolve({ ok: false, error: 'the compute pool is closed', ms: 0 });
    if (this.queue.length >= maxQueuedTasks) return Promise.resolve({ ok: false, error: `the compute queue is full (${maxQueuedTasks} tasks)`, ms: 0 });
    return new Promise((resolve) => {
      this.queue.push({ request: { kind, task, budgetMs }, resolve });
      this.pump();
    });
  }

  stats(): PoolStats {
    const now = this.now();
    const from = now - utilisationWindowMs;
    this.busyIntervals = this.busyIntervals.filter(([, end]) => end > from);
    let busyMs = 0;
    for (const [start, end] of this.busyIntervals) busyMs += end - Math.max(start, from);
    for (const slot of this.slots) if (slot.running) busyMs += now - Math.max(slot.running.startedAt, from);
    return {
      size: this.size,
      busy: this.slots.filter((s) => s.running).length,
      queued: this.queue.length,
      utilisation: Math.min(1, busyMs / (utilisationWindowMs * this.size)),
      completed: this.completed,
      failed: this.failed,
      workersReplaced: this.replaced,
    };
  }

  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, error: 'the compute pool is closed', ms: 0 });
    for (const slot of this.slots) {
      if (slot.running) {
        clearTimeout(slot.running.watchdog);
        slot.running.job.resolve({ ok: false, error: 'the compute pool is closed', ms: 0 });
      }
      slot.worker.terminate();
    }
    this.slots.length = 0;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.running);
      if (!slot && this.slots.length < this.size) slot = this.addSlot();
      if (!slot) return;
      const job = this.queue.shift() as Job;
      const id = this.nextId++;
      const startedAt = this.now();
      const watchdog = setTimeout(() => this.hung(slot, id), job.request.budgetMs + hangGraceMs);
      slot.running = { id, job, startedAt, watchdog };
      slot.worker.post({ type: 'run', id, ...job.request });
    }
  }

  private addSlot(): Slot {
    const slot: Slot = { worker: this.spawn(), running: null };
    this.wire(slot);
    this.slots.push(slot);
    return slot;
  }

  private wire(slot: Slot): void {
    const worker = slot.worker;
    worker.onReply((raw) => {
      if (slot.worker !== worker) return;
      const decoded = decodeKernelReply(raw);
      if (!decoded.ok || !slot.running || decoded.value.id !== slot.running.id) return;
      this.finish(slot, decoded.value);
    });
    worker.onCrash((reason) => {
      if (slot.worker !== worker) return;
      this.replace(slot, `the kernel worker crashed: ${reason}`);
    });
  }

  private finish(slot: Slot, reply: KernelReply): void {
    const running = slot.running;
    if (!running) return;
    clearTimeout(running.watchdog);
    slot.running = null;
    this.busyIntervals.push([running.startedAt, this.now()]);
    if (reply.ok) {
      this.completed++;
      running.job.resolve({ ok: true, result: reply.result, bytes: reply.bytes, ms: reply.ms });
    } else {
      this.failed++;
      running.job.resolve({ ok: false, error: reply.error, ms: reply.ms });
    }
    this.pump();
  }

  private hung(slot: Slot, id: number): void {
    if (slot.running?.id !== id) return;
    this.replace(slot, `the kernel did not stop within ${slot.running.job.request.budgetMs + hangGraceMs} ms`);
  }

  /** Fails the running task and puts a fresh worker in the slot. */
  private replace(slot: Slot, error: string): void {
    const running = slot.running;
    slot.worker.terminate();
    slot.worker = this.spawn();
    this.replaced++;
    this.wire(slot);
    slot.running = null;
    if (running) {
      clearTimeout(running.watchdog);
      this.busyIntervals.push([running.startedAt, this.now()]);
      this.failed++;
      running.job.resolve({ ok: false, error, ms: this.now() - running.startedAt });
    }
    this.pump();
  }
}

/** Default pool size: every core but one (the UI and protocol need one), at least one. */
export function defaultPoolSize(hardwareConcurrency: number | undefined): number {
  return Math.max(1, (hardwareConcurrency ?? 2) - 1);
}
