// The link-state flooding protocol (OSPF-like, with a hop budget), the half of the overlay that
// makes every node know the graph within advertRadiusHops of itself (its neighbourhood):
//   • origination: this node's advert (its links, with RTTs) after link changes — at most one
//     per advertMinIntervalMs, batched per tick by the caller — and every advertRefreshMs; the
//     runtime signs it (sign → signed) before it is stored and flooded;
//   • flooding: a newer advert is stored and, while its ttl (hops left) is above 1, passed on
//     with ttl − 1 to every link but the one it came from (and its origin, and neighbours whose
//     recent digest shows they have it). A copy we hold that comes with a larger ttl (it took a
//     shorter way) is passed on again: the first copy to arrive is not always the nearest;
//   • database sync: on a new link both ends swap digests ((origin, seq) pairs of the adverts
//     that may travel one more hop) and request what they lack, so a newcomer learns its
//     neighbourhood in one round trip. What a node hands over carries the hop budget its
//     current distance to the origin leaves (not the one it once arrived with: distances
//     shrink when links appear, without the origin advertising anew), and what a node installs
//     from a sync it floods on like any news, so the nodes behind it learn it too;
//   • restarts: a node that meets its own advert with a higher seq than it has (from a
//     previous life) jumps past it.
// Every check on an advert's content happens here; the caller has already decoded the frame.
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import {
  advertHopAgeMs,
  advertMinIntervalMs,
  advertRadiusHops,
  advertRefreshMs,
  maxAdvertOrigins,
  maxDigestEntries,
  maxRequestOrigins,
  requestRetryMs,
  syncHintTtlMs,
} from './config.ts';
import { advertSigningText, type AdvertBody, type AdvertLink, type AdvertMsg } from './messages.ts';
import { LinkStateDb, type LsdbEntry } from './lsdb.ts';
import { pushSend, type OverlayCounters, type OverlayEffect } from './types.ts';

/** What one call needs from the overlay: the time, its links, departures, and where effects go. */
export interface AdvertContext {
  now: Millis;
  /** This node's open links, with the RTT measured on each. */
  links: ReadonlyMap<NodeId, { rttMs: number | null }>;
  /** The seq an origin had when it left (its adverts up to that are old news), if it left. */
  departedSeq(origin: NodeId): number | undefined;
  /** Hops from this node to `origin` in its current picture, if it is in this node's component. */
  hopsTo(origin: NodeId): number | undefined;
  out: OverlayEffect[];
}

export class AdvertExchange {
  readonly lsdb = new LinkStateDb();
  private seqNow: number;
  private awaitingSignature: AdvertBody | null = null;
  private dirty = true;
  private lastOriginatedAt: Millis = -Infinity;
  private nextRefreshAt: Millis = 0;
  /** Neighbour → (origin → seq) from its digest: adverts it already has, not to flood it. */
  private readonly syncHints = new Map<NodeId, { until: Millis; seqs: Map<NodeId, number> }>();
  /** Origins asked for and not yet received, with when. */
  private readonly requested = new Map<NodeId, Millis>();

  constructor(
    private readonly self: NodeId,
    private readonly rng: Rng,
    private readonly counters: OverlayCounters,
    now: Millis,
  ) {
    // Sequence numbers start from the clock, so a node that restarts (same id, state lost)
    // still outnumbers the adverts its previous life left in the mesh.
    this.seqNow = Math.max(0, Math.floor(now));
  }

  /** The seq of this node's latest advert. */
  get seq(): number {
    return this.seqNow;
  }

  /** Our links changed: a new advert is due. */
  markDirty(): void {
    this.dirty = true;
  }

  /** True while an advert of ours is due or waiting for its signature. */
  get originating(): boolean {
    return this.dirty || this.awaitingSignature !== null;
  }

  /** True if an advert with this origin and seq would be news (see Overlay.wantsAdvert). */
  wantsAdvert(origin: NodeId, seq: number): boolean {
    return origin === this.self ? seq > this.seqNow : seq > this.lsdb.seqOf(origin);
  }

  /**
   * Most frames of a flood are copies of an advert we already hold (each node hears each advert
   * from about every neighbour). Recognising them before the full decode halves the cost of a
   * flood; nothing is applied from them, so a malformed copy is dropped either way.
   */
  isCopyWeHold(raw: unknown): boolean {
    if (typeof raw !== 'object' || raw === null) return false;
    const { type, origin, seq, ttl } = raw as { type?: unknown; origin?: unknown; seq?: unknown; ttl?: unknown };
    if (type !== 'advert' || typeof origin !== 'string' || typeof seq !== 'number' || typeof ttl !== 'number') return false;
    if (origin === this.self) return false;
    const held = this.lsdb.get(origin as NodeId);
    return held !== undefined && held.advert.seq === seq && ttl <= held.ttl;
  }

  /** Asks the runtime to sign a new advert of ours if one is due. */
  maybeOriginate(ctx: AdvertContext): void {
    const due = (this.dirty && ctx.now - this.lastOriginatedAt >= advertMinIntervalMs) || ctx.now >= this.nextRefreshAt;
    if (!due) return;
    this.seqNow++;
    const links: AdvertLink[] = [...ctx.links.keys()].sort().map((peer) => {
      const rtt = ctx.links.get(peer)?.rttMs ?? null;
      return rtt === null ? { peer } : { peer, rttMs: rtt };
    });
    const body: AdvertBody = { origin: this.self, seq: this.seqNow, links };
    this.awaitingSignature = body;
    this.dirty = false;
    this.lastOriginatedAt = ctx.now;
    this.nextRefreshAt = ctx.now + advertRefreshMs * (0.8 + 0.2 * this.rng.next());
    this.counters.advertsOriginated++;
    ctx.out.push({ type: 'sign', id: body.seq, text: advertSigningText(body) });
  }

  /** The runtime signed our latest advert: store it and send it to every neighbour. */
  onSigned(ctx: AdvertContext, seq: number, sig: string): void {
    const body = this.awaitingSignature;
    if (!body || body.seq !== seq || typeof sig !== 'string' || sig.length === 0) {
      this.counters.dropped['stale-signature']++;
      return;
    }
    this.awaitingSignature = null;
    const advert: AdvertMsg = { type: 'advert', ...body, ageMs: 0, ttl: advertRadiusHops, sig };
    this.lsdb.consider(advert, ctx.now);
    const entry = this.lsdb.get(this.self);
    if (entry) entry.sentTtl = advertRadiusHops;
    for (const peer of ctx.links.keys()) pushSend(ctx.out, this.counters, peer, advert);
  }

  /** A decoded advert from neighbour `from`; returns it if it was news and was stored. */
  onAdvert(ctx: AdvertContext, from: NodeId, advert: AdvertMsg, signer: NodeId | null): AdvertMsg | null {
    const dropped = this.counters.dropped;
    if (signer === null) return this.onUnverifiedCopy(ctx, from, advert);
    if (signer !== advert.origin) return (void dropped['signer-mismatch']++, null);
    if (!possibleSeq(advert.seq)) return (void dropped['impossible-seq']++, null);
    if (!distinctLinks(advert)) return (void dropped['bad-links']++, null);
    if (advert.origin === this.self) {
      // Our own advert from before a restart: jump past its seq so the new one wins everywhere.
      const mine = this.lsdb.get(this.self);
      const sameAsMine = mine !== undefined && mine.advert.seq === advert.seq && mine.advert.sig === advert.sig;
      if (advert.seq > this.seqNow || (advert.seq === this.seqNow && !sameAsMine && this.awaitingSignature?.seq !== advert.seq)) {
        this.bumpSeqPast(advert.seq);
      } else this.counters.ignored.duplicate++;
      return null;
    }
    const result = this.lsdb.consider(advert, ctx.now);
    switch (result.kind) {
      case 'duplicate':
        this.counters.ignored.duplicate++;
        return null;
      case 'stale': {
        this.counters.ignored.stale++;
        // The neighbour is behind: hand it our newer copy (OSPF does the same).
        const mine = this.lsdb.get(advert.origin);
        if (mine) pushSend(ctx.out, this.counters, from, this.copyOf(ctx, mine));
        return null;
      }
      case 'wider':
        this.counters.ignored.duplicate++;
        this.forward(ctx, from, advert);
        return null;
      case 'expired':
      case 'db-full':
        dropped[result.kind]++;
        return null;
      case 'installed':
        break;
    }
    this.requested.delete(advert.origin);
    this.forward(ctx, from, advert);
    return advert;
  }

  /**
   * An advert the runtime did not verify: it skips the check when the advert is no news to us
   * (wantsAdvert false; a flood brings a copy from about every neighbour). Two such copies still
   * matter, and need no check since nothing from their body is applied:
   *   • an older seq than ours: the neighbour is behind, so it gets our copy (as a verified stale
   *     advert would);
   *   • the advert we hold (same origin, seq and sig) with a larger hop budget, which came by a
   *     shorter way and must be passed on. The signature covers origin, seq and links, not ttl or
   *     ageMs (advertSigningText), so it is taken as our verified body with the copy's ttl and
   *     age, whatever links the frame carried.
   * Anything else is refused as unsigned.
   */
  private onUnverifiedCopy(ctx: AdvertContext, from: NodeId, advert: AdvertMsg): null {
    const held = advert.origin === this.self ? undefined : this.lsdb.get(advert.origin);
    if (held && possibleSeq(advert.seq) && advert.seq < held.advert.seq) {
      this.counters.ignored.stale++;
      pushSend(ctx.out, this.counters, from, this.copyOf(ctx, held));
      return null;
    }
    if (!held || held.advert.seq !== advert.seq || held.advert.sig !== advert.sig) return (void this.counters.dropped.unsigned++, null);
    // The same seq as held: counted as a duplicate, or passed on if wider; never installed.
    this.onAdvert(ctx, from, { ...held.advert, ageMs: advert.ageMs, ttl: advert.ttl }, advert.origin);
    return null;
  }

  /**
   * After the picture changed: passes on again every advert whose origin is now nearer than
   * when we last passed it on. Distances shrink when links appear anywhere nearby, without the
   * origin advertising anew, and the nodes behind us may then be within its radius for the
   * first time (or again, after forgetting it). O(neighbourhood); the caller runs it at most
   * once per tick, only when the picture changed.
   */
  reforwardNearer(ctx: AdvertContext, distance: ReadonlyMap<NodeId, number>): void {
    for (const [origin, hops] of distance) {
      if (origin === this.self || hops >= advertRadiusHops) continue;
      const entry = this.lsdb.get(origin);
      const budget = advertRadiusHops - hops;
      if (!entry || budget <= entry.sentTtl) continue;
      entry.sentTtl = budget;
      const copy = this.copyOf(ctx, entry);
      for (const peer of ctx.links.keys()) if (peer !== origin) pushSend(ctx.out, this.counters, peer, copy);
    }
  }

  /**
   * Asks every neighbour for adverts we lack though their origins are within our radius (a
   * node of our picture, nearer than the edge, lists them). They are missed when this node
   * forgot an origin that was beyond the radius and then came back within it while nobody had
   * a reason to send it again. At most one ask per origin per requestRetryMs.
   */
  requestMissing(ctx: AdvertContext, missing: Iterable<NodeId>): void {
    const want: NodeId[] = [];
    for (const origin of missing) {
      const askedAt = this.requested.get(origin);
      if (askedAt !== undefined && ctx.now - askedAt < requestRetryMs) continue;
      if (askedAt === undefined && this.requested.size >= maxAdvertOrigins) continue;
      this.requested.set(origin, ctx.now);
      want.push(origin);
      if (want.length >= maxRequestOrigins) break;
    }
    if (want.length === 0) return;
    for (const peer of ctx.links.keys()) pushSend(ctx.out, this.counters, peer, { type: 'request', origins: want });
  }

  /** Passes an advert on one hop further, if its hop budget allows. */
  private forward(ctx: AdvertContext, from: NodeId, advert: AdvertMsg): void {
    const entry = this.lsdb.get(advert.origin);
    if (entry) entry.sentTtl = Math.max(entry.sentTtl, advert.ttl - 1);
    if (advert.ttl <= 1) return;
    const forwarded: AdvertMsg = { ...advert, ageMs: advert.ageMs + advertHopAgeMs, ttl: advert.ttl - 1 };
    for (const peer of ctx.links.keys()) {
      if (peer === from || peer === advert.origin) continue;
      const hint = this.syncHints.get(peer);
      if (hint && (hint.seqs.get(advert.origin) ?? 0) >= advert.seq) continue;
      pushSend(ctx.out, this.counters, peer, forwarded);
    }
  }

  /** Our copy of an advert as a neighbour should get it: one hop older, with the hops left. */
  private copyOf(ctx: AdvertContext, entry: LsdbEntry): AdvertMsg {
    return { ...entry.advert, ageMs: this.lsdb.ageOf(entry, ctx.now) + advertHopAgeMs, ttl: Math.max(1, this.ttlFor(ctx, entry)) };
  }

  /**
   * The hop budget an advert has left for a neighbour of ours: the radius minus our current
   * distance to its origin (falling back to what it arrived with, one hop spent, if the origin
   * is out of our sight).
   */
  private ttlFor(ctx: AdvertContext, entry: LsdbEntry): number {
    const hops = entry.advert.origin === this.self ? 0 : ctx.hopsTo(entry.advert.origin);
    return hops === undefined ? entry.ttl - 1 : advertRadiusHops - hops;
  }

  /** Tells a new neighbour which adverts we hold, in as many digests as it takes. */
  sendDigest(ctx: AdvertContext, peer: NodeId): void {
    const entries: Array<{ origin: NodeId; seq: number }> = [];
    // Only adverts that may travel one more hop: the rest end at this node's neighbourhood.
    for (const entry of this.lsdb.all()) {
      if (this.ttlFor(ctx, entry) > 1) entries.push({ origin: entry.advert.origin, seq: entry.advert.seq });
    }
    // An empty digest still tells the neighbour we have nothing, so it sends what it has.
    for (let i = 0; i === 0 || i < entries.length; i += maxDigestEntries) {
      pushSend(ctx.out, this.counters, peer, { type: 'digest', entries: entries.slice(i, i + maxDigestEntries) });
    }
  }

  /** A neighbour's digest: remember what it has, and ask for what we lack. */
  onDigest(ctx: AdvertContext, from: NodeId, entries: ReadonlyArray<{ origin: NodeId; seq: number }>): void {
    let hints = this.syncHints.get(from);
    if (!hints) this.syncHints.set(from, (hints = { until: 0, seqs: new Map() }));
    hints.until = ctx.now + syncHintTtlMs;
    const want: NodeId[] = [];
    for (const { origin, seq } of entries) {
      if (!possibleSeq(seq)) {
        this.counters.dropped['impossible-seq']++;
        continue;
      }
      if (hints.seqs.size < maxAdvertOrigins || hints.seqs.has(origin)) hints.seqs.set(origin, Math.max(seq, hints.seqs.get(origin) ?? 0));
      if (origin === this.self) {
        if (seq > this.seqNow) this.bumpSeqPast(seq);
        continue;
      }
      if (seq <= this.lsdb.seqOf(origin) || seq <= (ctx.departedSeq(origin) ?? 0)) continue;
      const askedAt = this.requested.get(origin);
      if (askedAt !== undefined && ctx.now - askedAt < requestRetryMs) continue;
      if (askedAt === undefined && this.requested.size >= maxAdvertOrigins) continue;
      this.requested.set(origin, ctx.now);
      want.push(origin);
    }
    for (let i = 0; i < want.length; i += maxRequestOrigins) {
      pushSend(ctx.out, this.counters, from, { type: 'request', origins: want.slice(i, i + maxRequestOrigins) });
    }
  }

  /** A neighbour asks for some origins' adverts: send those we hold. */
  onRequest(ctx: AdvertContext, from: NodeId, origins: readonly NodeId[]): void {
    for (const origin of origins) {
      const entry = this.lsdb.get(origin);
      if (entry) pushSend(ctx.out, this.counters, from, this.copyOf(ctx, entry));
    }
  }

  /** A link is gone: its sync hints are no longer true. */
  forgetNeighbour(peer: NodeId): void {
    this.syncHints.delete(peer);
  }

  housekeeping(now: Millis): void {
    this.lsdb.expire(now, this.self);
    for (const [peer, hints] of this.syncHints) if (hints.until <= now) this.syncHints.delete(peer);
    for (const [origin, at] of this.requested) if (now - at >= requestRetryMs) this.requested.delete(origin);
  }

  private bumpSeqPast(seq: number): void {
    this.seqNow = seq;
    this.dirty = true;
    this.lastOriginatedAt = -Infinity;
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
