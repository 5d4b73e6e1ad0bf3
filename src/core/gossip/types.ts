// The gossip core's contract with whatever runs it (the tab's protocol worker, the simulator):
// what goes in (inputs), what comes out (effects) and what can be read (the view).
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import type { PersistEffect, SendEffect } from '../effects.ts';
import type { GossipConfig } from './config.ts';
import type { JsonValue } from './json.ts';
import type { GossipMsg, MemberStatus } from './messages.ts';

export type { MemberStatus } from './messages.ts';
export type { JsonValue } from './json.ts';

export type GossipInput =
  /** Time has passed: run whatever is due. Call at nextWakeAt() (earlier or later is harmless). */
  | { type: 'tick' }
  /**
   * A message from a peer, as parsed from the wire (decoded and checked inside the core).
   * `from` is the link's authenticated peer. `bytes`: its size on the wire, if known.
   */
  | { type: 'message'; from: NodeId; msg: unknown; bytes?: number }
  /** Write a key of the replicated memory (any JSON value up to maxValueBytes). */
  | { type: 'set-memory'; key: string; value: unknown }
  | { type: 'delete-memory'; key: string }
  /** Leave the mesh gracefully: announced to peers at once; the core then goes quiet. */
  | { type: 'leave' }
  /** A peer's data channel closed. A hint only: the peer is probed now, not declared dead. */
  | { type: 'link-down'; peer: NodeId }
  /** A new direct link (or, in 'members' mode, a node we learned of outside gossip). */
  | { type: 'peer-discovered'; peer: NodeId }
  /** The complete set of direct links now (replaces the previous set). */
  | { type: 'peers-changed'; peers: readonly NodeId[] }
  /**
   * Live settings (the dashboard's Settings panel): fanout and cycle apply from the next cycle.
   * Checked like the constructor's config; a bad value is refused with 'command-refused'.
   */
  | { type: 'config'; config: Partial<Pick<GossipConfig, LiveGossipSetting>> };

/** The gossip settings that may change while the node runs (the rest are fixed at start). */
export type LiveGossipSetting = 'fanout' | 'cycleMs';

/**
 * The shared vocabulary (src/core/effects.ts) plus gossip's own events. `persist`: durable
 * writes of this step, as one batch, always first in the list when present: durable BEFORE any
 * message of the same step leaves (a refutation must never outlive its incarnation). `send`:
 * to a direct peer; `bytes` is its JSON length (what was counted in metrics); `unordered` for
 * other nodes' writes passed on (they may leave before this node's earlier writes are durable).
 */
export type GossipEffect = PersistEffect | (SendEffect<GossipMsg> & { bytes: number }) | GossipEvent;

export type GossipEvent =
  /** A member's status or incarnation changed in this node's view (self included). */
  | { type: 'member-status-changed'; id: NodeId; status: MemberStatus; incarnation: number; previous: MemberStatus | null }
  /**
   * A member left this node's table: a dead or departed one after deadRetentionMs, or (in a
   * room larger than viewSize) an alive one that a newer sample took the place of.
   */
  | { type: 'member-forgotten'; id: NodeId }
  /** A key of the replicated memory changed here (value undefined: deleted). */
  | { type: 'memory-changed'; key: string; value: JsonValue | undefined; origin: NodeId; hlc: string; local: boolean }
  /** A command could not be carried out; `reason` says what to do about it. */
  | { type: 'command-refused'; command: GossipInput['type']; reason: string };

export interface GossipOptions {
  id: NodeId;
  /** Seeded randomness (the simulator's per-node stream, or a runtime-seeded one). */
  rng: Rng;
  /** Current time: wall-clock milliseconds in a tab (the hybrid clock builds on it). */
  now: Millis;
  config?: Partial<GossipConfig>;
  /** Everything the runtime read back from storage under gossipStoragePrefix. */
  persisted?: Iterable<readonly [string, unknown]>;
  /** Initial direct links (or known members in 'members' mode); no message is sent for them. */
  peers?: readonly NodeId[];
}

export interface MemberView {
  id: NodeId;
  status: MemberStatus;
  incarnation: number;
}

export interface MemoryEntryView {
  key: string;
  value: JsonValue;
  /** Who wrote it, and when on the hybrid clock (`wall.count`). */
  origin: NodeId;
  hlc: string;
}

export interface GossipMetrics {
  /** Anti-entropy cycles run. */
  cycles: number;
  msgsSent: number;
  bytesSent: number;
  msgsReceived: number;
  bytesReceived: number;
  /** Averages over the last few cycles (messages/bytes this node sent per cycle). */
  msgsPerCycle: number;
  bytesPerCycle: number;
  probes: number;
  probeFailures: number;
  /** Suspicions this node raised itself (its probe failed). */
  suspicionsRaised: number;
  /** Suspicions of other members seen refuted here (false suspicions). */
  falseSuspicions: number;
  /** Times this node refuted a suspicion (or death) of itself. */
  refutations: number;
  /** Members this node itself declared dead. */
  deathsDeclared: number;
  /** For members this node declared dead: time from their last sign of life here to the verdict (ms). */
  detectionMsP50: number | null;
  detectionMsLast: number | null;
  /** Lifeguard local health score (0 = healthy). */
  localHealth: number;
  liveKeys: number;
  tombstones: number;
  tombstonesPurged: number;
  /** Fingerprint of the visible memory: equal on two nodes ⇒ they hold the same data. */
  memoryFingerprint: string;
  /** Share of peers heard in recent syncs whose memory fingerprint equals ours (0…1). */
  peerAgreement: number | null;
  rumoursQueued: number;
  /** Fresh writes queued for eager push (eager.ts), writes held back by the per-origin throttle, and news frames sent for them. */
  eagerPushed: number;
  eagerThrottled: number;
  eagerFrames: number;
  /** Members in this node's table, dead and departed ones included. */
  membersHeld: number;
  /**
   * The table is full (viewSize live members): the room may be larger, and `members` is then
   * a random sample of it, refreshed by peer sampling (core.ts "Large rooms").
   */
  partialView: boolean;
  /** Sampled members this node dropped from its table to make room for newer ones. */
  viewEvictions: number;
}

export interface GossipView {
  id: NodeId;
  status: MemberStatus;
  incarnation: number;
  /**
   * Every member this node holds, self included, sorted by id: the whole room up to viewSize
   * live members, else a random sample of it (metrics.partialView).
   */
  members: MemberView[];
  /** Live keys of the replicated memory, sorted by key. */
  memory: MemoryEntryView[];
  metrics: GossipMetrics;
  /** Refused inputs, by reason. */
  rejected: Record<string, number>;
}
