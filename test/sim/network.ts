// The seeded network model. It decides the fate of each message at send time — lost, delivered
// once or twice, and when — from its own Rng stream, so the same seed and the same sends give
// the same deliveries. Faults are switched on and off by the test script: loss, duplication,
// reordering, partitions, one-way blocks, clogged links, slow nodes and lagging timers.
import type { Millis, NodeId } from '../../src/core/types.ts';
import type { Rng } from '../../src/core/rng.ts';

export interface LatencyRange {
  minMs: Millis;
  maxMs: Millis;
}

/** Properties of a directed link; unset fields fall back to the network-wide defaults. */
export interface LinkModel {
  latency?: LatencyRange;
  /** Probability in [0, 1] that a message is lost. */
  lossRate?: number;
  /** Probability in [0, 1] that a message arrives twice (the copy has its own latency). */
  duplicateRate?: number;
}

export interface NetworkOptions {
  /** One-way latency, drawn uniformly per message. Default 10–50 ms. */
  latency?: LatencyRange;
  lossRate?: number;
  duplicateRate?: number;
  /** Probability that a message is held back by up to `reorderDelayMaxMs` so later ones overtake it. */
  reorderRate?: number;
  reorderDelayMaxMs?: Millis;
}

export const defaultLatency: LatencyRange = { minMs: 10, maxMs: 50 };
/** How far a reordered message may be held back by default. */
export const defaultReorderDelayMaxMs = 200;

export type DropReason = 'loss' | 'partition' | 'blocked' | 'unreachable' | 'node-down';

export interface NetworkStats {
  sent: number;
  delivered: number;
  duplicated: number;
  bytesSent: number;
  dropped: Record<DropReason, number>;
}

export const emptyDropCounts = (): Record<DropReason, number> => ({
  loss: 0,
  partition: 0,
  blocked: 0,
  unreachable: 0,
  'node-down': 0,
});

const linkKey = (from: NodeId, to: NodeId): string => `${from}\u0000${to}`;

export class SimNetwork {
  private options: Required<NetworkOptions>;
  private readonly links = new Map<string, LinkModel>();
  private readonly blocked = new Set<string>();
  /** Partition group per node; nodes absent from the map are in group 0. */
  private groups = new Map<NodeId, number>();
  /** Messages on a clogged link (or to/from a clogged node) wait until the clog lifts. */
  private readonly cloggedLinks = new Map<string, Millis>();
  private readonly cloggedNodes = new Map<NodeId, Millis>();
  private readonly slowNodes = new Map<NodeId, Millis>();
  private readonly timerLags = new Map<NodeId, Millis>();
  private reachable: ((from: NodeId, to: NodeId) => boolean) | undefined;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, duplicated: 0, bytesSent: 0, dropped: emptyDropCounts() };

  constructor(
    private readonly rng: Rng,
    options: NetworkOptions = {},
  ) {
    this.options = {
      latency: options.latency ?? defaultLatency,
      lossRate: options.lossRate ?? 0,
      duplicateRate: options.duplicateRate ?? 0,
      reorderRate: options.reorderRate ?? 0,
      reorderDelayMaxMs: options.reorderDelayMaxMs ?? defaultReorderDelayMaxMs,
    };
    checkRange(this.options.latency);
  }

  /** Changes network-wide defaults mid-run (e.g. `set({ lossRate: 0.05 })`). */
  set(options: NetworkOptions): void {
    this.options = { ...this.options, ...options };
    checkRange(this.options.latency);
  }

  get lossRate(): number {
    return this.options.lossRate;
  }

  /** Overrides the model of the directed link from → to (call twice for both directions). */
  setLink(from: NodeId, to: NodeId, model: LinkModel): void {
    if (model.latency) checkRange(model.latency);
    this.links.set(linkKey(from, to), { ...this.links.get(linkKey(from, to)), ...model });
  }

  clearLink(from: NodeId, to: NodeId): void {
    this.links.delete(linkKey(from, to));
  }

  /**
   * Splits the nodes into groups that cannot reach each other. `partition(a)` cuts `a` off
   * from everyone else; `partition(a, b, c)` makes three islands (unlisted nodes join group 0
   * together with nobody listed, i.e. a fourth island).
   */
  partition(...groups: ReadonlyArray<readonly NodeId[]>): void {
    this.groups = new Map();
    groups.forEach((members, index) => {
      for (const id of members) this.groups.set(id, index + 1);
    });
  }

  /** Removes every partition, block and clog. Link models and slow nodes stay. */
  heal(): void {
    this.groups = new Map();
    this.blocked.clear();
    this.cloggedLinks.clear();
    this.cloggedNodes.clear();
  }

  /** Drops everything sent from → to (one direction only) until unblocked or healed. */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  unblock(from: NodeId, to: NodeId): void {
    this.blocked.delete(linkKey(from, to));
  }

  /** Holds messages between a and b (both directions) until `untilMs`; nothing is lost. */
  clog(a: NodeId, b: NodeId, untilMs: Millis): void {
    this.cloggedLinks.set(linkKey(a, b), untilMs);
    this.cloggedLinks.set(linkKey(b, a), untilMs);
  }

  /** Holds every message to or from `id` until `untilMs` (a frozen tab, a stalled NIC). */
  clogNode(id: NodeId, untilMs: Millis): void {
    this.cloggedNodes.set(id, untilMs);
  }

  /**
   * Makes a node slow at handling messages: everything it receives is handled `extraMs` late
   * (an overloaded device working through a backlog — Lifeguard's "slow node"). Its timers
   * still fire on time. 0 makes it normal again.
   */
  slowNode(id: NodeId, extraMs: Millis): void {
    if (extraMs <= 0) this.slowNodes.delete(id);
    else this.slowNodes.set(id, extraMs);
  }

  /** Makes a node's timers fire `extraMs` late (a throttled background tab). 0: on time again. */
  lagTimers(id: NodeId, extraMs: Millis): void {
    if (extraMs <= 0) this.timerLags.delete(id);
    else this.timerLags.set(id, extraMs);
  }

  timerLag(id: NodeId): Millis {
    return this.timerLags.get(id) ?? 0;
  }

  /**
   * Restricts who can talk to whom (e.g. only nodes the overlay linked). Messages failing
   * the filter are dropped as 'unreachable'. `undefined` lets any node reach any node.
   */
  setReachability(filter: ((from: NodeId, to: NodeId) => boolean) | undefined): void {
    this.reachable = filter;
  }

  /** Whether a message sent now from → to could arrive: no partition, block or filter in the way. */
  connected(from: NodeId, to: NodeId): DropReason | null {
    if ((this.groups.get(from) ?? 0) !== (this.groups.get(to) ?? 0)) return 'partition';
    if (this.blocked.has(linkKey(from, to))) return 'blocked';
    if (this.reachable && !this.reachable(from, to)) return 'unreachable';
    return null;
  }

  /**
   * Decides what happens to one message sent at `now`: an empty list if it is lost, otherwise
   * the arrival time of each copy. Counts go to `stats`.
   */
  route(now: Millis, from: NodeId, to: NodeId, bytes: number): Millis[] {
    this.stats.sent++;
    this.stats.bytesSent += bytes;
    const blocked = this.connected(from, to);
    if (blocked) {
      this.stats.dropped[blocked]++;
      return [];
    }
    const link = this.links.get(linkKey(from, to));
    const lossRate = link?.lossRate ?? this.options.lossRate;
    if (lossRate > 0 && this.rng.next() < lossRate) {
      this.stats.dropped.loss++;
      return [];
    }
    const departure = Math.max(now, this.clogLiftsAt(from, to, now));
    const arrivals = [departure + this.latency(link) + this.slowExtra(to)];
    const duplicateRate = link?.duplicateRate ?? this.options.duplicateRate;
    if (duplicateRate > 0 && this.rng.next() < duplicateRate) {
      this.stats.duplicated++;
      arrivals.push(departure + this.latency(link) + this.slowExtra(to));
    }
    return arrivals;
  }

  private slowExtra(to: NodeId): Millis {
    return this.slowNodes.get(to) ?? 0;
  }

  private clogLiftsAt(from: NodeId, to: NodeId, now: Millis): Millis {
    let lifts = now;
    const link = this.cloggedLinks.get(linkKey(from, to));
    if (link !== undefined) lifts = Math.max(lifts, link);
    const a = this.cloggedNodes.get(from);
    if (a !== undefined) lifts = Math.max(lifts, a);
    const b = this.cloggedNodes.get(to);
    if (b !== undefined) lifts = Math.max(lifts, b);
    return lifts;
  }

  private latency(link: LinkModel | undefined): Millis {
    const range = link?.latency ?? this.options.latency;
    let delay = range.minMs + this.rng.next() * (range.maxMs - range.minMs);
    if (this.options.reorderRate > 0 && this.rng.next() < this.options.reorderRate) {
      delay += this.rng.next() * this.options.reorderDelayMaxMs;
    }
    // Whole-microsecond times keep traces readable and free of float noise.
    return Math.round(delay * 1000) / 1000;
  }
}

function checkRange(range: LatencyRange): void {
  if (!(range.minMs >= 0 && range.maxMs >= range.minMs)) {
    throw new Error(`latency range ${range.minMs}–${range.maxMs} ms is not valid: need 0 ≤ min ≤ max`);
  }
}
