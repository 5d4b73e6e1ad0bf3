// Mesh routing: unicast to any node over several hops, and a broadcast that reaches every live
// node once. A pure state machine `step(now, input) → effects`, like the other cores.
//
// Unicast: each hop picks the next hop itself, from its own current picture of the mesh (the
// overlay's RouteTopology), along a shortest path by hops (or by advertised RTT) that avoids
// every node already on the message's `path`. So a message keeps going when a relay vanishes
// mid-way (the hop before it just picks another way), and it can never loop: a node that finds
// itself on the path drops it as a loop, and the hop bound stops anything else.
// Beyond the neighbourhood: the overlay's picture covers only the nodes within
// advertRadiusHops (src/core/overlay/config.ts). For a destination outside it the origin floods
// a `seek` once (seen-cache deduplicated, hop bounded) and queues the message; the destination
// answers along the path the seek took, and the origin caches that path (routeCacheTtlMs) and
// sends with it as waypoints (`via`). Every hop heads for the farthest waypoint it can see,
// along its own shortest path, so a crashed relay is skipped as long as a later waypoint is
// within the radius of the hop before it (local repair); the destination itself is taken as
// soon as a hop sees it. A seek unanswered within seekTimeoutMs makes the queued messages
// `undeliverable`. The cost: one flood per (origin, destination) pair per cache lifetime, and
// only until it meets a node that sees the target or knows a way to it: that node sends the seek
// straight on instead of to all its links. The way back costs no seek: a node keeps the path of
// an authenticated message (the `learn` input) as its way to the message's origin.
// Broadcast: flooding with a bounded seen-cache keyed by (origin, id) and a hop bound.
//
// Answers are signed: any node sees a flooded seek and could answer in the target's name with a
// path through itself (then drop or delay what the origin sends for a minute), so the target
// signs its answer (a `sign` effect) and the origin takes one only with the signer the runtime
// verified (docs/security.md, "Signed route-discovery answers").
//
// Runtime contract: feed `send` / `broadcast` commands from upper layers (e.g. 'signal'
// payloads for WebRTC negotiation over the mesh), each frame tagged 'route' as `message` (with
// the verified `signer` of an answer that `foundToVerify` names), `signed` for each `sign`
// effect, `learn` with the path of each unicast `deliver` whose payload checked out as its
// origin's, and a `tick` now and then (every few seconds is enough; it expires the seen-cache and
// seeks). Carry out `send` effects on the named link, hand `deliver` to the layer that owns `kind`, and treat
// `undeliverable` as "try another way" (e.g. the signaling server). A `disconnect` effect means
// a neighbour flooded us past its budget: close that link.
import type { SignEffect, SignedInput } from '../effects.ts';
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import type { RouteTopology } from '../overlay/overlay.ts';
import { createThrottle, type Throttle } from '../overlay/throttle.ts';
import * as v from 'valibot';
import {
  decodeRouteMessage,
  defaultMaxHops,
  maxHopsSchema,
  maxRoutedMessageBytes,
  maxRoutedPayloadBytes,
  messageIdSchema,
  messageKindSchema,
  payloadBytes,
  foundSchema,
  foundSigningText,
  routeFoundKind,
  type FloodMsg,
  type RouteMsg,
  type RoutedMsg,
  type SeekMsg,
} from './messages.ts';
import { hopTree, pathTo, rttTree, type PathTree } from './paths.ts';
import { SeenCache } from './seen-cache.ts';
import { nodeIdSchema } from '../overlay/messages.ts';

/** Message keys remembered for deduplication; when full, the oldest go first. */
export const maxSeenMessages = 16_384;
/** How long a message key is remembered: far longer than any message takes to cross the mesh. */
export const seenTtlMs: Millis = 120_000;
/** Per-neighbour budget for transit traffic (routed and flooded). */
export const routeBurstMsgs = 1_000;
export const routeRatePerS = 200;
/** Refusals within `routeFloodWindowMs` after which a neighbour is disconnected for flooding. */
export const routeFloodDrops = 500;
export const routeFloodWindowMs: Millis = 10_000;
/** A route discovery not answered within this long has failed: its messages are undeliverable. */
export const seekTimeoutMs: Millis = 5_000;
/** A discovered path is used this long, then discovered anew (paths change as the mesh heals). */
export const routeCacheTtlMs: Millis = 60_000;
/** Discovered paths kept; when full, the oldest go first. */
export const maxCachedRoutes = 256;
/** Destinations being sought at once, and messages queued per destination meanwhile. */
export const maxSeeking = 64;
export const maxQueuedPerSeek = 32;

export type RouteMetric = 'hops' | 'rtt';

export interface RouterOptions {
  self: NodeId;
  rng: Rng;
  /** The overlay's current picture; called whenever a route is needed. */
  topology: () => RouteTopology;
  metric?: RouteMetric;
}

export type RouteInput =
  /** Send `payload` to `to` (any node of the mesh). `id` defaults to a fresh random one. */
  | { type: 'send'; to: NodeId; kind: string; payload: unknown; id?: string; maxHops?: number }
  /** Deliver `payload` to every node once (including this one). */
  | { type: 'broadcast'; kind: string; payload: unknown; id?: string; maxHops?: number }
  /**
   * A frame tagged 'route' from the linked neighbour `from`. `signer`: the node whose signature
   * over foundSigningText the runtime verified, for an answer to one of our seeks (foundToVerify).
   */
  | { type: 'message'; from: NodeId; msg: unknown; signer?: NodeId | null; sizeBytes?: number }
  /**
   * The `path` of a unicast `deliver` whose payload the runtime authenticated as `to`'s: kept,
   * reversed, as the way back to `to` (an answer then needs no seek of its own).
   */
  | { type: 'learn'; to: NodeId; path: readonly NodeId[] }
  /** The signature the runtime made for a `sign` effect: our answer to a seek for us. */
  | SignedInput
  | { type: 'tick' };

export type UndeliverableReason = 'no-route' | 'oversize' | 'bad-request';

export type RouteEffect =
  | { type: 'send'; to: NodeId; msg: RouteMsg }
  /** `path`: for a unicast from another node, the nodes it came through (origin first, the sender last). */
  | { type: 'deliver'; origin: NodeId; kind: string; payload: unknown; id: string; hops: number; broadcast: boolean; path?: NodeId[] }
  /** A local send could not even start; nothing was sent. */
  | { type: 'undeliverable'; id: string; to: NodeId | null; reason: UndeliverableReason; detail: string }
  | { type: 'disconnect'; peer: NodeId; reason: 'flooding' }
  /** Sign `text` (an answer to a seek for this node) and step with `signed` (src/core/effects.ts). */
  | SignEffect;

/** `unsigned`: an answer to our seek without its target's signature (a forged path). */
export type RouteDropReason = 'malformed' | 'oversize' | 'hop-limit' | 'loop' | 'no-route' | 'not-linked' | 'rate-limited' | 'bad-path' | 'unsigned';

export interface RouteCounters {
  dropped: Record<RouteDropReason, number>;
  duplicates: number;
  originated: number;
  forwarded: number;
  delivered: number;
  /** Forwards that had to avoid the cached shortest path (it would have revisited a node). */
  detours: number;
  /** Route discoveries started, answered, and timed out (see the top comment). */
  seeks: number;
  found: number;
  seeksFailed: number;
  /** Ways back learnt from authenticated messages (the `learn` input). */
  learnt: number;
}

const requestSchema = v.object({
  to: v.optional(nodeIdSchema),
  kind: messageKindSchema,
  id: v.optional(messageIdSchema),
  maxHops: v.optional(maxHopsSchema),
});

export class Router {
  readonly self: NodeId;
  private readonly rng: Rng;
  private readonly topology: () => RouteTopology;
  private readonly metric: RouteMetric;
  private readonly seen = new SeenCache(maxSeenMessages, seenTtlMs);
  private readonly throttles = new Map<NodeId, Throttle>();
  private tree: { key: string; tree: PathTree } | null = null;
  private counter = 0;
  private now: Millis = 0;
  readonly counters: RouteCounters = {
    dropped: { malformed: 0, oversize: 0, 'hop-limit': 0, loop: 0, 'no-route': 0, 'not-linked': 0, 'rate-limited': 0, 'bad-path': 0, unsigned: 0 },
    duplicates: 0,
    originated: 0,
    forwarded: 0,
    delivered: 0,
    detours: 0,
    seeks: 0,
    found: 0,
    seeksFailed: 0,
    learnt: 0,
  };
  /** Destination → waypoints (the path after this node) found by a seek or learnt, and when. */
  private readonly routes = new Map<NodeId, { via: NodeId[]; at: Millis }>();
  /** Destination → the seek under way and the messages waiting for its answer. */
  private readonly seeking = new Map<NodeId, { id: string; since: Millis; queue: RoutedMsg[] }>();
  /** Our answers to seeks for us, waiting for their signature (by sign id; at most maxSeeking). */
  private readonly answering = new Map<number, { answer: RoutedMsg; at: Millis }>();
  private signCounter = 0;

  constructor(options: RouterOptions) {
    this.self = options.self;
    this.rng = options.rng;
    this.topology = options.topology;
    this.metric = options.metric ?? 'hops';
  }

  step(now: Millis, input: RouteInput): RouteEffect[] {
    if (now > this.now) this.now = now;
    const out: RouteEffect[] = [];
    switch (input.type) {
      case 'send':
        this.originate(input, out);
        break;
      case 'broadcast':
        this.originateFlood(input, out);
        break;
      case 'message':
        this.onMessage(input.from, input.msg, input.signer ?? null, input.sizeBytes, out);
        break;
      case 'signed':
        this.onSigned(input, out);
        break;
      case 'learn':
        this.learn(input.to, input.path);
        break;
      case 'tick': {
        this.seen.expire(this.now);
        this.expireSeeks(out);
        const links = this.topology().links;
        for (const peer of this.throttles.keys()) if (!links.has(peer)) this.throttles.delete(peer);
        break;
      }
    }
    return out;
  }

  /** The hops a message to `dest` would take from here now (self first), or null. */
  routeTo(dest: NodeId): NodeId[] | null {
    return pathTo(this.currentTree(), dest);
  }

  /**
   * What to verify before feeding `raw` as a message: for an answer to a seek of ours still
   * waiting for it, its claimed target, the text it must have signed and the signature; else null
   * (nothing to check: every other frame is fed with no signer, and stale answers need no check).
   */
  foundToVerify(raw: unknown): { signer: NodeId; text: string; sig: string } | null {
    const msg = decodeRouteMessage(raw);
    if (msg?.type !== 'routed' || msg.kind !== routeFoundKind || msg.dest !== this.self) return null;
    const found = v.safeParse(foundSchema, msg.payload);
    if (!found.success || this.seeking.get(found.output.target)?.id !== found.output.seek) return null;
    return { signer: found.output.target, text: foundSigningText(found.output), sig: found.output.sig };
  }

  /** The waypoints a route discovery found to `dest` (after this node), while cached. */
  discoveredPath(dest: NodeId): NodeId[] | null {
    const route = this.routes.get(dest);
    return route && this.now - route.at < routeCacheTtlMs ? [...route.via] : null;
  }

  // ── originating ───────────────────────────────────────────────────────────────────────

  private checkRequest(
    input: { to?: NodeId; kind: string; payload: unknown; id?: string; maxHops?: number },
    out: RouteEffect[],
  ): { id: string; maxHops: number } | null {
    const id = input.id ?? this.freshId();
    const fail = (reason: UndeliverableReason, detail: string): null => {
      out.push({ type: 'undeliverable', id, to: input.to ?? null, reason, detail });
      return null;
    };
    const checked = v.safeParse(requestSchema, { to: input.to, kind: input.kind, id: input.id, maxHops: input.maxHops });
    if (!checked.success) return fail('bad-request', checked.issues[0].message);
    const bytes = payloadBytes(input.payload);
    if (bytes === null) return fail('bad-request', 'the payload has no JSON form');
    if (bytes > maxRoutedPayloadBytes) return fail('oversize', `payload of ${bytes} bytes (UTF-8 JSON) exceeds ${maxRoutedPayloadBytes}; split it`);
    return { id, maxHops: input.maxHops ?? defaultMaxHops };
  }

  private originate(input: Extract<RouteInput, { type: 'send' }>, out: RouteEffect[]): void {
    const ok = this.checkRequest(input, out);
    if (!ok) return;
    this.counters.originated++;
    if (input.to === this.self) {
      this.counters.delivered++;
      out.push({ type: 'deliver', origin: this.self, kind: input.kind, payload: input.payload, id: ok.id, hops: 0, broadcast: false });
      return;
    }
    this.seen.add(`u:${this.self}:${ok.id}`, this.now);
    const msg: RoutedMsg = {
      type: 'routed',
      id: ok.id,
      origin: this.self,
      dest: input.to,
      hops: 0,
      maxHops: ok.maxHops,
      path: [this.self],
      kind: input.kind,
      payload: input.payload,
    };
    this.sendOut(msg, out);
  }

  /** Sends a message of ours: directly, along a discovered path, or after a discovery. */
  private sendOut(msg: RoutedMsg, out: RouteEffect[]): void {
    let next = this.nextHop(msg.dest, msg.path);
    const cached = this.routes.get(msg.dest);
    if (next === null && cached && this.now - cached.at < routeCacheTtlMs) {
      msg = { ...msg, via: cached.via };
      next = this.nextHop(msg.dest, msg.path, msg.via);
    }
    if (next !== null) {
      out.push({ type: 'send', to: next, msg: { ...msg, hops: 1 } });
      return;
    }
    const waiting = this.seeking.get(msg.dest);
    if (waiting && waiting.queue.length < maxQueuedPerSeek) return void waiting.queue.push(msg);
    const links = this.topology().links;
    if (waiting || links.size === 0 || this.seeking.size >= maxSeeking) {
      this.counters.dropped['no-route']++;
      out.push({ type: 'undeliverable', id: msg.id, to: msg.dest, reason: 'no-route', detail: `no known path to ${msg.dest}` });
      return;
    }
    const seek: SeekMsg = { type: 'seek', id: this.freshId(), origin: this.self, target: msg.dest, hops: 1, maxHops: defaultMaxHops, path: [this.self] };
    this.seen.add(`s:${this.self}:${seek.id}`, this.now);
    this.seeking.set(msg.dest, { id: seek.id, since: this.now, queue: [msg] });
    this.counters.seeks++;
    for (const peer of links) out.push({ type: 'send', to: peer, msg: seek });
  }

  private expireSeeks(out: RouteEffect[]): void {
    for (const [dest, seek] of this.seeking) {
      if (this.now - seek.since < seekTimeoutMs) continue;
      this.seeking.delete(dest);
      this.counters.seeksFailed++;
      for (const msg of seek.queue) {
        this.counters.dropped['no-route']++;
        out.push({ type: 'undeliverable', id: msg.id, to: dest, reason: 'no-route', detail: `no path to ${dest} found within ${seekTimeoutMs} ms` });
      }
    }
    for (const [dest, route] of this.routes) if (this.now - route.at >= routeCacheTtlMs) this.routes.delete(dest);
    // A signature never made (a runtime that failed to sign) must not hold a slot for good.
    for (const [id, pending] of this.answering) if (this.now - pending.at >= seekTimeoutMs) this.answering.delete(id);
  }

  private originateFlood(input: Extract<RouteInput, { type: 'broadcast' }>, out: RouteEffect[]): void {
    const ok = this.checkRequest(input, out);
    if (!ok) return;
    this.counters.originated++;
    this.seen.add(`f:${this.self}:${ok.id}`, this.now);
    this.counters.delivered++;
    out.push({ type: 'deliver', origin: this.self, kind: input.kind, payload: input.payload, id: ok.id, hops: 0, broadcast: true });
    const msg: FloodMsg = { type: 'flood', id: ok.id, origin: this.self, hops: 1, maxHops: ok.maxHops, kind: input.kind, payload: input.payload };
    for (const peer of this.topology().links) out.push({ type: 'send', to: peer, msg });
  }

  private freshId(): string {
    this.counter++;
    const a = Math.floor(this.rng.next() * 2 ** 32).toString(36);
    const b = Math.floor(this.rng.next() * 2 ** 32).toString(36);
    return `${a}${b}.${this.counter.toString(36)}`;
  }

  // ── transit ───────────────────────────────────────────────────────────────────────────

  private onMessage(from: NodeId, raw: unknown, signer: NodeId | null, sizeBytes: number | undefined, out: RouteEffect[]): void {
    const topology = this.topology();
    if (!topology.links.has(from)) return void this.counters.dropped['not-linked']++;
    let throttle = this.throttles.get(from);
    if (!throttle) {
      throttle = createThrottle(
        { burstMsgs: routeBurstMsgs, ratePerS: routeRatePerS, floodDropsPerWindow: routeFloodDrops, windowMs: routeFloodWindowMs },
        this.now,
      );
      this.throttles.set(from, throttle);
    }
    if (!throttle.admit(this.now)) {
      this.counters.dropped['rate-limited']++;
      if (throttle.flooding()) {
        this.throttles.delete(from);
        out.push({ type: 'disconnect', peer: from, reason: 'flooding' });
      }
      return;
    }
    if (sizeBytes !== undefined && sizeBytes > maxRoutedMessageBytes) return void this.counters.dropped.oversize++;
    const msg = decodeRouteMessage(raw);
    if (!msg) return void this.counters.dropped.malformed++;
    if (msg.hops > msg.maxHops) return void this.counters.dropped['hop-limit']++;
    if (msg.type === 'seek') return this.onSeek(from, msg, out);
    const bytes = payloadBytes(msg.payload);
    if (bytes === null || bytes > maxRoutedPayloadBytes) return void this.counters.dropped.oversize++;
    if (msg.type === 'routed') this.onRouted(from, msg, signer, out);
    else this.onFlood(from, msg, out);
  }

  private onRouted(from: NodeId, msg: RoutedMsg, signer: NodeId | null, out: RouteEffect[]): void {
    const fault = this.pathFault(from, msg);
    if (fault) return void this.counters.dropped[fault]++;
    if (!this.seen.add(`u:${msg.origin}:${msg.id}`, this.now)) return void this.counters.duplicates++;
    if (msg.dest === this.self && msg.kind === routeFoundKind) return this.onFound(msg, signer, out);
    if (msg.dest === this.self) {
      this.counters.delivered++;
      out.push({ type: 'deliver', origin: msg.origin, kind: msg.kind, payload: msg.payload, id: msg.id, hops: msg.hops, broadcast: false, path: msg.path });
      return;
    }
    if (msg.hops >= msg.maxHops) return void this.counters.dropped['hop-limit']++;
    const path = [...msg.path, this.self];
    const next = this.nextHop(msg.dest, path, msg.via);
    if (next === null) return void this.counters.dropped['no-route']++;
    this.counters.forwarded++;
    out.push({ type: 'send', to: next, msg: { ...msg, hops: msg.hops + 1, path } });
  }

  /**
   * Why a routed message's or a seek's path is unacceptable, or null. It must start at the
   * origin, end with the neighbour that sent it, be as long as the hop count says and name no
   * node twice (anything else is forged or broken), and must not name this node (a loop).
   */
  private pathFault(from: NodeId, msg: RoutedMsg | SeekMsg): 'bad-path' | 'loop' | null {
    const { path } = msg;
    if (path[0] !== msg.origin || path[path.length - 1] !== from || path.length !== msg.hops) return 'bad-path';
    if (path.includes(this.self)) return 'loop';
    return new Set(path).size === path.length ? null : 'bad-path';
  }

  private onFlood(from: NodeId, msg: FloodMsg, out: RouteEffect[]): void {
    if (!this.seen.add(`f:${msg.origin}:${msg.id}`, this.now)) return void this.counters.duplicates++;
    if (msg.origin !== this.self) {
      this.counters.delivered++;
      out.push({ type: 'deliver', origin: msg.origin, kind: msg.kind, payload: msg.payload, id: msg.id, hops: msg.hops, broadcast: true });
    }
    if (msg.hops >= msg.maxHops) return void this.counters.dropped['hop-limit']++;
    const forwarded: FloodMsg = { ...msg, hops: msg.hops + 1 };
    let sent = false;
    for (const peer of this.topology().links) {
      if (peer === from || peer === msg.origin) continue;
      out.push({ type: 'send', to: peer, msg: forwarded });
      sent = true;
    }
    if (sent) this.counters.forwarded++;
  }

  private onSeek(from: NodeId, msg: SeekMsg, out: RouteEffect[]): void {
    const fault = this.pathFault(from, msg);
    if (fault) return void this.counters.dropped[fault]++;
    if (!this.seen.add(`s:${msg.origin}:${msg.id}`, this.now)) return void this.counters.duplicates++;
    if (msg.target === this.self) return this.answerSeek(msg, out);
    if (msg.hops >= msg.maxHops) return void this.counters.dropped['hop-limit']++;
    const { id, origin, target, maxHops } = msg;
    const forwarded: SeekMsg = { type: 'seek', id, origin, target, hops: msg.hops + 1, maxHops, path: [...msg.path, this.self] };
    this.counters.forwarded++;
    // In sight of the target, or on a way to it (waypoints the seek carries, or a path this node
    // found or learnt): head straight for it rather than flood on. The flood then only has to
    // reach the target's neighbourhood or a node that talks to it, not cover the whole mesh
    // (docs/benchmarks.md, "Whole runtime in the simulator").
    const via = msg.via ?? this.discoveredPath(target) ?? undefined;
    const toward = this.nextHop(target, forwarded.path, via);
    if (toward !== null) return void out.push({ type: 'send', to: toward, msg: via ? { ...forwarded, via } : forwarded });
    // Waypoints that lead nowhere from here are dropped: the flood goes on without them.
    for (const peer of this.topology().links) if (peer !== from && peer !== origin) out.push({ type: 'send', to: peer, msg: forwarded });
  }

  /**
   * A seek for us: the first copy came the quickest way, so answer along it, reversed, as
   * waypoints — once the answer is signed (any node sees the seek and could answer in our name).
   */
  private answerSeek(msg: SeekMsg, out: RouteEffect[]): void {
    if (this.answering.size >= maxSeeking) return void this.counters.dropped['rate-limited']++;
    const path = [...msg.path, this.self];
    const back = [...msg.path].reverse().slice(0, -1);
    const found = { seek: msg.id, target: this.self, path };
    const answer: RoutedMsg = {
      type: 'routed',
      id: this.freshId(),
      origin: this.self,
      dest: msg.origin,
      hops: 0,
      maxHops: defaultMaxHops,
      path: [this.self],
      ...(back.length > 0 ? { via: [...back, msg.origin] } : {}),
      kind: routeFoundKind,
      payload: found,
    };
    const id = ++this.signCounter;
    this.answering.set(id, { answer, at: this.now });
    out.push({ type: 'sign', id, text: foundSigningText(found) });
  }

  private onSigned(input: SignedInput, out: RouteEffect[]): void {
    const answer = this.answering.get(input.id)?.answer;
    if (!answer) return;
    this.answering.delete(input.id);
    const next = this.nextHop(answer.dest, answer.path, answer.via);
    if (next === null) return void this.counters.dropped['no-route']++;
    out.push({ type: 'send', to: next, msg: { ...answer, hops: 1, payload: { ...(answer.payload as object), sig: input.sig } } });
  }

  /** The answer to one of our seeks: cache the path and send what waited for it. */
  private onFound(msg: RoutedMsg, signer: NodeId | null, out: RouteEffect[]): void {
    const found = v.safeParse(foundSchema, msg.payload);
    if (!found.success) return void this.counters.dropped.malformed++;
    const { seek, target, path } = found.output;
    const waiting = this.seeking.get(target);
    // Only the target's own answer to the seek we made counts, and only if the runtime checked
    // that the target signed it. (Its path need not start at a link we still have: each hop
    // heads for the farthest waypoint it sees, so a first hop that went down is just skipped.)
    if (msg.origin !== target || path[0] !== this.self || path[path.length - 1] !== target || waiting?.id !== seek) {
      return void this.counters.dropped['bad-path']++;
    }
    if (signer !== target) return void this.counters.dropped.unsigned++;
    this.counters.found++;
    this.seeking.delete(target);
    this.remember(target, path.slice(1));
    for (const queued of waiting.queue) {
      const next = this.nextHop(target, queued.path, path.slice(1));
      if (next === null) {
        this.counters.dropped['no-route']++;
        out.push({ type: 'undeliverable', id: queued.id, to: target, reason: 'no-route', detail: `the path found to ${target} broke` });
      } else out.push({ type: 'send', to: next, msg: { ...queued, via: path.slice(1), hops: 1 } });
    }
  }

  /** Keeps `via` as the way to `dest` for routeCacheTtlMs; when full, the oldest goes first. */
  private remember(dest: NodeId, via: NodeId[]): void {
    this.routes.delete(dest);
    if (this.routes.size >= maxCachedRoutes) this.routes.delete(this.routes.keys().next().value as NodeId);
    this.routes.set(dest, { via, at: this.now });
  }

  /**
   * The way back along an authenticated message's path, for a node out of sight. Only the
   * relays on that path could have rewritten it (each must name itself last), and they carried
   * the message anyway; a node in sight needs no waypoints.
   */
  private learn(to: NodeId, path: readonly NodeId[]): void {
    if (to === this.self || path[0] !== to || path.includes(this.self) || this.currentTree().has(to)) return;
    // A way we have is kept unless this one is shorter: a message that came along a detour must
    // not replace the shortest way a seek found (the answer would take the detour too).
    const known = this.discoveredPath(to);
    if (known && known.length <= path.length) return;
    this.counters.learnt++;
    this.remember(to, [...path].reverse());
  }

  // ── paths ─────────────────────────────────────────────────────────────────────────────

  private currentTree(): PathTree {
    const topology = this.topology();
    if (this.tree?.key !== topology.key) {
      this.tree = { key: topology.key, tree: this.buildTree(topology) };
    }
    return this.tree.tree;
  }

  private buildTree(topology: RouteTopology, avoid?: ReadonlySet<NodeId>): PathTree {
    const graph = withLinks(topology, this.self);
    return this.metric === 'rtt' ? rttTree(graph, this.self, (a, b) => topology.rttMs(a, b), avoid) : hopTree(graph, this.self, avoid);
  }

  /**
   * The neighbour to hand a message for `dest` to, given the nodes that already held it
   * (`visited`, this node last). Direct links first; then the cached shortest-path tree if its
   * route avoids `visited`; else a tree computed without `visited`.
   */
  private nextHop(dest: NodeId, visited: readonly NodeId[], via?: readonly NodeId[]): NodeId | null {
    const direct = this.nextHopTo(dest, visited);
    if (direct !== null || !via) return direct;
    // Beyond sight: head for the farthest waypoint we can see that the message has not visited.
    for (let i = via.length - 1; i >= 0; i--) {
      const waypoint = via[i] as NodeId;
      if (waypoint === this.self) break;
      if (visited.includes(waypoint) || !this.currentTree().has(waypoint)) continue;
      const next = this.nextHopTo(waypoint, visited);
      if (next !== null) return next;
    }
    return null;
  }

  private nextHopTo(dest: NodeId, visited: readonly NodeId[]): NodeId | null {
    const topology = this.topology();
    if (topology.links.has(dest)) return dest;
    if (!this.currentTree().has(dest)) return null; // out of sight: no detour can reach it either
    const avoid = new Set(visited);
    avoid.delete(this.self);
    const cached = pathTo(this.currentTree(), dest);
    if (cached && cached.every((u) => !avoid.has(u)) && topology.links.has(cached[1] as NodeId)) return cached[1] as NodeId;
    this.counters.detours++;
    const detour = pathTo(this.buildTree(topology, avoid), dest);
    const next = detour?.[1];
    return next !== undefined && topology.links.has(next) ? next : null;
  }
}

/** The topology's graph, with this node's own adjacency replaced by its first-hand links. */
function withLinks(topology: RouteTopology, self: NodeId): RouteTopology['graph'] {
  const mine = topology.graph.get(self);
  if (mine && mine.size === topology.links.size && [...topology.links].every((p) => mine.has(p))) return topology.graph;
  const graph = new Map(topology.graph);
  graph.set(self, new Set(topology.links));
  for (const peer of topology.links) if (!graph.has(peer)) graph.set(peer, new Set([self]));
  return graph;
}
