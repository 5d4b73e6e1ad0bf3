// Tunables of the gossip core (with their defaults) and the hard limits that bound every
// message, queue and table. Units are in the names. Defaults are for tabs on one LAN or one
// machine (round trips of a few to ~100 ms); the demo may run faster cycles.
import type { Millis } from '../types.ts';

export interface GossipConfig {
  /** Peers each node reconciles with per cycle (push-pull), and pushes fresh writes to. */
  fanout: number;
  /**
   * Least number of contacts each node forwards urgent membership news to, once (dead, left,
   * refutations); the core uses at least ⌈ln n⌉ + 2 so the flood reaches nearly every node.
   */
  urgentFanout: number;
  /** Period of the anti-entropy cycle. */
  cycleMs: Millis;
  /** SWIM protocol period: one member is probed per period (scaled by local health). */
  probeIntervalMs: Millis;
  /** How long a direct ping waits for its ack before asking helpers (scaled by local health). */
  probeTimeoutMs: Millis;
  /** How long after the direct timeout the indirect probes may take before the probe fails. */
  indirectTimeoutMs: Millis;
  /** Helpers asked to ping a member that did not answer us directly (SWIM's k). */
  indirectProbes: number;
  /**
   * Suspicion lasts suspicionMult × log10(max(n, 10)) × probeIntervalMs before the accuser
   * declares the member dead (memberlist's formula: more members, more time to refute).
   */
  suspicionMult: number;
  /** Highest Lifeguard local-health score; 0 switches local health awareness off. */
  maxLocalHealth: number;
  /** Rumours of membership changes ride on this × ⌈log2(n+1)⌉ messages before they go quiet. */
  retransmitMult: number;
  /** Fresh memory entries are pushed on this × ⌈log2(n+1)⌉ syncs; anti-entropy does the rest. */
  entryRetransmitMult: number;
  /**
   * 'peers': talk only to the direct links the overlay gives us (peer-discovered/peers-changed).
   * 'members': talk to any member we know of (a full mesh, or a network that routes for us).
   */
  contactMode: 'peers' | 'members';
  /** How long a deletion is remembered (see memory.ts for why this is safe). */
  tombstoneTtlMs: Millis;
  /** How long a dead or departed member is remembered (so stale rumours cannot revive it). */
  deadRetentionMs: Millis;
  /** How often a node tries to reach one member it believes dead (heals partitions). */
  reconnectIntervalMs: Millis;
  /** Least time between two full member-list pushes from this node. */
  memberSyncCooldownMs: Millis;
  /** A timestamp further ahead of our clock than this is refused as impossible. */
  maxClockDriftMs: Millis;
  /**
   * Most live members one node holds (self and direct links beyond it). A room up to this size
   * is held whole, as SWIM assumes; in a larger one each node holds a random sample of this
   * size, refreshed by the samples syncs carry (core.ts "Large rooms"), so memory per node stays
   * bounded. Fixed at start.
   */
  viewSize: number;
}

export const defaultGossipConfig: Readonly<GossipConfig> = {
  fanout: 3,
  urgentFanout: 5,
  cycleMs: 2_000,
  probeIntervalMs: 1_000,
  probeTimeoutMs: 300,
  indirectTimeoutMs: 600,
  indirectProbes: 3,
  suspicionMult: 1.25,
  maxLocalHealth: 8,
  retransmitMult: 4,
  entryRetransmitMult: 2,
  contactMode: 'peers',
  tombstoneTtlMs: 24 * 60 * 60 * 1000,
  deadRetentionMs: 5 * 60 * 1000,
  reconnectIntervalMs: 5_000,
  memberSyncCooldownMs: 10_000,
  maxClockDriftMs: 60_000,
  viewSize: 320,
};

/** Refuses nonsense settings with a message that says which one and why. */
export function checkConfig(config: GossipConfig): string | null {
  const positive: Array<keyof GossipConfig> = [
    'cycleMs',
    'probeIntervalMs',
    'probeTimeoutMs',
    'indirectTimeoutMs',
    'suspicionMult',
    'retransmitMult',
    'entryRetransmitMult',
    'tombstoneTtlMs',
    'deadRetentionMs',
    'reconnectIntervalMs',
    'maxClockDriftMs',
  ];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) return `${key} must be a positive number, got ${String(value)}`;
  }
  if (!Number.isInteger(config.fanout) || config.fanout < 1 || config.fanout > 16) return `fanout must be an integer 1–16, got ${config.fanout}`;
  if (!Number.isInteger(config.urgentFanout) || config.urgentFanout < 1 || config.urgentFanout > 16)
    return `urgentFanout must be an integer 1–16, got ${config.urgentFanout}`;
  if (!Number.isInteger(config.indirectProbes) || config.indirectProbes < 0 || config.indirectProbes > 16) return `indirectProbes must be an integer 0–16`;
  if (!Number.isInteger(config.maxLocalHealth) || config.maxLocalHealth < 0 || config.maxLocalHealth > 16) return `maxLocalHealth must be an integer 0–16`;
  if (config.probeTimeoutMs + config.indirectTimeoutMs > config.probeIntervalMs) {
    return `probeTimeoutMs + indirectTimeoutMs (${config.probeTimeoutMs + config.indirectTimeoutMs}) must fit in probeIntervalMs (${config.probeIntervalMs}): one probe per period`;
  }
  if (config.contactMode !== 'peers' && config.contactMode !== 'members') return `contactMode must be 'peers' or 'members'`;
  if (!Number.isInteger(config.viewSize) || config.viewSize < minViewSize || config.viewSize > maxViewSize) {
    return `viewSize must be an integer ${minViewSize}–${maxViewSize}, got ${config.viewSize}`;
  }
  return null;
}

// ── Hard limits (not configurable: they bound what a peer can make us hold or parse) ──────

/** Largest gossip message we build or accept, as JSON characters; well under a link frame. */
export const maxMessageBytes = 64 * 1024;
/** Budget for memory entries packed into one answer (the rest waits for the next exchange). */
export const maxEntryBytesPerMessage = 48 * 1024;
/** Budget for fresh entries pushed as rumours on one sync (the digest needs room too). */
export const maxRumourEntryBytes = 16 * 1024;
/** Longest node id we accept (a base64url Ed25519 key is 43; simulations use short names). */
export const maxNodeIdChars = 128;
/** Longest memory key. */
export const maxKeyChars = 256;
/** Largest memory value, as JSON characters. */
export const maxValueBytes = 8 * 1024;
/** Most memory entries in one message. */
export const maxEntriesPerMessage = 256;
/** Most membership facts piggybacked on one message. */
export const maxFactsPerMessage = 24;
/** Most members in one page of a full member-list exchange. */
export const maxMembersPerPage = 256;
/** Most origins listed in one digest (more are sampled: the digest is marked partial). */
export const maxDigestEntries = 256;
/**
 * Most members we track, dead ones included; further newcomers are refused and counted. Live
 * ones are bounded by viewSize well below it: the rest is room for the dead and departed.
 */
export const maxMembers = 4_096;
/** Bounds of viewSize: a sample smaller than this makes failure detection and floods unreliable. */
export const minViewSize = 16;
export const maxViewSize = 2_048;
/** Alive members a sync or sync-reply carries from a node whose table is full (its own fact first). */
export const sampleFactsPerSync = 4;
/** Most sample facts accepted on one message. */
export const maxSampleFacts = 16;
/** Refutations of members outside a full table remembered as passed on (older ones are forgotten). */
export const maxRelayedRefutations = 1_024;
/** Most live keys in the replicated memory; writes of new keys beyond it are refused. */
export const maxKeys = 10_000;
/** Most tombstones kept; beyond it the oldest are forgotten early (counted in metrics). */
export const maxTombstones = 10_000;
/** Highest incarnation number (a peer cannot push ours to infinity). */
export const maxIncarnation = 0x7fff_ffff;
/** A member's incarnation can only rise by one per refutation or restart; a bigger jump is a lie. */
export const maxIncarnationJump = 1_000;
/** Highest per-origin version (stays an exact integer in JSON). */
export const maxVersion = Number.MAX_SAFE_INTEGER;
/**
 * Peers may know our own stream further along than we do (after our disk was wiped), and we
 * then continue above it; a claim more than this many versions ahead is refused as impossible.
 */
export const maxOwnVersionJump = 1_000_000;
/** Most membership rumours waiting to be piggybacked; the most-told go first when full. */
export const maxQueuedFacts = 2_048;
/** Most fresh entries waiting to be pushed as rumours; the most-told go first when full. */
export const maxQueuedEntries = 1_024;
/** Most ping-reqs we relay at once for others; more are refused (and counted). */
export const maxPendingRelays = 64;
/** Most exchanges we wait on at once (sync replies and requested deltas). */
export const maxPendingExchanges = 256;
/** Recent samples kept for the detection-time and per-cycle traffic metrics. */
export const metricSamples = 64;
/** Least time between two "you are dead to us" notices to one member. */
export const deadNoticeCooldownMs = 1_000;
/** Most own-accused suspects re-notified per probe period (Lifeguard's buddy system). */
export const maxSuspectNoticesPerProbe = 4;
/** Contacts told directly when this node leaves; the news then spreads from them. */
export const leaveAnnounceCount = 8;
/** How often the own record is re-saved, so a restart knows how long the node was away. */
export const selfRecordRefreshMs = 10 * 60 * 1000;
/** Entries written less than this many cycles ago are fresh: pushed on as rumours, not only pulled. */
export const freshEntryCycles = 4;
