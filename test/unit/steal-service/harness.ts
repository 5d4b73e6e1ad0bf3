// A few StealService nodes in one process, on vitest's fake clock: a stand-in runtime (it calls
// the service like NodeRuntime does and re-arms one wake-up timer after every call), links that
// carry frames as JSON after a small delay, in-memory stores, and compute pools whose kernel
// workers run the real kernels but take `taskMs` of virtual time per task. Only the message
// passing and the clock are fake; the service, the core and the kernels are the real ones.
import { vi } from 'vitest';
import { ComputePool, type KernelWorker } from '../../../src/compute/pool.ts';
import { handleKernelMessage } from '../../../src/compute/kernel-host.ts';
import type { KernelRequest } from '../../../src/compute/kernel-protocol.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { MemoryStorage } from '../../../src/store/memory.ts';
import type { ServiceContext, ServiceEvent } from '../../../src/worker/service.ts';
import { StealService } from '../../../src/worker/services/steal.ts';
import type { ComputePoolLike } from '../../../src/worker/services/steal-pool.ts';
import type { ComputeSnapshot, JobSnapshot } from '../../../src/worker/services/steal-snapshot.ts';
import { envSeed, longMode } from '../../sim/seed.ts';
import type { NodeBackend } from '../../../src/api/backend.ts';
import type { NodeSnapshot } from '../../../src/mesh-node.ts';
import { realTimers } from '../../../src/worker/real-clock.ts';

/** One-way delay of a frame between two linked nodes. */
export const linkDelayMs = 5;

export interface NodeOptions {
  /** Kernel workers (0: no pool at all). */
  workers?: number;
  /** Virtual milliseconds each task occupies a kernel worker. */
  taskMs?: number;
  /** Replace the real kernel's answer (a lying node). */
  tamper?: (request: KernelRequest, result: unknown) => unknown;
  storage?: MemoryStorage;
  /** Come back as this node (a restart: pass its store too). */
  id?: NodeId;
  /** Give the node an app that listens to its events (ServiceContext.publishEvent), for app kernels. */
  app?: boolean;
}

export interface TestNode {
  id: NodeId;
  service: StealService;
  storage: MemoryStorage;
  pool: ComputePool | null;
  rejected: Record<string, number>;
  /** Kernel runs started on this node's pool, by kind. */
  kernelRuns: number;
  /** App events the node posted, in order (with `app: true`). */
  appEvents: Array<{ name: string; payload: unknown }>;
  /** Listeners of app events (what a backend's onEvent adds). */
  appListeners: Map<string, Set<(payload: unknown) => void>>;
  app: boolean;
}

/** A kernel worker that answers with the real kernel after `taskMs` of (fake) time. */
function delayedWorker(node: { kernelRuns: number }, taskMs: number, tamper?: NodeOptions['tamper']): () => KernelWorker {
  return () => {
    let reply: (raw: unknown) => void = () => {};
    let alive = true;
    return {
      post: (request: KernelRequest) => {
        node.kernelRuns++;
        setTimeout(() => {
          if (!alive) return;
          handleKernelMessage(request, (answer) => {
            if (tamper && answer.ok) reply({ ...answer, result: tamper(request, answer.result) });
            else reply(answer);
          });
        }, taskMs);
      },
      onReply: (listener) => (reply = listener),
      onCrash: () => {},
      terminate: () => {
        alive = false;
      },
    };
  };
}

export class Mesh {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly runtimes = new Map<NodeId, FakeRuntime>();
  private readonly cut = new Set<string>();
  private counter = 0;

  constructor(readonly seed: number) {}

  async add(name: string, options: NodeOptions = {}): Promise<TestNode> {
    const id = options.id ?? (`${name}-${this.counter++}` as NodeId);
    const storage = options.storage ?? new MemoryStorage();
    const workers = options.workers ?? 1;
    const node: TestNode = {
      id,
      service: null as unknown as StealService,
      storage,
      pool: null,
      rejected: {},
      kernelRuns: 0,
      appEvents: [],
      appListeners: new Map(),
      app: options.app ?? false,
    };
    node.pool = workers > 0 ? new ComputePool(workers, delayedWorker(node, options.taskMs ?? 50, options.tamper), () => Date.now()) : null;
    node.service = new StealService({ createPool: () => node.pool as ComputePoolLike | null });
    const runtime = new FakeRuntime(this, node, createRng(`${this.seed}/${id}/${this.counter++}`));
    this.nodes.set(id, node);
    this.runtimes.set(id, runtime);
    await runtime.start();
    for (const other of this.runtimes.values()) {
      if (other === runtime) continue;
      other.call((s) => s.linkUp(id));
      runtime.call((s) => s.linkUp(other.node.id));
    }
    return node;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  linked(a: NodeId, b: NodeId): boolean {
    return a !== b && this.runtimes.has(a) && this.runtimes.has(b) && !this.cut.has(pair(a, b));
  }

  /** Delivers a frame after the link delay, as JSON (what crosses a data channel). */
  send(from: NodeId, to: NodeId, message: unknown): boolean {
    if (!this.linked(from, to)) return false;
    const wire = JSON.stringify(message);
    setTimeout(() => {
      if (this.linked(from, to)) this.runtimes.get(to)?.call((s) => s.receive(from, JSON.parse(wire)));
    }, linkDelayMs);
    return true;
  }

  /** A raw frame from `from` (which may be no node at all), straight into `to`'s service. */
  inject(from: string, to: NodeId, message: unknown): void {
    this.runtimes.get(to)?.call((s) => s.receive(from as NodeId, message));
  }

  /** What gossip's failure detector would tell every other node. */
  announce(peer: NodeId, status: 'alive' | 'dead' | 'left' | 'suspect'): void {
    for (const runtime of this.runtimes.values()) if (runtime.node.id !== peer) runtime.event({ type: 'member-status', peer, status });
  }

  /** The node's tab closes without a word: its links drop, its timers and pool stop. */
  crash(id: NodeId): void {
    const runtime = this.runtimes.get(id);
    if (!runtime) return;
    runtime.stop();
    this.runtimes.delete(id);
    // The service sends nothing on shutdown; this only stops its timer and its pool.
    runtime.node.service.shutdown();
  }

  /**
   * The node as the app API sees it (NodeBackend): its commands, its app events, its snapshot
   * (the stealing service's part), and snapshot listeners called as `until` advances time.
   */
  backend(id: NodeId): NodeBackend {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    const snapshotListeners = this.snapshotListeners;
    const snapshot = () => node.service.snapshot() as unknown as NodeSnapshot;
    return {
      command: (name, ...args) => this.command(id, name as 'submitJob', ...args),
      onEvent: (name, listener) => {
        const set = node.appListeners.get(name) ?? new Set();
        set.add(listener);
        node.appListeners.set(name, set);
        return () => void set.delete(listener);
      },
      snapshot,
      subscribe: (listener) => {
        const entry = () => listener(snapshot());
        snapshotListeners.add(entry);
        entry();
        return () => void snapshotListeners.delete(entry);
      },
      subscribeMemory: () => () => {},
      memory: () => undefined,
      close: () => this.crash(id),
    };
  }

  private readonly snapshotListeners = new Set<() => void>();

  async command<T>(
    id: NodeId,
    name: 'submitJob' | 'jobResult' | 'cancelJob' | 'jobTiles' | 'computeKinds' | 'computeSubmit' | 'computeTaskDone',
    ...args: unknown[]
  ): Promise<T> {
    const runtime = this.runtimes.get(id);
    if (!runtime) throw new Error(`no node ${id}`);
    return (await runtime.command(name, args)) as T;
  }

  snapshot(id: NodeId): { jobs: JobSnapshot[]; compute: ComputeSnapshot } {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node.service.snapshot() as { jobs: JobSnapshot[]; compute: ComputeSnapshot };
  }

  job(id: NodeId, jobId: string): JobSnapshot | undefined {
    return this.snapshot(id).jobs.find((j) => j.id === jobId);
  }

  /** Advances the fake clock in steps until `done()` holds; throws after `limitMs` of virtual time. */
  async until(done: () => boolean, what: string, limitMs = 60_000): Promise<void> {
    for (let waited = 0; !done(); waited += 50) {
      if (waited > limitMs) throw new Error(`not within ${limitMs} virtual ms: ${what}`);
      await vi.advanceTimersByTimeAsync(50);
      for (const listener of [...this.snapshotListeners]) listener();
    }
  }

  async advance(ms: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
  }
}

const pair = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** What NodeRuntime does for one service: its context, and re-arming the wake-up after each call. */
class FakeRuntime {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly mesh: Mesh,
    readonly node: TestNode,
    private readonly rng: ReturnType<typeof createRng>,
  ) {}

  async start(): Promise<void> {
    const ctx: ServiceContext = {
      self: this.node.id,
      room: 'test',
      now: () => Date.now(),
      timers: realTimers,
      rng: this.rng.fork('steal'),
      reenter: (fn) => fn(),
      storage: this.node.storage,
      send: (peer, message) => !this.stopped && this.mesh.send(this.node.id, peer, message),
      linkedPeers: () => this.mesh.ids().filter((p) => this.mesh.linked(this.node.id, p)),
      wantLink: () => {},
      unwantLink: () => {},
      sign: async () => '',
      verify: async () => false,
      changed: () => {},
      reject: (reason) => {
        this.node.rejected[reason] = (this.node.rejected[reason] ?? 0) + 1;
      },
      emit: () => {},
      ...(this.node.app
        ? {
            publishEvent: (name: string, payload: unknown) => {
              // A copy, as postMessage would make; delivered after the current call, as a message would be.
              const copy = structuredClone(payload);
              this.node.appEvents.push({ name, payload: copy });
              queueMicrotask(() => {
                for (const listener of [...(this.node.appListeners.get(name) ?? [])]) listener(copy);
              });
            },
          }
        : {}),
      // Every test node is linked to every other, so sendTo is a direct send.
      sendTo: (node, message) => void (!this.stopped && this.mesh.send(this.node.id, node, message)),
      broadcast: (message) => {
        for (const peer of this.mesh.ids()) if (peer !== this.node.id && !this.stopped) this.mesh.send(this.node.id, peer, message);
      },
    };
    await this.node.service.start(ctx);
    this.reschedule();
  }

  call(fn: (service: StealService) => void): void {
    if (this.stopped) return;
    fn(this.node.service);
    this.reschedule();
  }

  event(event: ServiceEvent): void {
    this.call((s) => s.onEvent(event));
  }

  async command(name: string, args: unknown[]): Promise<unknown> {
    if (this.stopped) throw new Error('node stopped');
    const command = (this.node.service.commands as Record<string, (args: unknown[]) => unknown>)[name];
    if (!command) throw new Error(`no command ${name}`);
    try {
      return await command(args);
    } finally {
      this.reschedule();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private reschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const at = this.node.service.nextWakeAt();
    if (at === undefined || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const due = this.node.service.nextWakeAt();
        if (due !== undefined && due <= Date.now()) this.node.service.tick(Date.now());
        this.reschedule();
      },
      Math.max(0, at - Date.now()),
    );
  }
}

/** Seeds: 1–3 by default, 1–20 with LONG=1, exactly SEED=<n> when given. */
export function seeds(): number[] {
  const fixed = envSeed();
  if (fixed !== undefined) return [fixed];
  return Array.from({ length: longMode() ? 20 : 3 }, (_, i) => i + 1);
}

/** Runs an async scenario; a failure names its seed and how to replay it. */
export async function withSeedAsync(seed: number, body: (mesh: Mesh) => Promise<void>): Promise<void> {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
  try {
    await body(new Mesh(seed));
  } catch (error) {
    const hint = `SEED=${seed} — replay with: SEED=${seed} npx vitest run --project unit test/unit/steal-service`;
    if (error instanceof Error) {
      error.message = `${error.message}\n${hint}`;
      throw error;
    }
    throw new Error(`${String(error)}\n${hint}`, { cause: error });
  } finally {
    vi.clearAllTimers();
    vi.useRealTimers();
  }
}
