// The link-state database: the newest advert of every origin in this node's neighbourhood
// (adverts travel advertRadiusHops; the overlay forgets origins that drift beyond it), like an
// OSPF LSDB. Newer sequence numbers replace older ones; adverts age out `advertMaxAgeMs` after their
// origin made them (their origin refreshes them long before that); the number of origins is
// capped and, when full, the advert made longest ago is evicted first.
import type { Millis, NodeId } from '../types.ts';
import type { AdvertMsg } from './messages.ts';
import { advertMaxAgeMs, maxAdvertOrigins } from './config.ts';

export interface LsdbEntry {
  /** The advert as received (its ageMs is the age it had on arrival). */
  advert: AdvertMsg;
  /** The largest hop budget any copy of this advert (this seq) arrived with. */
  ttl: number;
  /** The hop budget of the copies this node passed on (0: none yet). */
  sentTtl: number;
  receivedAt: Millis;
  /** When the origin made it, on our clock: receivedAt − ageMs. */
  originatedAt: Millis;
  peers: ReadonlySet<NodeId>;
}

/**
 * `wider`: a copy of the advert we hold that arrived with a larger hop budget (it came by a
 * shorter way than the first copy): nothing to store, but it must be passed on, or nodes at the
 * edge of the origin's neighbourhood would miss it.
 */
export type ConsiderResult =
  { kind: 'installed'; topologyChanged: boolean; evicted: NodeId | null } | { kind: 'wider' | 'duplicate' | 'stale' | 'expired' | 'db-full' };

export class LinkStateDb {
  private readonly entries = new Map<NodeId, LsdbEntry>();
  /** Bumped whenever some origin's set of links changes, appears or disappears. */
  version = 0;

  constructor(private readonly capacity = maxAdvertOrigins) {}

  get size(): number {
    return this.entries.size;
  }

  get(origin: NodeId): LsdbEntry | undefined {
    return this.entries.get(origin);
  }

  seqOf(origin: NodeId): number {
    return this.entries.get(origin)?.advert.seq ?? 0;
  }

  peersOf(origin: NodeId): ReadonlySet<NodeId> | undefined {
    return this.entries.get(origin)?.peers;
  }

  origins(): IterableIterator<NodeId> {
    return this.entries.keys();
  }

  all(): IterableIterator<LsdbEntry> {
    return this.entries.values();
  }

  /**
   * Age of an entry now, as it would be stamped on a copy: whole milliseconds (the wire wants
   * an integer, and a runtime's clock, e.g. performance.now(), may have fractions).
   */
  ageOf(entry: LsdbEntry, now: Millis): Millis {
    return Math.max(0, Math.floor(now - entry.originatedAt));
  }

  /** Decides whether a (well-formed, authenticated) advert is news, and stores it if so. */
  consider(advert: AdvertMsg, now: Millis): ConsiderResult {
    const existing = this.entries.get(advert.origin);
    if (existing) {
      if (advert.seq === existing.advert.seq) {
        if (advert.ttl <= existing.ttl) return { kind: 'duplicate' };
        existing.ttl = advert.ttl;
        return { kind: 'wider' };
      }
      if (advert.seq < existing.advert.seq) return { kind: 'stale' };
    }
    if (advert.ageMs >= advertMaxAgeMs) return { kind: 'expired' };
    const originatedAt = now - advert.ageMs;
    let evicted: NodeId | null = null;
    if (!existing && this.entries.size >= this.capacity) {
      const oldest = this.oldest();
      if (!oldest || oldest.originatedAt >= originatedAt) return { kind: 'db-full' };
      evicted = oldest.advert.origin;
      this.entries.delete(evicted);
    }
    const peers = new Set(advert.links.map((l) => l.peer));
    const topologyChanged = evicted !== null || !existing || !sameSet(existing.peers, peers);
    this.entries.set(advert.origin, { advert, ttl: advert.ttl, sentTtl: 0, receivedAt: now, originatedAt, peers });
    if (topologyChanged) this.version++;
    return { kind: 'installed', topologyChanged, evicted };
  }

  /** Forgets an origin (one that is now beyond this node's neighbourhood). */
  remove(origin: NodeId): void {
    if (this.entries.delete(origin)) this.version++;
  }

  /** Drops adverts past their maximum age; returns the origins dropped. */
  expire(now: Millis, keep?: NodeId): NodeId[] {
    const dropped: NodeId[] = [];
    for (const [origin, entry] of this.entries) {
      if (origin !== keep && now - entry.originatedAt >= advertMaxAgeMs) dropped.push(origin);
    }
    for (const origin of dropped) this.entries.delete(origin);
    if (dropped.length > 0) this.version++;
    return dropped;
  }

  private oldest(): LsdbEntry | undefined {
    let oldest: LsdbEntry | undefined;
    for (const entry of this.entries.values()) if (!oldest || entry.originatedAt < oldest.originatedAt) oldest = entry;
    return oldest;
  }
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
