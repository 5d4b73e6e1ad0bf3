// Scenario tests of whole nodes: a RealCluster (real NodeRuntime + every default service on
// simulated edges, one virtual clock) with the steps a test script needs — run until something
// holds, drive a node's commands as its page does, read what its page would show (the snapshot),
// inject a frame from a linked peer into a node's real decode path, crash and restart a node.
// The service-level test harnesses that copied the runtime's effect handling were folded into
// this (issue 18); see docs/simulation.md.
import { test } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { encodeFrame } from '../../../src/core/envelope.ts';
import type { ProtocolTag } from '../../../src/core/types.ts';
import type { ConsensusView } from '../../../src/worker/services/pbft-snapshot.ts';
import type { ComputeSnapshot, JobSnapshot } from '../../../src/worker/services/steal-snapshot.ts';
import { RealCluster, type RealClusterOptions, type SimNode, type Snapshot } from './real-cluster.ts';
import type { NodeSetup } from './node-setup.ts';
import { replayHint, seedsFor } from '../seed.ts';

/** Virtual milliseconds between two looks at a condition. */
const stepMs = 100;

export class RealRoom {
  readonly cluster: RealCluster;
  /** Steps of the test that may change what a node shows (see snapshot()). */
  private changes = 0;
  private readonly snapshots = new Map<SimNode, { key: string; snapshot: Snapshot }>();

  constructor(
    readonly seed: number,
    options: Omit<RealClusterOptions, 'seed'> = {},
  ) {
    this.cluster = new RealCluster({ room: 'scenario', ...options, seed });
  }

  get now(): number {
    return this.cluster.now;
  }

  get nodes(): SimNode[] {
    return this.cluster.nodes;
  }

  /** A new node, started at once (its links and its place in consensus come as the run goes on). */
  add(setup: NodeSetup = {}): SimNode {
    return this.cluster.add(setup);
  }

  /** `count` nodes at once, then runs until each is linked to every other (a small room's full mesh). */
  async addLinked(count: number, setup: (i: number) => NodeSetup = () => ({})): Promise<SimNode[]> {
    const added = Array.from({ length: count }, (_, i) => this.add(setup(i)));
    const all = this.cluster.nodes.filter((n) => n.state !== 'left' && n.state !== 'crashed');
    await this.runUntil(() => all.every((n) => n.isUp && this.linkedPeers(n).length === all.length - 1), `${all.length} nodes linked to each other`);
    return added;
  }

  /**
   * A room whose consensus has `size` replicas: the first node founds the genesis alone, then
   * the others arrive and join by committed membership operations; resolves once every node
   * lists all of them as replicas.
   */
  async replicaRoom(size: number): Promise<SimNode[]> {
    const nodes = [this.add()];
    await this.runUntil(() => nodes[0]!.isUp && this.consensus(nodes[0]!).status === 'replica', 'the first node founds the genesis');
    for (let i = 1; i < size; i++) nodes.push(this.add());
    const ids = nodes.map((n) => n.id).sort();
    await this.runUntil(
      () => nodes.every((n) => n.isUp && [...this.consensus(n).replicas].sort().join() === ids.join()),
      `all ${size} nodes are replicas everywhere`,
      60_000,
    );
    return nodes;
  }

  // ── what a page sees ──

  /**
   * What the node's page would show now. Building one costs about as much as a second of the
   * node's life, so it is reused until something could have changed it: an event run, room
   * time moving, or a step of the test (a command, an injected frame, a crash or a restart).
   */
  snapshot(node: SimNode): Snapshot {
    const key = `${this.now}|${this.cluster.scheduler.eventsRun}|${this.changes}`;
    const cached = this.snapshots.get(node);
    if (cached?.key === key && node.isUp) return cached.snapshot;
    const snapshot = this.cluster.snapshot(node);
    if (!snapshot) throw new Error(`${node.label} is not running (${node.state})`);
    this.snapshots.set(node, { key, snapshot });
    return snapshot;
  }

  consensus(node: SimNode): ConsensusView {
    return this.snapshot(node).consensus as ConsensusView;
  }

  compute(node: SimNode): ComputeSnapshot {
    return this.snapshot(node).compute as ComputeSnapshot;
  }

  job(node: SimNode, jobId: string): JobSnapshot | undefined {
    return (this.snapshot(node).jobs as JobSnapshot[]).find((j) => j.id === jobId);
  }

  /** The node's refusal list (the runtime's and every service's, as `protocol: reason`). */
  rejected(node: SimNode): Record<string, number> {
    return this.snapshot(node).rejected;
  }

  linkedPeers(node: SimNode): NodeId[] {
    return node.isUp ? this.snapshot(node).links.map((l) => l.peer as NodeId) : [];
  }

  /** Who gossip on `node` says is alive. */
  aliveMembers(node: SimNode): NodeId[] {
    const members = (this.snapshot(node).members ?? []) as Array<{ id: NodeId; status: string }>;
    return members.filter((m) => m.status === 'alive').map((m) => m.id);
  }

  /** The id of the genesis (consensus history) the node follows, or null. */
  genesisOf(node: SimNode): string | null {
    return this.consensus(node).genesis?.id ?? null;
  }

  /**
   * Safety across nodes: no two hold different operations at one sequence number of one
   * genesis (a node that lags holds fewer: that is liveness). The conflicts found, as text.
   */
  logConflicts(among: readonly SimNode[] = this.cluster.up()): string[] {
    const bySeq = new Map<string, { digest: string; node: SimNode }>();
    const conflicts: string[] = [];
    for (const node of among) {
      const genesis = this.genesisOf(node);
      for (const { seq, digest } of this.consensus(node).log) {
        const first = bySeq.get(`${genesis}/${seq}`);
        if (!first) bySeq.set(`${genesis}/${seq}`, { digest, node });
        else if (first.digest !== digest)
          conflicts.push(`genesis ${genesis} seq ${seq}: ${first.node.label} has ${first.digest.slice(0, 12)}, ${node.label} has ${digest.slice(0, 12)}`);
      }
    }
    return conflicts;
  }

  // ── what a page does ──

  /**
   * Runs a command on the node as its page does (window.tabmesh, the app API): returns what
   * the command returns (a promise for the slow ones) and throws what it throws.
   */
  command<T = unknown>(node: SimNode, name: string, ...args: unknown[]): T {
    const runtime = node.runtime;
    if (!runtime || !node.isUp) throw new Error(`${node.label} is not running (${node.state})`);
    this.changes++;
    const result = runtime.runServiceCommand(name, args);
    if (!result.found) throw new Error(`no command ${name}`);
    return result.value as T;
  }

  /** A command whose answer comes later: runs the room until it settles, and returns it (or throws its error). */
  call<T = unknown>(node: SimNode, name: string, ...args: unknown[]): Promise<T> {
    let started: Promise<T>;
    try {
      started = Promise.resolve(this.command<T | Promise<T>>(node, name, ...args));
    } catch (error) {
      started = Promise.reject(error as Error);
    }
    return this.until(started, `${name} at ${node.label}`);
  }

  propose(node: SimNode, op: unknown): Promise<number> {
    return this.command<Promise<number>>(node, 'propose', op);
  }

  /**
   * Proposes `value` at `node` until a proposal commits, within `withinMs` of room time: one
   * refused or timed out (a view change after a fault can take a while) is made again.
   * Resolves with its sequence number.
   */
  async commitEventually(node: SimNode, value: string, what: string, withinMs = 60_000): Promise<number> {
    let outcome: unknown = undefined;
    const propose = (attempt: string) => {
      let started: Promise<number>;
      try {
        started = this.propose(node, attempt);
      } catch (error) {
        started = Promise.reject(error as Error);
      }
      started.then(
        (seq) => (outcome = seq),
        (error: unknown) => (outcome = error),
      );
    };
    propose(value);
    await this.runUntil(
      () => {
        if (outcome instanceof Error) {
          outcome = undefined;
          propose(`${value}, again`);
        }
        return typeof outcome === 'number';
      },
      what,
      withinMs,
    );
    return outcome as number;
  }

  // ── faults ──

  /** The node's process dies (timers stop, links go silent, writes not yet committed are lost). */
  crash(node: SimNode): void {
    this.changes++;
    this.cluster.crash(node, false);
  }

  /** A crashed node starts again as itself, from what its disk kept; resolves once it runs. */
  async restart(node: SimNode, setup: NodeSetup = node.setup): Promise<SimNode> {
    node.setup = setup;
    this.changes++;
    this.cluster.start(node);
    await this.runUntil(() => node.isUp, `${node.label} restarted`);
    return node;
  }

  /**
   * Bytes that arrive at `target` on its link from `from` (a Byzantine or fuzzing peer), into
   * the target's real receive path: PeerGuard, the frame decoder, the service's decoder. The
   * link must be up. Runs synchronously, as a frame's arrival does.
   */
  inject(target: SimNode, from: SimNode, bytes: Uint8Array): void {
    const endpoint = target.host?.endpoint(from.id);
    const life = target.life;
    if (!endpoint?.up || !life?.events || !target.isUp) throw new Error(`no link up from ${from.label} to ${target.label}`);
    this.changes++;
    life.run(() => life.events?.data(from.id, endpoint.linkId, bytes));
  }

  /** A message of `protocol` from `from`, encoded as on the wire, injected as above. */
  injectMessage(target: SimNode, from: SimNode, protocol: ProtocolTag, message: unknown): void {
    this.inject(target, from, encodeFrame(protocol, message));
  }

  // ── time ──

  runFor(ms: number): Promise<void> {
    return this.cluster.runFor(ms);
  }

  /** Runs until `predicate` holds (checked every few virtual ms); fails after `withinMs` of room time, saying where each node is. */
  async runUntil(predicate: () => boolean, what: string, withinMs = 30_000): Promise<void> {
    const deadline = this.now + withinMs;
    for (;;) {
      this.failOnNodeErrors();
      if (predicate()) return;
      if (this.now >= deadline) throw new Error(`room time ran out (${withinMs} ms) waiting for: ${what}\n${this.describe()}`);
      await this.cluster.runFor(stepMs);
    }
  }

  /** Waits for a promise while the room runs. */
  async until<T>(promise: Promise<T>, what: string, withinMs = 30_000): Promise<T> {
    let settled = false;
    let value: T | undefined;
    let failure: unknown;
    let failed = false;
    promise.then(
      (v) => ((settled = true), (value = v)),
      (e: unknown) => ((settled = true), (failed = true), (failure = e)),
    );
    await this.cluster.scheduler.runUntil(this.now); // lets an already settled promise report
    await this.runUntil(() => settled, what, withinMs);
    if (failed) throw failure;
    return value as T;
  }

  /** Resolves after `ms` of room time (for an app's kernels that take time, on the page). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const event = this.cluster.scheduler.after(ms, resolve);
      signal?.addEventListener('abort', () => {
        this.cluster.scheduler.cancel(event);
        reject(new Error('aborted'));
      });
    });
  }

  /** One line per node: where it is. */
  describe(): string {
    return this.cluster.nodes
      .map((n) => {
        if (!n.isUp) return `${n.label} ${n.id.slice(0, 8)}: ${n.state}`;
        const v = this.consensus(n);
        const links = this.linkedPeers(n).length;
        return `${n.label} ${n.id.slice(0, 8)}: ${links} links, ${v.status} g=${v.genesis?.id ?? '-'} e${v.epoch} v${v.view}${v.mode === 'view-change' ? '*' : ''} n=${v.n} exec ${v.lastCommitted}${v.halted ? ` [${v.halted}]` : ''}`;
      })
      .join('\n');
  }

  /** An exception that escaped a node is a bug, whatever the test does: fail at once. */
  failOnNodeErrors(): void {
    if (this.cluster.errors.length > 0) throw new Error(`a node threw:\n${this.cluster.errors.join('\n')}`);
  }
}

/**
 * One vitest test per seed (1, 2, … ; more with LONG=1; exactly SEED=<n>), each on a fresh
 * RealRoom; a failure says its seed and how to replay it.
 */
export function roomTest(
  name: string,
  body: (room: RealRoom, seed: number) => Promise<void>,
  options: { seeds?: number; longSeeds?: number; timeoutMs?: number; room?: Omit<RealClusterOptions, 'seed'> } = {},
): void {
  for (const seed of seedsFor(options.seeds ?? 1, options.longSeeds ?? (options.seeds ?? 1) * 5)) {
    test(
      `${name} [seed ${seed}]`,
      async () => {
        try {
          await body(new RealRoom(seed, options.room), seed);
        } catch (error) {
          const hint = `SEED=${seed} — replay with: ${replayHint(seed, name)}`;
          if (error instanceof Error) error.message = `${error.message}\n${hint}`;
          throw error;
        }
      },
      options.timeoutMs ?? 30_000,
    );
  }
}
