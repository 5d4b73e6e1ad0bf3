// Runs N nodes of any protocol on the virtual clock and the seeded network. A node is anything
// implementing SimNode (usually a thin adapter around a pure core); the cluster calls it when
// a message arrives or a timer it asked for is due, and gives it a context to send through and
// a disk (SimStorage) to persist on. One seed drives everything; the same seed and the same
// script give the same trace, checked by hashing it (traceHash).
//
// Durability order, as a runtime must do it: what a node writes during a step is flushed
// before the messages of that step leave. With `flushDelayMs` > 0 the flush takes that long
// and the messages wait for it; a crash in between loses both, as if the step never happened.
import { createRng, hashString, type Rng } from '../../src/core/rng.ts';
import { asNodeId, type Millis, type NodeId } from '../../src/core/types.ts';
import { VirtualClock, type ScheduledEvent } from './clock.ts';
import { SimNetwork, type NetworkOptions } from './network.ts';
import { SimStorage } from './storage.ts';

/** What the cluster needs from a node. Every call is one "step" of that node. */
export interface SimNode<Msg> {
  /** A message from `from` has arrived (over a direct link, so `from` is trustworthy). */
  deliver(now: Millis, from: NodeId, msg: Msg): void;
  /** Called at (or, with lagging timers, after) the time nextWakeAt() asked for. */
  tick(now: Millis): void;
  /** When the node next wants `tick`, or undefined for never. Asked after every step. */
  nextWakeAt(): Millis | undefined;
}

/** What a node gets from the cluster: its identity, its own Rng stream, its disk, a way out. */
export interface SimNodeContext<Msg> {
  readonly id: NodeId;
  readonly rng: Rng;
  readonly storage: SimStorage;
  /** How many times this id was started before this one (0 on first start). */
  readonly restarts: number;
  now(): Millis;
  /** Queues a message; it leaves when the current step ends (after the flush, see above). */
  send(to: NodeId, msg: Msg): void;
  /** Reports an event (e.g. a core's UI event) to cluster listeners; it is also traced. */
  emit(event: unknown): void;
}

export type SimNodeFactory<Msg, N extends SimNode<Msg>> = (ctx: SimNodeContext<Msg>) => N;

export interface ClusterOptions<Msg, N extends SimNode<Msg>> {
  seed: number;
  create: SimNodeFactory<Msg, N>;
  network?: NetworkOptions;
  /**
   * 'json' (default): messages cross the network as JSON text, as between tabs — the receiver
   * gets a fresh object, bytes are counted, nothing is shared. 'reference': the object itself
   * is handed over (faster; use `sizeOf` to count bytes).
   */
  wire?: 'json' | 'reference';
  sizeOf?: (msg: Msg) => number;
  /** How long a storage flush takes; 0 (default) flushes at the end of every step. */
  flushDelayMs?: Millis;
  /** Keep the last this-many trace lines in memory for debugging (default 0: only the hash). */
  traceLines?: number;
  /** Turns a message into trace text; default JSON. */
  describe?: (msg: Msg) => string;
}

export interface NodeEvent {
  at: Millis;
  id: NodeId;
  event: unknown;
}

type Wire<Msg> = { text: string } | { msg: Msg };

type ClusterEvent<Msg> =
  | { kind: 'deliver'; to: NodeId; from: NodeId; wire: Wire<Msg> }
  | { kind: 'wake'; id: NodeId; life: number }
  | { kind: 'flush'; id: NodeId; life: number; batches: number; messages: number }
  | { kind: 'call'; label: string; fn: () => void };

interface NodeRecord<Msg, N> {
  readonly id: NodeId;
  node: N;
  /** Bumped on every start, so timers and contexts of an earlier life are ignored. */
  life: number;
  up: boolean;
  restarts: number;
  readonly storage: SimStorage;
  outbox: Array<{ to: NodeId; msg: Msg }>;
  wake: ScheduledEvent<ClusterEvent<Msg>> | undefined;
  /** The time the node asked for when `wake` was scheduled. */
  wakeWanted: Millis | undefined;
  flush: ScheduledEvent<ClusterEvent<Msg>> | undefined;
  /** Guard against a node that keeps asking to wake at a time that has already come. */
  wakesAtSameTime: number;
  lastWakeTime: Millis;
}

/** A node asking to wake at the current time this often in a row is stuck in a loop: a bug. */
const maxWakesAtOneInstant = 10_000;

export interface ClusterStats {
  events: number;
  deliveries: number;
  wakes: number;
  crashes: number;
  restarts: number;
}

export class SimCluster<Msg, N extends SimNode<Msg>> {
  readonly seed: number;
  readonly clock = new VirtualClock<ClusterEvent<Msg>>(0);
  readonly network: SimNetwork;
  readonly stats: ClusterStats = { events: 0, deliveries: 0, wakes: 0, crashes: 0, restarts: 0 };
  private readonly rng: Rng;
  private readonly faultRng: Rng;
  private readonly records = new Map<NodeId, NodeRecord<Msg, N>>();
  private readonly order: NodeId[] = [];
  private readonly listeners: Array<(e: NodeEvent) => void> = [];
  private inStep: NodeRecord<Msg, N> | undefined;
  private traceHashState = 0x811c9dc5;
  private traceCount = 0;
  private readonly traceKeep: number;
  private readonly trace: string[] = [];
  private readonly wire: 'json' | 'reference';
  private readonly flushDelayMs: Millis;

  constructor(private readonly options: ClusterOptions<Msg, N>) {
    this.seed = options.seed;
    this.rng = createRng(options.seed);
    this.network = new SimNetwork(this.rng.fork('network'), options.network);
    this.faultRng = this.rng.fork('faults');
    this.wire = options.wire ?? 'json';
    this.flushDelayMs = options.flushDelayMs ?? 0;
    this.traceKeep = options.traceLines ?? 0;
  }

  get now(): Millis {
    return this.clock.now;
  }

  // ── membership of the simulation ───────────────────────────────────────────

  /** Starts a new node (fresh disk). */
  add(rawId: string): NodeId {
    const id = asNodeId(rawId);
    if (this.records.has(id)) throw new Error(`node ${id} already exists; use restart()`);
    const storage = new SimStorage();
    const record: NodeRecord<Msg, N> = {
      id,
      node: undefined as unknown as N,
      life: 0,
      up: false,
      restarts: 0,
      storage,
      outbox: [],
      wake: undefined,
      wakeWanted: undefined,
      flush: undefined,
      wakesAtSameTime: 0,
      lastWakeTime: -1,
    };
    this.records.set(id, record);
    this.order.push(id);
    this.start(record);
    return id;
  }

  /** Starts `count` nodes named `${prefix}0`, `${prefix}1`, … and returns their ids. */
  addMany(count: number, prefix = 'n'): NodeId[] {
    const base = this.order.length;
    const ids: NodeId[] = [];
    for (let i = 0; i < count; i++) ids.push(this.add(`${prefix}${base + i}`));
    return ids;
  }

  /**
   * Kills a node: it stops at once, its unflushed writes and unsent messages are lost (with
   * `partialFlush`, a random prefix of the pending batches had reached the disk). Messages it
   * already sent are still in flight; messages to it are dropped while it is down.
   */
  crash(id: NodeId, options: { partialFlush?: boolean } = {}): void {
    const record = this.record(id);
    if (!record.up) return;
    this.trace_(`crash ${id}`);
    record.up = false;
    record.outbox = [];
    record.storage.crash(options.partialFlush ? this.faultRng : undefined);
    this.cancelTimers(record);
    this.stats.crashes++;
  }

  /** A clean stop: pending writes are flushed and pending messages sent, then the node is down. */
  shutdown(id: NodeId): void {
    const record = this.record(id);
    if (!record.up) return;
    this.trace_(`shutdown ${id}`);
    record.storage.flush();
    this.release(record);
    record.up = false;
    this.cancelTimers(record);
  }

  /** Starts a node again from what its disk durably holds (crashing it first if it is up). */
  restart(id: NodeId): void {
    const record = this.record(id);
    if (record.up) this.crash(id);
    record.restarts++;
    this.stats.restarts++;
    this.start(record);
  }

  /** Erases a (down) node's disk, so a restart begins from nothing. */
  wipe(id: NodeId): void {
    const record = this.record(id);
    if (record.up) throw new Error(`wipe(${id}) needs the node down; crash it first`);
    record.storage.wipe();
  }

  isUp(id: NodeId): boolean {
    return this.records.get(id)?.up ?? false;
  }

  /** Every id ever added, in the order added. */
  ids(): NodeId[] {
    return [...this.order];
  }

  /** Ids of the nodes that are running, in the order added. */
  upIds(): NodeId[] {
    return this.order.filter((id) => this.records.get(id)?.up);
  }

  /** The running node (throws if it is down: reading a dead node's state is a test bug). */
  node(id: NodeId): N {
    const record = this.record(id);
    if (!record.up) throw new Error(`node ${id} is down`);
    return record.node;
  }

  storage(id: NodeId): SimStorage {
    return this.record(id).storage;
  }

  // ── driving nodes from the test script ─────────────────────────────────────

  /**
   * Runs `fn` against a running node as one step (a user command, an input from another
   * layer): its sends and writes are handled exactly as in deliver/tick.
   */
  act<R>(id: NodeId, fn: (node: N, now: Millis) => R): R {
    const record = this.record(id);
    if (!record.up) throw new Error(`act(${id}): node is down`);
    let result: R | undefined;
    this.step(record, () => {
      result = fn(record.node, this.now);
    });
    return result as R;
  }

  /** Schedules a script action at an absolute virtual time. */
  at(time: Millis, label: string, fn: () => void): void {
    this.clock.at(time, { kind: 'call', label, fn });
  }

  // ── running time ───────────────────────────────────────────────────────────

  runFor(durationMs: Millis): void {
    this.runUntilTime(this.now + durationMs);
  }

  runUntilTime(time: Millis): void {
    this.clock.runUntil(time, (event) => this.handle(event));
  }

  /**
   * Runs until `done()` holds, checking every `checkEveryMs` of virtual time (default 10 ms),
   * for at most `timeoutMs`. Returns whether it held; the clock stops at the check that saw it.
   */
  runUntil(done: () => boolean, options: { timeoutMs: Millis; checkEveryMs?: Millis }): boolean {
    const step = options.checkEveryMs ?? 10;
    const deadline = this.now + options.timeoutMs;
    if (done()) return true;
    while (this.now < deadline) {
      this.runUntilTime(Math.min(deadline, this.now + step));
      if (done()) return true;
    }
    return false;
  }

  // ── observing ──────────────────────────────────────────────────────────────

  onEvent(listener: (e: NodeEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** A fingerprint of everything that happened so far: equal seeds and scripts give equal hashes. */
  traceHash(): string {
    return `${(this.traceHashState >>> 0).toString(16).padStart(8, '0')}:${this.traceCount}`;
  }

  /** The last `traceLines` trace lines (see options), oldest first. */
  recentTrace(): string[] {
    return [...this.trace];
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private record(id: NodeId): NodeRecord<Msg, N> {
    const record = this.records.get(id);
    if (!record) throw new Error(`no node ${id} in this cluster`);
    return record;
  }

  private start(record: NodeRecord<Msg, N>): void {
    record.life++;
    record.up = true;
    record.outbox = [];
    record.wakesAtSameTime = 0;
    const life = record.life;
    const ctx: SimNodeContext<Msg> = {
      id: record.id,
      rng: this.rng.fork(`node/${record.id}/${life}`),
      storage: record.storage,
      restarts: record.restarts,
      now: () => this.now,
      send: (to, msg) => this.send(record, life, to, msg),
      emit: (event) => this.emit(record, life, event),
    };
    this.trace_(`start ${record.id} life=${life}`);
    this.step(record, () => {
      record.node = this.options.create(ctx);
    });
  }

  private send(record: NodeRecord<Msg, N>, life: number, to: NodeId, msg: Msg): void {
    if (!record.up || record.life !== life) return; // a context kept by an earlier life
    record.outbox.push({ to, msg });
    if (this.inStep !== record) this.release(record); // sent outside a step: leaves at once
  }

  private emit(record: NodeRecord<Msg, N>, life: number, event: unknown): void {
    if (!record.up || record.life !== life) return;
    this.trace_(`event ${record.id} ${safeJson(event)}`);
    const e: NodeEvent = { at: this.now, id: record.id, event };
    for (const listener of this.listeners) listener(e);
  }

  private step(record: NodeRecord<Msg, N>, body: () => void): void {
    const outer = this.inStep;
    this.inStep = record;
    try {
      body();
    } finally {
      this.inStep = outer;
    }
    if (!record.up) return;
    if (this.flushDelayMs <= 0 || record.storage.pendingBatches === 0) {
      record.storage.flush();
      if (!record.flush) this.release(record);
    } else if (!record.flush) {
      this.startFlush(record);
    }
    this.scheduleWake(record);
  }

  /** A flush covers what is pending when it starts; later writes and sends wait for the next. */
  private startFlush(record: NodeRecord<Msg, N>): void {
    record.flush = this.clock.after(this.flushDelayMs, {
      kind: 'flush',
      id: record.id,
      life: record.life,
      batches: record.storage.pendingBatches,
      messages: record.outbox.length,
    });
  }

  private release(record: NodeRecord<Msg, N>, count = record.outbox.length): void {
    const outbox = record.outbox.slice(0, count);
    record.outbox = record.outbox.slice(count);
    for (const { to, msg } of outbox) this.transmit(record.id, to, msg);
  }

  private transmit(from: NodeId, to: NodeId, msg: Msg): void {
    let wire: Wire<Msg>;
    let bytes: number;
    if (this.wire === 'json') {
      const text = JSON.stringify(msg) as string | undefined;
      if (text === undefined) throw new Error(`node ${from} sent a message that is not JSON: ${String(msg)}`);
      wire = { text };
      bytes = text.length;
    } else {
      wire = { msg };
      bytes = this.options.sizeOf?.(msg) ?? 0;
    }
    for (const arrival of this.network.route(this.now, from, to, bytes)) {
      this.clock.at(arrival, { kind: 'deliver', to, from, wire });
    }
  }

  private scheduleWake(record: NodeRecord<Msg, N>): void {
    const wanted = record.node.nextWakeAt();
    if (wanted === undefined) {
      if (record.wake) this.clock.cancel(record.wake);
      record.wake = undefined;
      return;
    }
    if (!Number.isFinite(wanted)) throw new Error(`node ${record.id} asked to wake at ${wanted}`);
    // The same request as before keeps its timer (a lagging timer is not pushed back by every step).
    if (record.wake && !record.wake.cancelled && record.wakeWanted === wanted) return;
    const at = Math.max(wanted, this.now) + this.network.timerLag(record.id);
    if (record.wake) this.clock.cancel(record.wake);
    record.wake = this.clock.at(at, { kind: 'wake', id: record.id, life: record.life });
    record.wakeWanted = wanted;
  }

  private cancelTimers(record: NodeRecord<Msg, N>): void {
    if (record.wake) this.clock.cancel(record.wake);
    if (record.flush) this.clock.cancel(record.flush);
    record.wake = undefined;
    record.flush = undefined;
  }

  private handle(event: ClusterEvent<Msg>): void {
    this.stats.events++;
    switch (event.kind) {
      case 'deliver': {
        const record = this.records.get(event.to);
        const text = 'text' in event.wire ? event.wire.text : this.describe(event.wire.msg);
        if (!record?.up) {
          this.network.stats.dropped['node-down']++;
          return;
        }
        // A partition or a closed link that appeared while the message was in flight drops it.
        const cut = this.network.connected(event.from, event.to);
        if (cut) {
          this.network.stats.dropped[cut]++;
          return;
        }
        this.trace_(`deliver ${event.from}>${event.to} ${text}`);
        this.network.stats.delivered++;
        this.stats.deliveries++;
        const msg = 'text' in event.wire ? (JSON.parse(event.wire.text) as Msg) : event.wire.msg;
        this.step(record, () => record.node.deliver(this.now, event.from, msg));
        return;
      }
      case 'wake': {
        const record = this.records.get(event.id);
        if (!record?.up || record.life !== event.life) return;
        record.wake = undefined;
        if (record.lastWakeTime === this.now) {
          if (++record.wakesAtSameTime > maxWakesAtOneInstant) {
            throw new Error(`node ${record.id} asked to wake at ${this.now} ${maxWakesAtOneInstant} times in a row: its nextWakeAt() never moves on`);
          }
        } else {
          record.lastWakeTime = this.now;
          record.wakesAtSameTime = 0;
        }
        this.trace_(`wake ${event.id}`);
        this.stats.wakes++;
        this.step(record, () => record.node.tick(this.now));
        return;
      }
      case 'flush': {
        const record = this.records.get(event.id);
        if (!record?.up || record.life !== event.life) return;
        record.flush = undefined;
        record.storage.flush(event.batches);
        this.release(record, event.messages);
        // Writes and sends made while this flush was under way get their own flush.
        if (record.storage.pendingBatches > 0) this.startFlush(record);
        else this.release(record);
        return;
      }
      case 'call':
        this.trace_(`call ${event.label}`);
        event.fn();
        return;
    }
  }

  private describe(msg: Msg): string {
    return this.options.describe ? this.options.describe(msg) : safeJson(msg);
  }

  private trace_(line: string): void {
    const full = `${this.now} ${line}`;
    this.traceHashState = (Math.imul(this.traceHashState ^ hashString(full), 0x01000193) + this.traceCount) | 0;
    this.traceCount++;
    if (this.traceKeep > 0) {
      this.trace.push(full);
      if (this.trace.length > this.traceKeep) this.trace.shift();
    }
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
