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
// Link-state adverts make every node know the graph within advertRadiusHops (4) of itself, its
// neighbourhood: adverts.ts floods them that far (a hop budget per copy) and syncs them, lsdb.ts
// stores them, view.ts turns them into this node's picture; choose.ts picks links.
// Why bounded: with whole-graph link-state every node held N adverts and every link change cost
// N · degree frames, so memory per node grew like N and the mesh's traffic like N² (12 msgs/node/s
// at 1,024 nodes, out of reach at 10,000 in one process or one room). Within a radius both stay
// bounded by the neighbourhood's size (≈ 160 nodes at degree 4), whatever N. A room of diameter
// ≤ 4 (a few dozen nodes) lies wholly inside it, so small rooms behave as before on the same
// code path. What a node cannot see any more, and what replaces it:
//   • far nodes: the router finds a destination beyond the radius with a route discovery
//     (src/core/route/router.ts), so it still reaches any node;
//   • a split far away: the nodes near the cut see the far side vanish (a stray component, see
//     view.ts: only nodes that were within strayDepthHops count) and bridge it, as before;
//     remembered peers out of sight are dialled again (rediscover) only while this node's whole
//     component fits in its radius, since in a large mesh they are most likely just far away;
//   • whether a link is a bridge: judged within the neighbourhood, so a link whose only way
//     around runs beyond the radius is never pruned (safe, at worst a node keeps max + 1 links
//     until another can go).
// The picture is rebuilt lazily, at most once per change of (database, links, departures), and
// each advert costs O(its links); adverts now nearer after a change are passed on again, and
// missing ones within the radius requested, at most once per tick (see tick handling below).
//
// How a runtime drives it (see OverlayInput and OverlayEffect for the exact shapes):
//   • feed `tick` every overlayTickIntervalMs, link-up / link-down / connect-failed / link-rtt
//     from the transport, peers-learnt / peer-left from the signaling client (or a failure
//     detector), each overlay frame as `message` with the signer the runtime verified for an
//     advert, and `signed` once it has signed what a `sign` effect asked for;
//   • carry out the effects in order: `connect` opens a link (only the `initiator` end makes the
//     WebRTC offer — the lower id — the other end asks it to, so two nodes never both offer),
//     `disconnect` closes one, `send` sends an overlay frame to a linked neighbour,
//     `sign` signs `text` with the node's key and feeds back `signed` (src/core/effects.ts).
//     To open a link while the signaling server is down, relay the signed offer/answer/ICE
//     signals (and the non-initiator's "please connect" invite) as router payloads of kind
//     'signal' (src/core/route/router.ts): the router reaches any node of the mesh, linked or not.
//   • verify an advert's `sig` over advertSigningText(advert) before feeding it; `wantsAdvert`
//     tells whether a copy is news, so the many duplicate copies of a flood need no verifying
//     (fed with signer null, a copy with the held advert's seq and sig is taken as that advert,
//     an older one is answered with ours, the rest is refused as unsigned);
//   • a failure detector's verdict that a peer is alive again (a refuted death) goes in as
//     `peers-learnt` while `isDeparted` says the peer is marked departed.
// Queries (`links()`, `graph()`, `routeTopology()`, `metrics()`, `snapshot()`) never change state.
import type { Rng } from '../rng.ts';
import { compareNodeIds, type Millis, type NodeId } from '../types.ts';
import type { Graph } from '../graph/graph.ts';
import { computeMetrics, snapshotTopology, type GraphMetrics, type TopologySnapshot } from '../graph/metrics.ts';
import {
  advertRadiusHops,
  checkConfig,
  connectBackoffBaseMs,
  connectBackoffMaxMs,
  connectTimeoutMs,
  defaultOverlayConfig,
  floodWindowMs,
  growIntervalMs,
  hedgeDialAfterMs,
  inboundProbationMs,
  inboundSlackLinks,
  learntPeerTtlMs,
  lostPeerHoldMs,
  maxKnownPeers,
  maxOverlayMessageBytes,
  maxPendingConnects,
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
  rttReadvertiseFraction,
  rttReadvertiseMinDeltaMs,
  rttSmoothingGain,
  strayComponentGraceMs,
  targetLinks,
  type OverlayConfig,
} from './config.ts';
import { decodeOverlayMessage, maxReportedRttMs, type AdvertMsg, type UnlinkReason } from './messages.ts';
import type { LinkStateDb } from './lsdb.ts';
import { buildView, type TopologyView } from './view.ts';
import { chooseLinkTargets, choosePruneVictim } from './choose.ts';
import { createThrottle, type Throttle } from './throttle.ts';
import { AdvertExchange, type AdvertContext } from './adverts.ts';
import {
  emptyCounters,
  pushSend,
  type OverlayCounters,
  type OverlayEffect,
  type OverlayInput,
  type OverlayOptions,
  type OverlaySnapshot,
  type RouteTopology,
} from './types.ts';

export type * from './types.ts';

interface LinkState {
  upAt: Millis;
  probationUntil: Millis | null;
  /** Smoothed round trip (rttSmoothingGain), ms, unrounded; null until the first sample. */
  srttMs: number | null;
  /** The smoothed round trip in whole ms, as adverts carry it. */
  rttMs: number | null;
  /** The RTT this link had in this node's latest advert (null: none advertised yet). */
  advertisedRttMs: number | null;
  throttle: Throttle;
}

interface PeerRecord {
  heardAt: Millis;
  failures: number;
  /** No dialling before this time: back-off after failed dials, a lost link, or flooding. */
  blockedUntil: Millis;
  /**
   * No dialling before this time either, unless we are below min: the courtesy pause after a
   * prune or a 'full' refusal, which keeps links from flapping but must never keep a node that
   * has lost its links from the very peers that could take it back.
   */
  heldUntil: Millis;
}

/** Expiry of adverts, hints and remembered peers: nothing there is urgent. */
const housekeepingIntervalMs: Millis = 5_000;

export class Overlay {
  readonly self: NodeId;
  private config: OverlayConfig;
  private readonly rng: Rng;
  private readonly adverts: AdvertExchange;
  private readonly lsdb: LinkStateDb;
  private readonly linkStates = new Map<NodeId, LinkState>();
  private readonly pending = new Map<NodeId, Millis>();
  private readonly known = new Map<NodeId, PeerRecord>();
  /** Peers that left, with the advert seq they had then: ignored until they advertise anew. */
  private readonly departed = new Map<NodeId, number>();
  /**
   * The departed peers the picture ignores: not those we still hold a link with. A 'dead' verdict
   * can be wrong (gossip's failure detector, refuted later without the overlay hearing of it),
   * and our open link is first-hand evidence against it; were the relay of such a neighbour to
   * ignore its advert, everything behind it would vanish from its picture (and from the adverts
   * it asks for) while the nodes around still route through it. If the link closes, the mark holds.
   */
  private readonly ignoredAsDeparted = { has: (peer: NodeId): boolean => this.departed.has(peer) && !this.linkStates.has(peer) };
  /** When a node was last known to be near us (for showing recent strays; see view.ts). */
  private readonly nearAt = new Map<NodeId, Millis>();
  private linkSet = new Set<NodeId>();
  private linksVersion = 0;
  private departedVersion = 0;
  private cachedView: TopologyView | null = null;
  private cachedRoute: { view: TopologyView; route: RouteTopology } | null = null;
  private viewBuilds = 0;
  /** The picture for which adverts were last passed on again (see AdvertExchange.reforwardNearer). */
  private reforwardedKey = '';
  private now: Millis;
  private newLinkTokens = newLinkBurst;
  private tokensAt: Millis;
  private nextGrowAt: Millis = 0;
  private nextPruneAt: Millis = 0;
  private nextPartitionCheckAt: Millis = 0;
  private nextRediscoverAt: Millis = 0;
  private nextHousekeepingAt: Millis = 0;
  /** Dials that failed while this node had no link at all, since it last had one. */
  private bootstrapFailures = 0;
  readonly counters: OverlayCounters = emptyCounters();

  constructor(options: OverlayOptions) {
    this.self = options.self;
    this.rng = options.rng;
    const config = { ...defaultOverlayConfig, ...options.config };
    const problem = checkConfig(config);
    if (problem) throw new Error(`overlay config: ${problem}`);
    this.config = config;
    this.now = options.now ?? 0;
    this.tokensAt = this.now;
    this.adverts = new AdvertExchange(this.self, this.rng, this.counters, this.now);
    this.lsdb = this.adverts.lsdb;
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
      case 'signed':
        this.adverts.onSigned(this.advertContext(out), input.id, input.sig);
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

  /** True while links up and dials in flight leave room below maxLinks: a peer heard of now may be dialled now. */
  hasRoomForLinks(): boolean {
    return this.linkStates.size + this.pending.size < this.config.maxLinks;
  }

  /**
   * True when nothing is in motion: no dial in flight, no link on probation, the degree within
   * [minLinks, maxLinks] and no advert of ours due. Only time-driven checks remain (partitions
   * every partitionCheckIntervalMs, growth, expiry), so a runtime may tick less often until an
   * input arrives (the overlay service does).
   */
  isSettled(): boolean {
    const degree = this.linkStates.size;
    if (this.pending.size > 0 || degree < this.config.minLinks || degree > this.config.maxLinks || this.adverts.originating) return false;
    for (const link of this.linkStates.values()) if (link.probationUntil !== null) return false;
    return true;
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
    this.cachedView = buildView(this.self, this.lsdb, this.linkSet, this.cachedView?.distance ?? null, this.nearAt, this.ignoredAsDeparted, this.now, key);
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
      advertSeq: this.adverts.seq,
      counters: structuredClone(this.counters),
    };
  }

  /**
   * True if an advert with this origin and seq would be news. A runtime may call this before
   * verifying a signature, to skip the (costly) check for the many duplicate copies of a flood.
   */
  wantsAdvert(origin: NodeId, seq: number): boolean {
    return this.adverts.wantsAdvert(origin, seq);
  }

  /**
   * True while `peer` is marked departed (left, or declared dead) and not yet heard of again. A
   * runtime whose failure detector later finds it alive feeds it as `peers-learnt`, which clears
   * the mark: otherwise a wrongly dead node we hold no link to stays out of the picture until it
   * advertises anew (up to advertRefreshMs).
   */
  isDeparted(peer: NodeId): boolean {
    return this.departed.has(peer);
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
    const verdict = asked ? 'take' : this.judgeInbound(peer);
    if (verdict === 'refuse') {
      this.counters.linksRefused++;
      pushSend(out, this.counters, peer, { type: 'unlink', reason: 'full' });
      out.push({ type: 'disconnect', peer, reason: 'full' });
      this.hold(peer, lostPeerHoldMs, 'courtesy');
      return;
    }
    if (record) record.failures = 0;
    this.bootstrapFailures = 0;
    this.linkStates.set(peer, {
      upAt: this.now,
      // Taken above max: kept only if the dialer turns out to need it (see reviewProbation).
      probationUntil: verdict === 'probation' ? this.now + inboundProbationMs : null,
      srttMs: null,
      rttMs: null,
      advertisedRttMs: null,
      throttle: createThrottle(
        { burstMsgs: overlayBurstMsgs, ratePerS: overlayRatePerS, floodDropsPerWindow: overlayFloodDrops, windowMs: floodWindowMs },
        this.now,
      ),
    });
    this.linksChanged();
    this.adverts.sendDigest(this.advertContext(out), peer);
  }

  /**
   * An unrequested link is taken below max. At max: refused at once if our picture of the dialer
   * is sound and says it has min links without us (it should dial a node with room); taken if
   * it says the dialer is short of links; and on probation if the picture may be stale — the
   * dialer is unknown, unreachable in our view, or claims links its peers do not confirm. That
   * last case is a node cut off by a crash or a partition: its old advert still shows it
   * healthy, and only its next advert, sent over this very link, can say otherwise.
   * Above max + inboundSlackLinks, always refused.
   */
  private judgeInbound(peer: NodeId): 'take' | 'refuse' | 'probation' {
    const links = this.linkStates.size;
    if (links < this.config.maxLinks) return 'take';
    if (links >= this.config.maxLinks + inboundSlackLinks) return 'refuse';
    const claimed = this.lsdb.peersOf(peer)?.size;
    if (claimed === undefined) return 'probation';
    const view = this.view();
    if (!view.distance.has(peer) || view.degree(peer) !== claimed) return 'probation';
    return claimed >= this.config.minLinks ? 'refuse' : 'take';
  }

  /**
   * Links taken above max from dialers we knew too little about. Once the dialer's fresh advert
   * has had time to arrive: if it can spare the link (it has min links without ours) we hand it
   * back ('full'), so it dials a node with room; if it needs it — a newcomer, a node cut off by
   * a crash or a partition, whose old advert still showed it healthy — we keep it and prune
   * one of our older links instead.
   */
  private reviewProbation(out: OverlayEffect[]): void {
    for (const [peer, link] of this.linkStates) {
      if (link.probationUntil === null || link.probationUntil > this.now) continue;
      link.probationUntil = null;
      const theirs = this.lsdb.peersOf(peer);
      const spare = theirs !== undefined && theirs.has(this.self) && theirs.size - 1 >= this.config.minLinks;
      if (spare && this.linkStates.size > this.config.maxLinks) {
        this.counters.linksRefused++;
        this.dropLink(peer, 'full', lostPeerHoldMs, out);
      }
    }
  }

  private onLinkDown(peer: NodeId): void {
    this.pending.delete(peer);
    if (!this.linkStates.delete(peer)) return;
    this.adverts.forgetNeighbour(peer);
    this.hold(peer, lostPeerHoldMs, 'backoff');
    this.linksChanged();
  }

  private onRtt(peer: NodeId, rttMs: number): void {
    const link = this.linkStates.get(peer);
    if (!link || !Number.isFinite(rttMs) || rttMs < 0) {
      this.counters.dropped['bad-input']++;
      return;
    }
    const sample = Math.min(maxReportedRttMs, rttMs);
    link.srttMs = link.srttMs === null ? sample : link.srttMs + rttSmoothingGain * (sample - link.srttMs);
    link.rttMs = Math.round(link.srttMs);
    // Re-advertise only for a lasting change, so RTT jitter does not flood the mesh.
    const advertised = link.advertisedRttMs;
    if (advertised === null || Math.abs(advertised - link.rttMs) > Math.max(rttReadvertiseMinDeltaMs, advertised * rttReadvertiseFraction)) {
      this.adverts.markDirty();
    }
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
    this.adverts.markDirty();
  }

  /** Someone vouches for `peer` being in the room (a departed mark is then void). */
  private hear(peer: NodeId): void {
    if (this.departed.delete(peer)) this.departedVersion++;
    const record = this.known.get(peer);
    if (record) {
      record.heardAt = this.now;
      return;
    }
    if (this.known.size >= maxKnownPeers) this.forgetLeastRecent();
    this.known.set(peer, { heardAt: this.now, failures: 0, blockedUntil: 0, heldUntil: 0 });
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

  private hold(peer: NodeId, ms: Millis, kind: 'backoff' | 'courtesy'): void {
    const record = this.known.get(peer);
    if (!record) return;
    if (kind === 'backoff') record.blockedUntil = Math.max(record.blockedUntil, this.now + ms);
    else record.heldUntil = Math.max(record.heldUntil, this.now + ms);
  }

  private dialFailed(peer: NodeId): void {
    this.counters.connectsFailed++;
    if (this.linkStates.size === 0) this.bootstrapFailures++;
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
    pushSend(out, this.counters, peer, { type: 'unlink', reason });
    out.push({ type: 'disconnect', peer, reason });
    this.linkStates.delete(peer);
    this.adverts.forgetNeighbour(peer);
    this.hold(peer, holdMs, reason === 'flooding' ? 'backoff' : 'courtesy');
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
    // Once per tick at most, and only if the picture changed: adverts now nearer go on again.
    if (this.cachedView && this.cachedView.key !== this.reforwardedKey) {
      const view = this.view();
      this.reforwardedKey = view.key;
      this.adverts.reforwardNearer(this.advertContext(out), view.distance);
      this.adverts.requestMissing(this.advertContext(out), this.missingAdverts(view));
    }
    // Adverts go out on ticks only, so that link changes of one tick share one advert.
    const seqBefore = this.adverts.seq;
    this.adverts.maybeOriginate(this.advertContext(out));
    if (this.adverts.seq !== seqBefore) for (const link of this.linkStates.values()) link.advertisedRttMs = link.rttMs;
  }

  private advertContext(out: OverlayEffect[]): AdvertContext {
    return {
      now: this.now,
      links: this.linkStates,
      departedSeq: (origin) => (this.ignoredAsDeparted.has(origin) ? this.departed.get(origin) : undefined),
      // The last picture, even if adverts arrived since: rebuilding it per request or digest
      // would cost O(neighbourhood) per message; a budget one hop short is made up on the next
      // tick (reforwardNearer), one hop long costs a few frames.
      hopsTo: (origin) => (this.cachedView ?? this.view()).distance.get(origin),
      out,
    };
  }

  private housekeeping(): void {
    this.adverts.housekeeping(this.now);
    this.forgetBeyondRadius();
    for (const [peer, record] of this.known) {
      if (this.linkStates.has(peer) || this.pending.has(peer)) continue;
      if (this.now - record.heardAt > peerForgetMs) this.known.delete(peer);
    }
    for (const [peer, at] of this.nearAt) if (this.now - at > strayComponentGraceMs) this.nearAt.delete(peer);
    for (const peer of this.departed.keys()) {
      if (!this.lsdb.get(peer)) {
        this.departed.delete(peer);
        this.departedVersion++;
      }
    }
  }

  /** Origins within our radius (listed by a node of our picture nearer than its edge) whose advert we lack. */
  private missingAdverts(view: TopologyView): Set<NodeId> {
    const missing = new Set<NodeId>();
    for (const [node, hops] of view.distance) {
      // Our own neighbours' adverts come with the database sync of the new link.
      if (hops >= advertRadiusHops || node === this.self) continue;
      for (const peer of this.lsdb.peersOf(node) ?? []) if (peer !== this.self && !this.lsdb.get(peer) && !this.ignoredAsDeparted.has(peer)) missing.add(peer);
    }
    return missing;
  }

  /**
   * Drops adverts of origins now farther than advertRadiusHops (or out of sight and not a
   * recent stray): they no longer reach us, so their picture would only grow stale, and keeping
   * them would let the database grow with every node that ever passed through the neighbourhood.
   */
  private forgetBeyondRadius(): void {
    const view = this.view();
    const drop: NodeId[] = [];
    for (const origin of this.lsdb.origins()) {
      if (origin === this.self || (view.distance.get(origin) ?? Infinity) <= advertRadiusHops) continue;
      if (!view.distance.has(origin) && view.has(origin)) continue; // a stray component: kept while shown
      drop.push(origin);
    }
    for (const origin of drop) this.lsdb.remove(origin);
  }

  private maintainLinks(out: OverlayEffect[]): void {
    const { minLinks, maxLinks } = this.config;
    const target = targetLinks(this.config);
    if (this.linkStates.size > maxLinks) this.reviewProbation(out);
    const linked = this.linkStates.size;
    const inFlight = linked + this.pending.size - (linked < minLinks ? this.stalePendingDials() : 0);
    const growDue = inFlight < target && this.now >= this.nextGrowAt;
    const partitionCheck = this.now >= this.nextPartitionCheckAt;
    const healthy = (v: TopologyView): boolean => v.size > maxLinks + 1 && linked >= minLinks && linked <= maxLinks && !growDue && v.strays.length === 0;
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
    // Only when our whole component lies inside our radius: in a larger mesh a remembered peer
    // out of sight is most likely just far away, and dialling it would be churn.
    const rediscoverDue = partitionCheck && this.now >= this.nextRediscoverAt && view.depth < advertRadiusHops;
    if (healthy(view) && !rediscoverDue) return;

    const heardOf = this.heardOf(view);
    const swarm = view.size + this.likelyAlive(heardOf);
    const budget = Math.min(maxPendingConnects - this.pending.size, Math.floor(this.newLinkTokens));
    const ctx = {
      self: this.self,
      view,
      claimedDegree: (peer: NodeId) => this.lsdb.peersOf(peer)?.size,
      excluded: (peer: NodeId) => this.excluded(peer, inFlight < minLinks),
      heardOf,
      minLinks,
      target,
      maxLinks,
    };

    if (swarm <= maxLinks + 1) {
      // Small swarm: link to everyone we know of.
      const want = [...view.distance.keys(), ...view.strays.flat(), ...heardOf].filter((p) => !this.excluded(p, false)).sort(compareNodeIds);
      for (const peer of want.slice(0, Math.max(0, budget))) this.dial(peer, out);
    } else if (budget > 0) {
      if (inFlight < minLinks) {
        // One spare dial hedges against a candidate that turns out to be dead; if all succeed
        // we are still within max. A node that knows nothing yet (just joined, or lost every
        // link) dials two peers, learns the mesh from their database, then picks the rest
        // knowing who has room — fewer links to nodes already full, fewer prunes.
        // Each failed round widens the next (2, 3, 4 at once): a node cut off on one side of a
        // partition cannot tell which of the nodes it remembers are on its side.
        const bootstrapping = linked === 0;
        const want = bootstrapping
          ? Math.min(maxPendingConnects, 2 + this.bootstrapFailures) - this.pending.size
          : Math.min(minLinks - inFlight + 1, maxLinks - inFlight);
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
        const lost = heardOf.filter((p) => !this.excluded(p, false));
        if (lost.length > 0 && this.rng.next() < Math.min(1, 2 / view.distance.size)) this.dial(this.rng.pick(lost) as NodeId, out);
      }
    }
    if (linked > maxLinks && this.now >= this.nextPruneAt) {
      // Down to max in one go (each victim checked against the picture without the last one).
      for (let excess = linked - maxLinks; excess > 0; excess--) {
        const victim = choosePruneVictim({ ...ctx, view: this.view() }, this.linkStates, this.now, minLinkAgeBeforePruneMs, this.rng);
        if (victim === null) break;
        this.nextPruneAt = this.now + pruneIntervalMs;
        this.counters.linksPruned++;
        this.dropLink(victim, 'prune', prunedPeerHoldMs, out);
      }
    }
  }

  /** Dials pending longer than hedgeDialAfterMs (see config.ts: below min, another dial goes beside them). */
  private stalePendingDials(): number {
    let stale = 0;
    for (const since of this.pending.values()) if (this.now - since >= hedgeDialAfterMs) stale++;
    return stale;
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

  /** Not to be dialled now; `urgent` (below min) ignores courtesy holds, never back-offs. */
  private excluded(peer: NodeId, urgent: boolean): boolean {
    if (peer === this.self || this.linkStates.has(peer) || this.pending.has(peer) || this.departed.has(peer)) return true;
    const record = this.known.get(peer);
    if (!record) return false;
    return record.blockedUntil > this.now || (!urgent && record.heldUntil > this.now);
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
    if (this.adverts.isCopyWeHold(raw)) return void this.counters.ignored.duplicate++;
    const msg = decodeOverlayMessage(raw);
    if (!msg) return void this.counters.dropped.malformed++;
    switch (msg.type) {
      case 'advert':
        this.onAdvert(from, msg, signer, out);
        break;
      case 'digest':
        this.adverts.onDigest(this.advertContext(out), from, msg.entries);
        break;
      case 'request':
        this.adverts.onRequest(this.advertContext(out), from, msg.origins);
        break;
      case 'unlink':
        if (msg.reason === 'leaving') this.onPeerLeft(from);
        this.linkStates.delete(from);
        this.adverts.forgetNeighbour(from);
        if (msg.reason === 'leaving') this.hold(from, lostPeerHoldMs, 'backoff');
        else this.hold(from, msg.reason === 'flooding' ? prunedPeerHoldMs * 5 : prunedPeerHoldMs, msg.reason === 'flooding' ? 'backoff' : 'courtesy');
        this.linksChanged();
        out.push({ type: 'disconnect', peer: from, reason: msg.reason });
        break;
    }
  }

  private onAdvert(from: NodeId, advert: AdvertMsg, signer: NodeId | null, out: OverlayEffect[]): void {
    const installed = this.adverts.onAdvert(this.advertContext(out), from, advert, signer);
    if (!installed) return;
    // A node that left and advertises anew is back.
    const departedSeq = this.departed.get(installed.origin);
    if (departedSeq !== undefined && installed.seq > departedSeq) {
      this.departed.delete(installed.origin);
      this.departedVersion++;
    }
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
}
