// A room of real nodes in one process: each node is NodeRuntime with createDefaultServices(),
// the same code a tab's worker and the Node peer run, over simulated edges — links
// (sim-links.ts), the signaling server's room logic (sim-signaling.ts), a disk with IndexedDB's
// commit semantics (sim-storage.ts), seeded crypto (sim-crypto.ts) and compute (sim-compute.ts)
// — all on one virtual clock (scheduler.ts). One seed decides everything; the trace hash shows
// two runs were the same. The VOPR (test/sim/vopr/) drives faults and checks on top of this.
import { createRng, type Rng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import type { Identity } from '../../../src/crypto/ed25519.ts';
import { createDefaultServices } from '../../../src/worker/default-services.ts';
import { NodeRuntime } from '../../../src/worker/runtime.ts';
import type { Clock, TimerHandle, Timers } from '../../../src/worker/clock.ts';
import type { LinkHostEvents } from '../../../src/net/transport.ts';
import type { BaseSnapshot } from '../../../src/worker/snapshot.ts';
import type { NodeLife } from './node-life.ts';
import { VirtualScheduler } from './scheduler.ts';
import { SimCrypto, type SignatureMode } from './sim-crypto.ts';
import { SimDisk, SimStorage } from './sim-storage.ts';
import { simComputePool } from './sim-compute.ts';
import { SimLinkNetwork, type SimLinkHost } from './sim-links.ts';
import { SimSignalingServer, type SimSocket } from './sim-signaling.ts';
import { TraceHash } from './trace.ts';
import type { NodeSetup } from './node-setup.ts';

/** Wall-clock time at the start of every run (a fixed date, so runs replay). */
export const epochMs = Date.UTC(2026, 0, 1);

export interface RealClusterOptions {
  seed: number;
  /** 'fast' (default): seeded fake signatures; 'ed25519': real ones (slower). */
  signatures?: SignatureMode;
  room?: string;
  /** Virtual ms from a write to its commit. */
  commitMs?: { min: number; max: number };
  /** Virtual ms one compute task takes. */
  computeMs?: { min: number; max: number };
  /** One-way delay to the signaling server. */
  signalingDelayMs?: { min: number; max: number };
  /** Raise the server's room cap for large-room runs. */
  maxNodesPerRoom?: number;
}

export type Snapshot = BaseSnapshot & Record<string, unknown>;

/** One node of the run, across its lives (restarts keep its identity and its durable disk). */
export class SimNode {
  life: Life | null = null;
  runtime: NodeRuntime | null = null;
  host: SimLinkHost | null = null;
  storage: SimStorage | null = null;
  lives = 0;
  /** Wall-clock offset (clock jumps); the monotonic clock never jumps. */
  wallOffsetMs = 0;
  sleepingUntil = 0;
  /** What arrived while asleep, run in order on waking. */
  deferred: Array<() => void> = [];
  /** 'left' nodes are gone for good; 'crashed' ones may restart. */
  state: 'starting' | 'up' | 'crashed' | 'left' = 'crashed';
  sockets: SimSocket[] = [];
  readonly disk = new SimDisk();
  /** What this node's edges differ in from the defaults (its compute pool, an app on its page). */
  setup: NodeSetup = {};

  constructor(
    readonly index: number,
    readonly identity: Identity,
  ) {}

  get id(): NodeId {
    return this.identity.id;
  }

  get label(): string {
    return `n${this.index}`;
  }

  get isUp(): boolean {
    return this.state === 'up' && this.runtime !== null;
  }

  get asleep(): boolean {
    return this.sleepingUntil > 0;
  }
}

class Life implements NodeLife {
  alive = true;
  events: LinkHostEvents | null = null;
  /** Link events that came before the runtime was ready. */
  private early: Array<() => void> = [];

  constructor(
    readonly node: SimNode,
    private readonly cluster: RealCluster,
  ) {}

  get id(): NodeId {
    return this.node.id;
  }
  get index(): number {
    return this.node.index;
  }

  run(fn: () => void): void {
    if (!this.alive) return;
    if (this.node.asleep) {
      this.node.deferred.push(() => this.run(fn));
      return;
    }
    if (!this.events) {
      this.early.push(fn);
      return;
    }
    this.exec(fn);
  }

  ready(events: LinkHostEvents): void {
    this.events = events;
    for (const fn of this.early.splice(0)) this.exec(fn);
  }

  exec(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      // In a tab this is an uncaught exception in the worker: a bug, whatever the input was.
      this.cluster.nodeError(this.node, error);
    }
  }
}

class LifeTimers implements Timers {
  constructor(
    private readonly scheduler: VirtualScheduler,
    private readonly life: Life,
  ) {}
  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Timers are not link events: they run even before the runtime is ready.
    return this.scheduler.after(Math.max(0, ms), () => {
      if (!this.life.alive) return;
      if (this.life.node.asleep) this.life.node.deferred.push(() => this.life.alive && this.life.exec(fn));
      else this.life.exec(fn);
    });
  }
  clearTimeout(handle: TimerHandle): void {
    this.scheduler.cancel(handle as Parameters<VirtualScheduler['cancel']>[0]);
  }
}

export class RealCluster {
  readonly scheduler = new VirtualScheduler();
  readonly trace = new TraceHash(this.scheduler);
  readonly rng: Rng;
  readonly crypto: SimCrypto;
  readonly network: SimLinkNetwork;
  readonly signaling: SimSignalingServer;
  readonly nodes: SimNode[] = [];
  /** Exceptions that escaped a node (a failure of the run, whatever else happens). */
  readonly errors: string[] = [];
  private readonly room: string;

  constructor(private readonly options: RealClusterOptions) {
    this.rng = createRng(options.seed);
    this.crypto = new SimCrypto(options.signatures ?? 'fast');
    this.network = new SimLinkNetwork(this.scheduler, this.rng.fork('links'), this.trace);
    const sigRng = this.rng.fork('signaling-delay');
    const sd = options.signalingDelayMs ?? { min: 10, max: 60 };
    this.signaling = new SimSignalingServer(
      this.scheduler,
      this.rng.fork('signaling'),
      this.crypto,
      this.trace,
      () => sd.min + sigRng.int(sd.max - sd.min + 1),
      options.maxNodesPerRoom,
    );
    this.room = options.room ?? 'vopr';
  }

  get now(): number {
    return this.scheduler.now;
  }

  /** A new node (a fresh identity and an empty disk), started at once. */
  add(setup: NodeSetup = {}): SimNode {
    const node = new SimNode(this.nodes.length, this.crypto.newIdentity(this.rng.fork(`identity ${this.nodes.length}`)));
    node.setup = setup;
    this.nodes.push(node);
    this.start(node);
    return node;
  }

  /** Starts a node's next life from its durable disk. */
  start(node: SimNode): void {
    if (node.state === 'starting' || node.state === 'up') throw new Error(`${node.label} is already running`);
    node.lives++;
    node.state = 'starting';
    node.sleepingUntil = 0;
    node.deferred = [];
    node.sockets = [];
    this.trace.note(`start ${node.index}`);
    const life = new Life(node, this);
    const rng = this.rng.fork(`${node.label} life ${node.lives}`);
    const timers = new LifeTimers(this.scheduler, life);
    const commit = this.options.commitMs ?? { min: 1, max: 8 };
    const diskRng = rng.fork('disk');
    const storage = new SimStorage(node.disk, this.scheduler, diskRng, () => commit.min + diskRng.int(commit.max - commit.min + 1));
    const host = this.network.attach(life);
    node.life = life;
    node.host = host;
    node.storage = storage;
    node.runtime = null;
    const scheduler = this.scheduler;
    const clock: Clock = { now: () => epochMs + scheduler.now + node.wallOffsetMs, monotonic: () => scheduler.now };
    const compute = this.options.computeMs ?? { min: 20, max: 200 };
    const computeRng = rng.fork('compute');
    void NodeRuntime.start({
      room: this.room,
      slot: 0,
      signalingUrl: 'wss://sim.invalid/signal',
      storage,
      createSocket: () => {
        const socket = this.signaling.connect(life) as SimSocket;
        node.sockets.push(socket);
        return socket;
      },
      linkHost: host,
      iceServers: [],
      clock,
      timers,
      crypto: this.crypto.forNode(rng.fork('crypto')),
      services: createDefaultServices({
        computePool: () => (node.setup.computePool ? node.setup.computePool(timers, computeRng) : simComputePool(timers, computeRng, compute)),
      }),
      loadIdentity: async () => ({ identity: node.identity, origin: node.lives === 1 ? 'created' : 'loaded' }),
      // Only a node with a page (a scenario's app) builds snapshots as it runs; the others are
      // asked on demand (cluster.snapshot), as the checkers do.
      ...(node.setup.publishSnapshot ? { publishSnapshot: node.setup.publishSnapshot } : {}),
      ...(node.setup.publishEvent ? { publishEvent: node.setup.publishEvent } : {}),
    }).then(
      (runtime) => {
        if (!life.alive) return;
        node.runtime = runtime;
        node.state = 'up';
        life.ready(runtime);
      },
      (error: unknown) => {
        if (!life.alive) return;
        this.nodeError(node, error);
        this.kill(node, 'crashed', false);
      },
    );
  }

  /** The node's process dies: timers stop, uncommitted writes are lost (or torn), links go silent. */
  crash(node: SimNode, torn: boolean): void {
    if (node.state !== 'up' && node.state !== 'starting') return;
    this.trace.note(`crash ${node.index} ${torn ? 'torn' : ''}`);
    this.kill(node, 'crashed', torn);
  }

  /** The tab is closed: the page sends the last words, then the node is gone for good. */
  leave(node: SimNode): void {
    if (node.state !== 'up') return;
    this.trace.note(`leave ${node.index}`);
    node.host?.speakLastWordsAndClose();
    for (const s of node.sockets) s.abort();
    this.kill(node, 'left', false);
  }

  private kill(node: SimNode, state: 'crashed' | 'left', torn: boolean): void {
    const life = node.life;
    if (life) life.alive = false;
    node.storage?.crash(torn);
    node.host?.vanish();
    for (const s of node.sockets) s.abort();
    node.sockets = [];
    node.runtime = null;
    node.state = state;
    node.sleepingUntil = 0;
    node.deferred = [];
  }

  /** The tab is frozen for `ms`: nothing of it runs; what arrives waits; it runs again late. */
  sleep(node: SimNode, ms: number): void {
    if (!node.isUp || node.asleep) return;
    this.trace.note(`sleep ${node.index} ${ms}`);
    node.sleepingUntil = this.now + ms;
    const life = node.life;
    this.scheduler.at(node.sleepingUntil, () => {
      if (node.life !== life || !life?.alive) return;
      this.wake(node);
    });
  }

  wake(node: SimNode): void {
    if (!node.asleep) return;
    node.sleepingUntil = 0;
    for (const fn of node.deferred.splice(0)) fn();
  }

  /** The node's wall clock jumps by `ms` (negative: set back). */
  jumpClock(node: SimNode, ms: number): void {
    this.trace.note(`clock ${node.index} ${ms}`);
    node.wallOffsetMs += ms;
  }

  /** Runs a service command on a node as its page would; undefined if it is not running. */
  command(node: SimNode, name: string, ...args: unknown[]): { ok: true; value: unknown } | { ok: false; error: string } | undefined {
    const runtime = node.runtime;
    if (!runtime || !node.isUp || node.asleep) return undefined;
    try {
      const result = runtime.runServiceCommand(name, args);
      if (!result.found) return { ok: false, error: `no command ${name}` };
      return { ok: true, value: result.value };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  snapshot(node: SimNode): Snapshot | null {
    return node.isUp && node.runtime ? node.runtime.snapshot() : null;
  }

  up(): SimNode[] {
    return this.nodes.filter((n) => n.isUp);
  }

  nodeError(node: SimNode, error: unknown): void {
    const text = error instanceof Error ? `${error.message}\n${error.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(error);
    this.errors.push(`${node.label} at ${this.now} ms: ${text}`);
  }

  runFor(ms: number): Promise<void> {
    return this.scheduler.runUntil(this.now + ms);
  }
}
