// The overlay's live settings (how many links each node keeps) and its fixed limits. Every
// timing below was chosen so that a lost link is replaced within a couple of seconds while a
// healthy mesh stays quiet: the runtime ticks the core every `overlayTickIntervalMs`.
import type { Millis } from '../types.ts';

export interface OverlayConfig {
  /** Fewest direct links a node keeps; below this it reconnects at once. */
  minLinks: number;
  /** Most direct links a node keeps for long; above this it prunes (never cutting anyone off). */
  maxLinks: number;
}

export const defaultOverlayConfig: OverlayConfig = { minLinks: 3, maxLinks: 5 };

/** Hard bounds on live settings, so a bad command cannot make a node dial the whole swarm. */
export const maxConfigurableLinks = 32;

/**
 * The degree a node drifts towards when it has time: midway between min and max. A random
 * regular graph of degree 4 has a diameter near log₃ N, well inside ⌈log₂ N⌉; sitting at
 * the minimum (3) would give log₂ N + a few and miss it.
 */
export function targetLinks(config: OverlayConfig): number {
  return Math.ceil((config.minLinks + config.maxLinks) / 2);
}

/** Why a config change is refused, in words a person can act on; null if acceptable. */
export function checkConfig(config: OverlayConfig): string | null {
  const { minLinks, maxLinks } = config;
  if (!Number.isInteger(minLinks) || !Number.isInteger(maxLinks)) return 'minLinks and maxLinks must be whole numbers';
  if (minLinks < 1) return `minLinks must be at least 1 (got ${minLinks})`;
  if (maxLinks < minLinks) return `maxLinks (${maxLinks}) must be at least minLinks (${minLinks})`;
  if (maxLinks > maxConfigurableLinks) return `maxLinks must be at most ${maxConfigurableLinks} (got ${maxLinks})`;
  return null;
}

// ── timing ──────────────────────────────────────────────────────────────────────────────

/** How often the runtime should feed a tick; decisions are never delayed by more than this. */
export const overlayTickIntervalMs: Millis = 250;
/** A requested link that has not come up in this long counts as failed. */
export const connectTimeoutMs: Millis = 4_000;
/**
 * Below minLinks, a dial still pending after this long no longer counts as a link on its way:
 * the node dials another beside it. After a crash, the first candidates a node picks are often
 * nodes that crashed too (their adverts still show them until their neighbours notice), and
 * waiting out connectTimeoutMs for each was the tail of healing (2,000 nodes, 20 % crash: the
 * last nodes below min all had only dead peers pending). Links open in well under this on a LAN
 * (the NAT lab's set-up: p50 77–437 ms, max 1.3 s); a hedge that turns out not to be needed is
 * pruned like any link above max.
 */
export const hedgeDialAfterMs: Millis = 1_500;
/** First back-off after a failed connect; doubles per consecutive failure up to the max. */
export const connectBackoffBaseMs: Millis = 2_000;
export const connectBackoffMaxMs: Millis = 60_000;
/** After a link goes down we do not redial that peer for this long (it may have crashed). */
export const lostPeerHoldMs: Millis = 5_000;
/** After a prune (by either end) the pair stays apart this long, so links do not flap. */
export const prunedPeerHoldMs: Millis = 60_000;
/** A link must be this old before it may be pruned: time for adverts to show the alternatives. */
export const minLinkAgeBeforePruneMs: Millis = 1_000;
/** After pruning back down to max, a node waits this long before pruning again. */
export const pruneIntervalMs: Millis = 1_000;
/** At most one opportunistic link (growing from min towards the target degree) per interval. */
export const growIntervalMs: Millis = 2_000;
/** How often a node checks for other components (partitions) and tries to bridge them. */
export const partitionCheckIntervalMs: Millis = 1_000;
/** A component we cannot reach is still shown and bridged this long after its newest advert. */
export const strayComponentGraceMs: Millis = 20_000;
/**
 * Interval between attempts to re-find a long-lost part of the swarm from remembered peers
 * (about two nodes of a component try each time, so the swarm-wide cost stays constant).
 */
export const rediscoverIntervalMs: Millis = 5_000;

// ── link budget ─────────────────────────────────────────────────────────────────────────

/** Link requests in flight at once. */
export const maxPendingConnects = 4;
/** New-link tokens: a burst of this many, then one per `newLinkRefillMs`. */
export const newLinkBurst = 6;
export const newLinkRefillMs: Millis = 1_500;
/** An inbound link that would take us above maxLinks + this is refused at once. */
export const inboundSlackLinks = 2;
/**
 * An inbound link taken above max is on probation this long — time for the dialer's fresh
 * advert to arrive — then handed back if the dialer can spare it (overlay.ts, reviewProbation).
 */
export const inboundProbationMs: Millis = 500;

// ── link-state adverts ──────────────────────────────────────────────────────────────────

/** Link changes within this interval share one advert (OSPF's MinLSInterval, much shorter). */
export const advertMinIntervalMs: Millis = 250;
/**
 * Each node re-floods its advert this often even without change, so others keep it alive.
 * Every refresh costs every node about one message per link, so at rest a node handles about
 * N · degree / advertRefreshMs adverts: ~13 per second in a 1,024-node mesh. Changes are
 * flooded at once anyway, and a new link starts with a full database sync, so a long refresh
 * loses nothing but memory of the dead (OSPF refreshes every 30 minutes).
 */
export const advertRefreshMs: Millis = 300_000;
/**
 * Weight of a new round-trip sample in a link's smoothed RTT (TCP's SRTT gain, RFC 6298). On a
 * loaded machine single samples swing from 1 ms to tens of ms (they cross two busy threads at
 * each end); the smoothed value follows a lasting change within a few samples.
 */
export const rttSmoothingGain = 1 / 8;
/**
 * A link's smoothed RTT is re-advertised when it differs from the value in this node's last
 * advert by more than this many ms and by more than `rttReadvertiseFraction` of it. Each advert
 * costs a signature, a flood (about one message per link in the mesh) and a signature check at
 * every node, so jitter must not trigger one; route costs need the scale, not the last ms.
 */
export const rttReadvertiseMinDeltaMs = 10;
export const rttReadvertiseFraction = 0.5;
/**
 * How far an advert travels from its origin, in hops: each node knows the mesh within this
 * radius (its neighbourhood) and nothing beyond, so its memory and the adverts it handles stay
 * bounded as the mesh grows: about 1 + d + d(d−1) + … ≈ 160 nodes at degree 4, whatever N.
 * A room of diameter ≤ 4 (a few dozen nodes) lies wholly inside and every node sees all of it.
 * Four hops leave room for the two-hop-deep choices of choose.ts and for seeing most cycles
 * through a link (a prune must not cut the mesh; a link with no visible way around is kept).
 */
export const advertRadiusHops = 4;
/**
 * A node that vanishes from this node's component counts as the far side of a split (a stray,
 * worth bridging) only if it was at most this many hops away. A connected node leaves our
 * picture only once none of its neighbours is within the radius (we hold the fresh adverts of
 * all nodes within it), i.e. at advertRadiusHops + 2 or more: a node that was this near has to
 * jump 3 hops at once to look lost without being lost, which one link change rarely does.
 */
export const strayDepthHops = 3;
/** An advert older than this (since its origin made it) is dropped from the database. */
export const advertMaxAgeMs: Millis = 1_200_000;
/** Age added per hop when forwarding, so an advert stuck in a loop still ages out. */
export const advertHopAgeMs: Millis = 1;
/** Most origins kept in the link-state database; when full the oldest advert goes. */
export const maxAdvertOrigins = 4_096;
/** Most links one advert may list. */
export const maxAdvertLinks = 64;
/** Most peers remembered from signaling and adverts; when full the least recently seen goes. */
export const maxKnownPeers = 4_096;
/** A peer heard of only through signaling and never seen in an advert is forgotten after this. */
export const learntPeerTtlMs: Millis = 120_000;
/** A remembered peer not seen in any advert for this long is forgotten. */
export const peerForgetMs: Millis = 600_000;

// ── database sync ───────────────────────────────────────────────────────────────────────

/** (origin, seq) pairs per digest message; a full database takes ⌈N / this⌉ messages. */
export const maxDigestEntries = 256;
/** Origins per advert request. */
export const maxRequestOrigins = 256;
/** A neighbour's digest is remembered this long, to avoid flooding it adverts it already has. */
export const syncHintTtlMs: Millis = 10_000;
/** An advert requested and not yet received is asked for again after this. */
export const requestRetryMs: Millis = 2_000;

// ── bad input ───────────────────────────────────────────────────────────────────────────

/** Overlay messages larger than this (as reported by the runtime) are dropped unread. */
export const maxOverlayMessageBytes = 64 * 1024;
/** Per-neighbour overlay budget: covers a full database sync of maxAdvertOrigins adverts. */
export const overlayBurstMsgs = 6_000;
export const overlayRatePerS = 400;
/** Refused messages from one neighbour within `floodWindowMs` before we disconnect it. */
export const overlayFloodDrops = 1_000;
export const floodWindowMs: Millis = 10_000;
