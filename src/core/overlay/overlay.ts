// The self-healing topology core: one per node, a pure state machine `step(now, input) → effects`.
//
// What it keeps true (as far as this node knows):
//   • its direct links stay within [minLinks, maxLinks] — a full mesh while the swarm has at
//     most maxLinks + 1 nodes, otherwise drifting towards the target degree ⌈(min+max)/2⌉;
//   • the mesh stays connected with a small diameter: new links go to far-away nodes with room
//     and to other components first (choose.ts);
//   • a lost link is replaced within a tick or two (reconnect at once below min);
//   • links above max are pruned, one at a time, never a bridge, never a young link;
//   • no churn: a pruned pair stays apart for a minute, a lost peer is not redialled for a few
//     seconds, failed dials back off exponentially, and new links are drawn from a token bucket.
// It also floods link-state adverts so every node knows the whole graph (lsdb.ts, view.ts).
//
// How a runtime drives it (see OverlayInput and OverlayEffect for the exact shapes):
//   • feed `tick` every overlayTickIntervalMs, link-up / link-down / connect-failed / link-rtt
//     from the transport, peers-learnt / peer-left from the signaling client (or a failure
//     detector), each overlay frame as `message` with the signer the runtime verified for an
//     advert, and `advert-signed` once it has signed what a `sign-advert` effect asked for;
//   • carry out the effects in order: `connect` opens a link (only the `initiator` end makes the
//     WebRTC offer — the lower id — the other end asks it to, so two nodes never both offer),
//     `disconnect` closes one, `send` sends an overlay frame to a linked neighbour,
//     `sign-advert` signs `text` with the node's key and feeds back `advert-signed`.
// Queries (`links()`, `graph()`, `routeTopology()`, `metrics()`, `snapshot()`) never change state.
import type { Rng } from '../rng.ts';
import { compareNodeIds, type Millis, type NodeId } from '../types.ts';
import type { Graph } from '../graph/graph.ts';
import { computeMetrics, snapshotTopology, type GraphMetrics, type TopologySnapshot } from '../graph/metrics.ts';
import {
  advertHopAgeMs,
  advertMinIntervalMs,
  advertRefreshMs,
  checkConfig,
  connectBackoffBaseMs,
  connectBackoffMaxMs,
  connectTimeoutMs,
  defaultOverlayConfig,
  floodWindowMs,
  growIntervalMs,
  inboundSlackLinks,
  learntPeerTtlMs,
  lostPeerHoldMs,
  maxDigestEntries,
  maxAdvertOrigins,
  maxKnownPeers,
  maxOverlayMessageBytes,
  maxPendingConnects,
  maxRequestOrigins,
  minLinkAgeBeforePruneMs,
  newLinkBurst,
  newLinkRefillMs,
  overlayBurstMsgs,
  overlayFloodDrops,
  overlayRatePerS,
  partitionCheckIntervalMs,
  peerForgetMs,
  prunedPeerHoldMs,
  pruneIntervalMs,
  rediscoverIntervalMs,
  requestRetryMs,
  strayComponentGraceMs,
  syncHintTtlMs,
  targetLinks,
  type OverlayConfig,
} from './config.ts';
import {
  advertSigningText,
  decodeOverlayMessage,
  type AdvertBody,
  type AdvertLink,
  type AdvertMsg,
  type OverlayMsg,
  type UnlinkReason,
} from './messages.ts';
import { LinkStateDb } from './lsdb.ts';
import { buildView, type TopologyView } from './view.ts';
import { chooseLinkTargets, choosePruneVictim } from './choose.ts';
import { createThrottle, type Throttle } from './throttle.ts';

export type OverlayInput =
  | { type: 'tick' }
  /** The transport has an open link to `peer` (inbound or one we asked for). */
  | { type: 'link-up'; peer: NodeId }
  | { type: 'link-down'; peer: NodeId; reason?: string }
  /** A `connect` we asked for could not be made (otherwise it times out after connectTimeoutMs). */
  | { type: 'connect-failed'; peer: NodeId; reason?: string }
  /** A round-trip time measured on a link (the link protocol's ping/pong). */
  | { type: 'link-rtt'; peer: NodeId; rttMs: number }
  /** Peers heard of from the signaling server: the join sample and peer-joined announcements. */
  | { type: 'peers-learnt'; peers: readonly NodeId[] }
  /** A peer left for good (signaling peer-left, or a failure detector's verdict). */
  | { type: 'peer-left'; peer: NodeId }
  /**
   * An overlay frame from a linked neighbour. `signer` is the node whose signature over
   * advertSigningText() the runtime verified for an advert (null if it did not verify);
   * `sizeBytes` is the frame's size on the wire when known.
   */
  | { type: 'message'; from: NodeId; msg: unknown; signer?: NodeId | null; sizeBytes?: number }
  /** The signature the runtime made for a `sign-advert` effect. */
  | { type: 'advert-signed'; seq: number; sig: string }
  /** Live settings change; refused (with a `config-refused` effect) if invalid. */
  | { type: 'config'; config: Partial<OverlayConfig> };

export type OverlayEffect =
  | { type: 'connect'; peer: NodeId; initiator: boolean }
  | { type: 'disconnect'; peer: NodeId; reason: UnlinkReason }
  | { type: 'send'; to: NodeId; msg: OverlayMsg }
  | { type: 'sign-advert'; body: AdvertBody; text: string }
  | { type: 'config-refused'; reason: string };

/** Why an input was dropped; every one is counted, none is applied. */
export type OverlayDropReason =
  | 'malformed'
  | 'oversize'
  | 'unsigned'
  | 'signer-mismatch'
  | 'impossible-seq'
  | 'bad-links'
  | 'not-linked'
  | 'rate-limited'
  | 'expired'
  | 'db-full'
  | 'bad-input'
  | 'bad-config'
  | 'stale-signature';

/** Inputs that were valid but carried nothing new. */
export type OverlayIgnoreReason = 'duplicate' | 'stale' | 'duplicate-link-up';

export interface OverlayCounters {
  dropped: Record<OverlayDropReason, number>;
  ignored: Record<OverlayIgnoreReason, number>;
  sent: Record<OverlayMsg['type'], number>;
  received: number;
  connectsRequested: number;
  connectsFailed: number;
  linksPruned: number;
  linksRefused: number;
  floodersDisconnected: number;
  advertsOriginated: number;
}

export interface OverlaySnapshot {
  self: NodeId;
  config: OverlayConfig;
  links: Array<{ peer: NodeId; upAt: Millis; rttMs: number | null }>;
  pending: NodeId[];
  knownPeers: number;
  lsdbOrigins: number;
  advertSeq: number;
  counters: OverlayCounters;
}

/** What the router needs from the overlay (src/core/route/router.ts). */
export interface RouteTopology {
  /** Changes whenever `graph` or `links` may have changed. */
  readonly key: string;
  /** Symmetric adjacency of the known mesh (two-way checked). */
  readonly graph: Graph<NodeId>;
  /** This node's open links right now (first-hand, may be ahead of `graph`). */
  readonly links: ReadonlySet<NodeId>;
  /** Advertised round-trip time of the link a–b, if known. */
  rttMs(a: NodeId, b: NodeId): number | undefined;
}

interface LinkState {
  upAt: Millis;
  rttMs: number | null;
  throttle: Throttle;
}

interface PeerRecord {
  heardAt: Millis;
  failures: number;
  /** No dialling before this time (back-off, hold after loss or prune). */
  blockedUntil: Millis;
}

export interface OverlayOptions {
  self: NodeId;
  rng: Rng;
  config?: Partial<OverlayConfig>;
  now?: Millis;
}

/** Expiry of adverts, hints and remembered peers: nothing there is urgent. */
const housekeepingIntervalMs: Millis = 5_000;

export class Overlay {
  readonly self: NodeId;
  private config: OverlayConfig;
  private readonly rng: Rng;
  private readonly lsdb = new LinkStateDb();
  private readonly linkStates = new Map<NodeId, LinkState>();
  private readonly pending = new Map<NodeId, Millis>();
  private readonly known = new Map<NodeId, PeerRecord>();
  /** Peers that left, with the advert seq they had then: ignored until they advertise anew. */
  private readonly departed = new Map<NodeId, number>();
  /** When a node last dropped out of our component (for showing recent strays). */
  private readonly lostAt = new Map<NodeId, Millis>();
  /** Neighbour → (origin → seq) from its digest: adverts it already has, not to flood it. */
  private readonly syncHints = new Map<NodeId, { until: Millis; seqs: Map<NodeId, number> }>();
  private readonly requested = new Map<NodeId, Millis>();
  private linkSet = new Set<NodeId>();
  private linksVersion = 0;
  private departedVersion = 0;
  private cachedView: TopologyView | null = null;
  private cachedRoute: { view: TopologyView; route: RouteTopology } | null = null;
  private viewBuilds = 0;
  private now: Millis;
  private seq = 0;
  private awaitingSignature: AdvertBody | null = null;
  private advertDirty = true;
  private lastOriginatedAt: Millis = -Infinity;
  private nextRefreshAt: Millis = 0;
  private newLinkTokens = newLinkBurst;
  private tokensAt: Millis;
  private nextGrowAt: Millis = 0;
  private nextPruneAt: Millis = 0;
  private nextPartitionCheckAt: Millis = 0;
  private nextRediscoverAt: Millis = 0;
  private nextHousekeepingAt: Millis = 0;
  readonly counters: OverlayCounters = {
    dropped: {
      malformed: 0,
      oversize: 0,
      unsigned: 0,
      'signer-mismatch': 0,
      'impossible-seq': 0,
      'bad-links': 0,
      'not-linked': 0,
      'rate-limited': 0,
      expired: 0,
      'db-full': 0,
      'bad-input': 0,
      'bad-config': 0,
      'stale-signature': 0,
    },
    ignored: { duplicate: 0, stale: 0, 'duplicate-link-up': 0 },
    sent: { advert: 0, digest: 0, request: 0, unlink: 0 },
    received: 0,
    connectsRequested: 0,
    connectsFailed: 0,
    linksPruned: 0,
    linksRefused: 0,
    floodersDisconnected: 0,
    advertsOriginated: 0,
  };

  constructor(options: OverlayOptions) {
    this.self = options.self;
    this.rng = options.rng;
    const config = { ...defaultOverlayConfig, ...options.config };
    const problem = checkConfig(config);
    if (problem) throw new Error(`overlay config: ${problem}`);
    this.config = config;
    this.now = options.now ?? 0;
    this.tokensAt = this.now;
    // Sequence numbers start from the clock, so a node that restarts (same id, state lost)
    // still outnumbers the adverts its previous life left in the mesh.
    this.seq = Math.max(0, Math.floor(this.now));
  }

  // ── the state machine ─────────────────────────────────────────────────────────────────

  step(now: Millis, input: OverlayInput): OverlayEffect[] {
    if (now > this.now) this.now = now;
    const out: OverlayEffect[] = [];
    switch (input.type) {
      case 'tick':
        this.onTick(out);
        break;
      case 'link-up':
        this.onLinkUp(input.peer, out);
        break;
      case 'link-down':
        this.onLinkDown(input.peer);
        break;
      case 'connect-failed':
        if (this.pending.delete(input.peer)) this.dialFailed(input.peer);
        break;
      case 'link-rtt':
        this.onRtt(input.peer, input.rttMs);
        break;
      case 'peers-learnt':
        for (const peer of input.peers) if (peer !== this.self) this.hear(peer);
        break;
      case 'peer-left':
        this.onPeerLeft(input.peer);
        break;
      case 'message':
        this.onMessage(input.from, input.msg, input.signer ?? null, input.sizeBytes, out);
        break;
      case 'advert-signed':
        this.onSigned(input.seq, input.sig, out);
        break;
      case 'config':
        this.onConfig(input.config, out);
        break;
      default:
        this.counters.dropped['bad-input']++;
    }
    return out;
  }

  // ── queries ───────────────────────────────────────────────────────────────────────────

  links(): NodeId[] {
    return [...this.linkStates.keys()].sort(compareNodeIds);
  }

  get linkCount(): number {
    return this.linkStates.size;
  }

  currentConfig(): OverlayConfig {
    return { ...this.config };
  }

  /** This node's picture of the mesh (two-way checked; see view.ts). */
  view(): TopologyView {
    const key = `${this.lsdb.version}/${this.linksVersion}/${this.departedVersion}`;
    if (!this.cachedView || this.cachedView.key !== key) this.rebuildView(key);
    return this.cachedView as TopologyView;
  }

  private rebuildView(key = `${this.lsdb.version}/${this.linksVersion}/${this.departedVersion}`): void {
    this.cachedView = buildView(this.self, this.lsdb, this.linkSet, this.cachedView?.distance ?? null, this.lostAt, this.departed, this.now, key);
    this.viewBuilds++;
  }

  graph(): Graph<NodeId> {
    return this.view().graph;
  }

  /** The router's input; the same object until the topology changes. */
  routeTopology(): RouteTopology {
    const view = this.view();
    if (this.cachedRoute?.view !== view) {
      const lsdb = this.lsdb;
      const self = this.self;
      const linkStates = this.linkStates;
      const route: RouteTopology = {
        key: `${view.key}#${this.viewBuilds}`,
        graph: view.graph,
        links: new Set(this.linkSet),
        rttMs(a, b) {
          if (a === self) return linkStates.get(b)?.rttMs ?? undefined;
          if (b === self) return linkStates.get(a)?.rttMs ?? undefined;
          return lsdb.get(a)?.advert.links.find((l) => l.peer === b)?.rttMs;
        },
      };
      this.cachedRoute = { view, route };
    }
    return this.cachedRoute.route;
  }

  /** Graph metrics of the known mesh; see src/core/graph/metrics.ts for cost. */
  metrics(): GraphMetrics<NodeId> {
    return computeMetrics(this.graph());
  }

  /** The UI's topology snapshot, with advertised RTTs per link. */
  topologySnapshot(metrics: GraphMetrics<NodeId> = this.metrics()): TopologySnapshot<NodeId> {
    const route = this.routeTopology();
    return snapshotTopology(this.graph(), metrics, (a, b) => route.rttMs(a, b) ?? route.rttMs(b, a) ?? null);
  }

  snapshot(): OverlaySnapshot {
    return {
      self: this.self,
      config: { ...this.config },
      links: this.links().map((peer) => {
        const s = this.linkStates.get(peer) as LinkState;
        return { peer, upAt: s.upAt, rttMs: s.rttMs };
      }),
      pending: [...this.pending.keys()].sort(compareNodeIds),
      knownPeers: this.known.size,
      lsdbOrigins: this.lsdb.size,
      advertSeq: this.seq,
      counters: structuredClone(this.counters),
    };
  }

  /**
   * True if an advert with this origin and seq would be news. A runtime may call this before
   * verifying a signature, to skip the (costly) check for the many duplicate copies of a flood.
   */
  wantsAdvert(origin: NodeId, seq: number): boolean {
    return origin === this.self ? seq > this.seq : seq > this.lsdb.seqOf(origin);
  }

  // ── links ─────────────────────────────────────────────────────────────────────────────

  private onLinkUp(peer: NodeId, out: OverlayEffect[]): void {
    if (peer === this.self) {
      this.counters.dropped['bad-input']++;
      return;
    }
    const asked = this.pending.delete(peer);
    if (this.linkStates.has(peer)) {
      this.counters.ignored['duplicate-link-up']++;
      return;
    }
    this.hear(peer);
    const record = this.known.get(peer);
    if (!asked && !this.acceptsInbound(peer)) {
      this.counters.linksRefused++;
      this.sendTo(peer, { type: 'unlink', reason: 'full' }, out);
      out.push({ type: 'disconnect', peer, reason: 'full' });
      if (record) record.blockedUntil = Math.max(record.blockedUntil, this.now + lostPeerHoldMs);
      return;
    }
    if (record) record.failures = 0;
    this.linkStates.set(peer, {
      upAt: this.now,
      rttMs: null,
      throttle: createThrottle(
        { burstMsgs: overlayBurstMsgs, ratePerS: overlayRatePerS, floodDropsPerWindow: overlayFloodDrops, windowMs: floodWindowMs },
        this.now,
      ),
    });
    this.linksChanged();
    this.sendDigest(peer, out);
  }

  /**
   * An unrequested link is welcome below max. At max we still take it (and prune an older
   * link later) from a node that needs links — a newcomer or a node that lost its own — up to
   * max + inboundSlackLinks; a healthy node is refused, so it dials someone with room instead.
   */
  private acceptsInbound(peer: NodeId): boolean {
    const links = this.linkStates.size;
    if (links < this.config.maxLinks) return true;
    if (links >= this.config.maxLinks + inboundSlackLinks) return false;
    const theirs = this.lsdb.peersOf(peer)?.size;
    return theirs === undefined || theirs < this.config.minLinks;
  }

  private onLinkDown(peer: NodeId): void {
    this.pending.delete(peer);
    if (!this.linkStates.delete(peer)) return;
    this.syncHints.delete(peer);
    this.hold(peer, lostPeerHoldMs);
    this.linksChanged();
  }

  private onRtt(peer: NodeId, rttMs: number): void {
    const link = this.linkStates.get(peer);
    if (!link || !Number.isFinite(rttMs) || rttMs < 0) {
      this.counters.dropped['bad-input']++;
      return;
    }
    const rounded = Math.min(60_000, Math.round(rttMs));
    // Re-advertise only for a real change, so RTT jitter does not flood the mesh.
    const before = link.rttMs;
    link.rttMs = rounded;
    if (before === null || Math.abs(before - rounded) > Math.max(5, before * 0.25)) this.advertDirty = true;
  }

  private onPeerLeft(peer: NodeId): void {
    if (peer === this.self) return;
    this.known.delete(peer);
    this.departed.set(peer, Math.max(this.lsdb.seqOf(peer), this.departed.get(peer) ?? 0));
    this.departedVersion++;
  }

  private linksChanged(): void {
    this.linkSet = new Set(this.linkStates.keys());
    this.linksVersion++;
    this.advertDirty = true;
  }

  private hear(peer: NodeId): void {
    const record = this.known.get(peer);
    if (record) {
      record.heardAt = this.now;
      return;
    }
    if (this.known.size >= maxKnownPeers) this.forgetLeastRecent();
    this.known.set(peer, { heardAt: this.now, failures: 0, blockedUntil: 0 });
    if (this.departed.delete(peer)) this.departedVersion++;
  }

  private forgetLeastRecent(): void {
    let victim: NodeId | null = null;
    let oldest = Infinity;
    for (const [peer, record] of this.known) {
      if (this.linkStates.has(peer) || this.pending.has(peer)) continue;
      if (record.heardAt < oldest) [victim, oldest] = [peer, record.heardAt];
    }
    if (victim !== null) this.known.delete(victim);
  }

  private hold(peer: NodeId, ms: Millis): void {
    const record = this.known.get(peer);
    if (record) record.blockedUntil = Math.max(record.blockedUntil, this.now + ms);
  }

  private dialFailed(peer: NodeId): void {
    this.counters.connectsFailed++;
    const record = this.known.get(peer);
    if (!record) return;
    record.failures++;
    const backoff = Math.min(connectBackoffMaxMs, connectBackoffBaseMs * 2 ** (record.failures - 1));
    record.blockedUntil = Math.max(record.blockedUntil, this.now + backoff * (0.75 + 0.5 * this.rng.next()));
  }

  private dial(peer: NodeId, out: OverlayEffect[]): void {
    this.hear(peer);
    this.pending.set(peer, this.now);
    this.newLinkTokens--;
    this.counters.connectsRequested++;
    out.push({ type: 'connect', peer, initiator: compareNodeIds(this.self, peer) < 0 });
  }

  private dropLink(peer: NodeId, reason: UnlinkReason, holdMs: Millis, out: OverlayEffect[]): void {
    this.sendTo(peer, { type: 'unlink', reason }, out);
    out.push({ type: 'disconnect', peer, reason });
    this.linkStates.delete(peer);
    this.syncHints.delete(peer);
    this.hold(peer, holdMs);
    this.linksChanged();
  }

  // ── periodic work ─────────────────────────────────────────────────────────────────────

  private onTick(out: OverlayEffect[]): void {
    for (const [peer, since] of this.pending) {
      if (this.now - since >= connectTimeoutMs) {
        this.pending.delete(peer);
        this.dialFailed(peer);
      }
    }
    this.newLinkTokens = Math.min(newLinkBurst, this.newLinkTokens + (this.now - this.tokensAt) / newLinkRefillMs);
    this.tokensAt = this.now;
    if (this.now >= this.nextHousekeepingAt) {
      this.nextHousekeepingAt = this.now + housekeepingIntervalMs;
      this.housekeeping();
    }
    this.maintainLinks(out);
    // Adverts go out on ticks only, so that link changes of one tick share one advert.
    this.maybeOriginate(out);
  }

  private housekeeping(): void {
    this.lsdb.expire(this.now, this.self);
    for (const [peer, hints] of this.syncHints) if (hints.until <= this.now) this.syncHints.delete(peer);
    for (const [origin, at] of this.requested) if (this.now - at >= requestRetryMs) this.requested.delete(origin);
    for (const [peer, record] of this.known) {
      if (this.linkStates.has(peer) || this.pending.has(peer)) continue;
      if (this.now - record.heardAt > peerForgetMs) this.known.delete(peer);
    }
    for (const [peer, at] of this.lostAt) if (this.now - at > strayComponentGraceMs) this.lostAt.delete(peer);
    for (const peer of this.departed.keys()) {
      if (!this.lsdb.get(peer)) {
        this.departed.delete(peer);
        this.departedVersion++;
      }
    }
  }

  private maintainLinks(out: OverlayEffect[]): void {
    const { minLinks, maxLinks } = this.config;
    const target = targetLinks(this.config);
    const linked = this.linkStates.size;
    const inFlight = linked + this.pending.size;
    const growDue = inFlight < target && this.now >= this.nextGrowAt;
    const partitionCheck = this.now >= this.nextPartitionCheckAt;
    const healthy = (v: TopologyView): boolean =>
      v.size > maxLinks + 1 && linked >= minLinks && linked <= maxLinks && !growDue && v.strays.length === 0;
    // Fast path for the common case — a healthy node in a big, unsplit mesh has nothing to do —
    // decided on the last picture without rebuilding it (the partition check refreshes it).
    if (!partitionCheck && this.cachedView && healthy(this.cachedView)) return;
    let view = this.view();
    if (partitionCheck) {
      this.nextPartitionCheckAt = this.now + partitionCheckIntervalMs;
      // Stray components age out of the picture with time alone, so rebuild while there are any.
      if (view.strays.length > 0) {
        this.rebuildView();
        view = this.view();
      }
    }
    const rediscoverDue = partitionCheck && this.now >= this.nextRediscoverAt;
    if (healthy(view) && !rediscoverDue) return;

    const heardOf = this.heardOf(view);
    const swarm = view.size + this.likelyAlive(heardOf);
    const budget = Math.min(maxPendingConnects - this.pending.size, Math.floor(this.newLinkTokens));
    const ctx = {
      self: this.self,
      view,
      claimedDegree: (peer: NodeId) => this.lsdb.peersOf(peer)?.size,
      excluded: (peer: NodeId) => this.excluded(peer),
      heardOf,
      minLinks,
      target,
      maxLinks,
    };

    if (swarm <= maxLinks + 1) {
      // Small swarm: link to everyone we know of.
      const want = [...view.distance.keys(), ...view.strays.flat(), ...heardOf].filter((p) => !this.excluded(p)).sort(compareNodeIds);
      for (const peer of want.slice(0, Math.max(0, budget))) this.dial(peer, out);
    } else if (budget > 0) {
      if (inFlight < minLinks) {
        // One spare dial hedges against a candidate that turns out to be dead; if all succeed
        // we are still within max. A node that knows nothing yet (just joined, or lost every
        // link) dials two peers, learns the mesh from their database, then picks the rest
        // knowing who has room — fewer links to nodes already full, fewer prunes.
        const bootstrapping = linked === 0;
        const want = bootstrapping ? Math.max(0, 2 - this.pending.size) : Math.min(minLinks - inFlight + 1, maxLinks - inFlight);
        for (const peer of chooseLinkTargets(ctx, Math.min(budget, want), true, this.rng)) this.dial(peer, out);
      } else if (partitionCheck && view.strays.length > 0 && inFlight <= maxLinks) {
        // Everybody on our side sees the split; about two of them should try each round.
        if (this.rng.next() < Math.min(1, 2 / view.distance.size)) {
          for (const peer of chooseLinkTargets(ctx, 1, false, this.rng, true)) this.dial(peer, out);
        }
      } else if (growDue) {
        this.nextGrowAt = this.now + growIntervalMs;
        for (const peer of chooseLinkTargets(ctx, 1, false, this.rng)) this.dial(peer, out);
      } else if (rediscoverDue && inFlight <= maxLinks) {
        // Peers remembered but out of sight for long: maybe the far side of an old partition.
        this.nextRediscoverAt = this.now + rediscoverIntervalMs;
        const lost = heardOf.filter((p) => !this.excluded(p));
        if (lost.length > 0 && this.rng.next() < Math.min(1, 2 / view.distance.size)) this.dial(this.rng.pick(lost) as NodeId, out);
      }
    }
    if (linked > maxLinks && this.now >= this.nextPruneAt) {
      const victim = choosePruneVictim(ctx, this.linkStates, this.now, minLinkAgeBeforePruneMs, this.rng);
      if (victim !== null) {
        this.nextPruneAt = this.now + pruneIntervalMs;
        this.counters.linksPruned++;
        this.dropLink(victim, 'prune', prunedPeerHoldMs, out);
      }
    }
  }

  /**
   * Peers outside the view that may still be alive: peers the signaling server told us about
   * (for learntPeerTtlMs), and origins of adverts we hold but cannot reach (until they expire).
   */
  private heardOf(view: TopologyView): NodeId[] {
    const out: NodeId[] = [];
    for (const [peer, record] of this.known) {
      if (view.has(peer) || this.departed.has(peer)) continue;
      if (this.now - record.heardAt > learntPeerTtlMs && !this.lsdb.get(peer)) continue;
      out.push(peer);
    }
    for (const origin of this.lsdb.origins()) {
      if (origin === this.self || view.has(origin) || this.departed.has(origin) || this.known.has(origin)) continue;
      out.push(origin);
    }
    return out.sort(compareNodeIds);
  }

  /** Peers outside the view that count towards the swarm's size: recently learnt, answering. */
  private likelyAlive(heardOf: readonly NodeId[]): number {
    let count = 0;
    for (const peer of heardOf) {
      const record = this.known.get(peer);
      if (record && record.failures <= 1 && this.now - record.heardAt <= learntPeerTtlMs) count++;
    }
    return count;
  }

  private excluded(peer: NodeId): boolean {
    if (peer === this.self || this.linkStates.has(peer) || this.pending.has(peer) || this.departed.has(peer)) return true;
    const record = this.known.get(peer);
    return record !== undefined && record.blockedUntil > this.now;
  }

  // ── adverts ───────────────────────────────────────────────────────────────────────────

  private maybeOriginate(out: OverlayEffect[]): void {
    const due = (this.advertDirty && this.now - this.lastOriginatedAt >= advertMinIntervalMs) || this.now >= this.nextRefreshAt;
    if (!due) return;
    this.seq++;
    const links: AdvertLink[] = this.links().map((peer) => {
      const rtt = this.linkStates.get(peer)?.rttMs ?? null;
      return rtt === null ? { peer } : { peer, rttMs: rtt };
    });
    const body: AdvertBody = { origin: this.self, seq: this.seq, links };
    this.awaitingSignature = body;
    this.advertDirty = false;
    this.lastOriginatedAt = this.now;
    this.nextRefreshAt = this.now + advertRefreshMs * (0.8 + 0.2 * this.rng.next());
    this.counters.advertsOriginated++;
    out.push({ type: 'sign-advert', body, text: advertSigningText(body) });
  }

  private onSigned(seq: number, sig: string, out: OverlayEffect[]): void {
    const body = this.awaitingSignature;
    if (!body || body.seq !== seq || typeof sig !== 'string' || sig.length === 0) {
      this.counters.dropped['stale-signature']++;
      return;
    }
    this.awaitingSignature = null;
    const advert: AdvertMsg = { type: 'advert', ...body, ageMs: 0, sig };
    this.lsdb.consider(advert, this.now);
    for (const peer of this.linkStates.keys()) this.sendTo(peer, advert, out);
  }

  private onAdvert(from: NodeId, advert: AdvertMsg, signer: NodeId | null, out: OverlayEffect[]): void {
    if (signer === null) return void this.counters.dropped.unsigned++;
    if (signer !== advert.origin) return void this.counters.dropped['signer-mismatch']++;
    if (!possibleSeq(advert.seq)) return void this.counters.dropped['impossible-seq']++;
    if (!distinctLinks(advert)) return void this.counters.dropped['bad-links']++;
    if (advert.origin === this.self) {
      // Our own advert from before a restart: jump past its seq so the new one wins everywhere.
      const mine = this.lsdb.get(this.self);
      const sameAsMine = mine !== undefined && mine.advert.seq === advert.seq && mine.advert.sig === advert.sig;
      if (advert.seq > this.seq || (advert.seq === this.seq && !sameAsMine && this.awaitingSignature?.seq !== advert.seq)) {
        this.bumpSeqPast(advert.seq);
      } else this.counters.ignored.duplicate++;
      return;
    }
    const result = this.lsdb.consider(advert, this.now);
    switch (result.kind) {
      case 'duplicate':
        this.counters.ignored.duplicate++;
        return;
      case 'stale': {
        this.counters.ignored.stale++;
        // The neighbour is behind: hand it our newer copy (OSPF does the same).
        const mine = this.lsdb.get(advert.origin);
        if (mine) this.sendTo(from, { ...mine.advert, ageMs: this.lsdb.ageOf(mine, this.now) + advertHopAgeMs }, out);
        return;
      }
      case 'expired':
      case 'db-full':
        this.counters.dropped[result.kind]++;
        return;
      case 'installed':
        break;
    }
    this.requested.delete(advert.origin);
    const departedSeq = this.departed.get(advert.origin);
    if (departedSeq !== undefined && advert.seq > departedSeq) {
      this.departed.delete(advert.origin);
      this.departedVersion++;
    }
    const forwarded: AdvertMsg = { ...advert, ageMs: advert.ageMs + advertHopAgeMs };
    for (const peer of this.linkStates.keys()) {
      if (peer === from || peer === advert.origin) continue;
      const hint = this.syncHints.get(peer);
      if (hint && (hint.seqs.get(advert.origin) ?? 0) >= advert.seq) continue;
      this.sendTo(peer, forwarded, out);
    }
  }

  private bumpSeqPast(seq: number): void {
    this.seq = seq;
    this.advertDirty = true;
    this.lastOriginatedAt = -Infinity;
  }

  private sendDigest(peer: NodeId, out: OverlayEffect[]): void {
    const entries: Array<{ origin: NodeId; seq: number }> = [];
    for (const entry of this.lsdb.all()) entries.push({ origin: entry.advert.origin, seq: entry.advert.seq });
    // An empty digest still tells the neighbour we have nothing, so it sends what it has.
    for (let i = 0; i === 0 || i < entries.length; i += maxDigestEntries) {
      this.sendTo(peer, { type: 'digest', entries: entries.slice(i, i + maxDigestEntries) }, out);
    }
  }

  private onDigest(from: NodeId, entries: ReadonlyArray<{ origin: NodeId; seq: number }>, out: OverlayEffect[]): void {
    let hints = this.syncHints.get(from);
    if (!hints) this.syncHints.set(from, (hints = { until: 0, seqs: new Map() }));
    hints.until = this.now + syncHintTtlMs;
    const want: NodeId[] = [];
    for (const { origin, seq } of entries) {
      if (!possibleSeq(seq)) {
        this.counters.dropped['impossible-seq']++;
        continue;
      }
      if (hints.seqs.size < maxAdvertOrigins || hints.seqs.has(origin)) hints.seqs.set(origin, Math.max(seq, hints.seqs.get(origin) ?? 0));
      if (origin === this.self) {
        if (seq > this.seq) this.bumpSeqPast(seq);
        continue;
      }
      if (seq <= this.lsdb.seqOf(origin) || seq <= (this.departed.get(origin) ?? 0)) continue;
      const askedAt = this.requested.get(origin);
      if (askedAt !== undefined && this.now - askedAt < requestRetryMs) continue;
      if (askedAt === undefined && this.requested.size >= maxAdvertOrigins) continue;
      this.requested.set(origin, this.now);
      want.push(origin);
    }
    for (let i = 0; i < want.length; i += maxRequestOrigins) {
      this.sendTo(from, { type: 'request', origins: want.slice(i, i + maxRequestOrigins) }, out);
    }
  }

  private onRequest(from: NodeId, origins: readonly NodeId[], out: OverlayEffect[]): void {
    for (const origin of origins) {
      const entry = this.lsdb.get(origin);
      if (entry) this.sendTo(from, { ...entry.advert, ageMs: this.lsdb.ageOf(entry, this.now) + advertHopAgeMs }, out);
    }
  }

  // ── messages ──────────────────────────────────────────────────────────────────────────

  private onMessage(from: NodeId, raw: unknown, signer: NodeId | null, sizeBytes: number | undefined, out: OverlayEffect[]): void {
    this.counters.received++;
    const link = this.linkStates.get(from);
    if (!link) return void this.counters.dropped['not-linked']++;
    if (!link.throttle.admit(this.now)) {
      this.counters.dropped['rate-limited']++;
      if (link.throttle.flooding()) {
        this.counters.floodersDisconnected++;
        this.dropLink(from, 'flooding', prunedPeerHoldMs * 5, out);
      }
      return;
    }
    if (sizeBytes !== undefined && sizeBytes > maxOverlayMessageBytes) return void this.counters.dropped.oversize++;
    if (this.isCopyWeHold(raw)) return void this.counters.ignored.duplicate++;
    const msg = decodeOverlayMessage(raw);
    if (!msg) return void this.counters.dropped.malformed++;
    switch (msg.type) {
      case 'advert':
        this.onAdvert(from, msg, signer, out);
        break;
      case 'digest':
        this.onDigest(from, msg.entries, out);
        break;
      case 'request':
        this.onRequest(from, msg.origins, out);
        break;
      case 'unlink':
        if (msg.reason === 'leaving') this.onPeerLeft(from);
        this.linkStates.delete(from);
        this.syncHints.delete(from);
        this.hold(from, msg.reason === 'leaving' ? lostPeerHoldMs : prunedPeerHoldMs);
        this.linksChanged();
        out.push({ type: 'disconnect', peer: from, reason: msg.reason });
        break;
    }
  }

  /**
   * Most frames of a flood are copies of an advert we already hold (each node hears each advert
   * from about every neighbour). Recognising them before the full decode halves the cost of a
   * flood; nothing is applied from them, so a malformed copy is dropped either way.
   */
  private isCopyWeHold(raw: unknown): boolean {
    if (typeof raw !== 'object' || raw === null) return false;
    const { type, origin, seq } = raw as { type?: unknown; origin?: unknown; seq?: unknown };
    if (type !== 'advert' || typeof origin !== 'string' || typeof seq !== 'number') return false;
    return origin !== this.self && this.lsdb.get(origin as NodeId)?.advert.seq === seq;
  }

  private onConfig(change: Partial<OverlayConfig>, out: OverlayEffect[]): void {
    const next: OverlayConfig = {
      minLinks: change.minLinks ?? this.config.minLinks,
      maxLinks: change.maxLinks ?? this.config.maxLinks,
    };
    const problem = checkConfig(next);
    if (problem) {
      this.counters.dropped['bad-config']++;
      out.push({ type: 'config-refused', reason: problem });
      return;
    }
    this.config = next;
  }

  private sendTo(to: NodeId, msg: OverlayMsg, out: OverlayEffect[]): void {
    this.counters.sent[msg.type]++;
    out.push({ type: 'send', to, msg });
  }
}

/** No link twice and none to itself (a quadratic scan: adverts list a handful of links). */
function distinctLinks(advert: AdvertMsg): boolean {
  const links = advert.links;
  for (let i = 0; i < links.length; i++) {
    const peer = (links[i] as AdvertLink).peer;
    if (peer === advert.origin) return false;
    for (let j = i + 1; j < links.length; j++) if ((links[j] as AdvertLink).peer === peer) return false;
  }
  return true;
}

/** Sequence numbers start at 1 and must stay exact in a double. */
function possibleSeq(seq: number): boolean {
  return Number.isSafeInteger(seq) && seq >= 1;
}
