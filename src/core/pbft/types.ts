// The pBFT core's inputs, effects, UI events and snapshot: the whole surface a runtime sees.
// See replica.ts for how a runtime drives it.
import type { CoreEffect } from '../effects.ts';
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import type { ByzantineMode } from './byzantine.ts';
import type { DigestFn } from './certificates.ts';
import type { PbftParams, PbftTiming } from './constants.ts';
import type { Digest, PbftMessage } from './messages.ts';
import type { Op, OpResult } from './ops.ts';

export type PbftInput =
  /** A message from a peer, decoded with messages.decode and with EVERY signature in signaturesToVerify(msg) checked. */
  | { type: 'message'; msg: PbftMessage; from?: NodeId }
  /** The runtime's answer to a `sign` effect: the signature over effect.text (canonicalBytes of the body). */
  | { type: 'signed'; id: number; sig: string }
  /** Time passed (call at nextWakeAt(), or whenever convenient). */
  | { type: 'tick' }
  /** This node's user proposes an operation; a `client-result` effect reports how it ended. */
  | { type: 'submit'; op: unknown; tag?: string }
  | { type: 'set-byzantine'; mode: ByzantineMode | null }
  /**
   * Other nodes of the mesh (e.g. from gossip membership). An observer that knows no live
   * replica — a new node after the first one has gone — asks these for the state.
   */
  | { type: 'peers'; peers: readonly NodeId[] }
  /** The runtime refused a message (undecodable, bad signature, oversized): count it with the core's refusals. */
  | { type: 'refused'; reason: string };

/**
 * The core's effects: the shared vocabulary (src/core/effects.ts) over pBFT messages, plus its
 * own events. A `sign` asks for a signature over `text` (canonicalBytes of the body); `signer`
 * is this node's id, except for a 'forge' replica, which asks in another replica's name: sign
 * with your own key anyway; receivers will refuse it. A `send` of this node's own client
 * request is `unordered` (see ReplicaCore.emitOutgoing). `to` never includes this node.
 */
export type PbftEffect = CoreEffect<PbftMessage, PbftEvent>;

/** pBFT's own events, carried out (after the writes before them) by the runtime. */
export type PbftEvent =
  /** Requests executed at `seq`, in order (duplicates left out), for the application. */
  | CommittedEvent
  /** The end of an operation this node submitted. */
  | ClientResultEvent
  | { type: 'ui'; event: PbftUiEvent };

export interface CommittedEvent {
  type: 'committed';
  seq: number;
  digest: Digest;
  entries: CommittedEntry[];
}

export interface CommittedEntry {
  client: NodeId;
  ts: number;
  op: Op;
  result: OpResult;
}

export type ClientResultEvent =
  | { type: 'client-result'; tag?: string; ok: true; ts: number; seq: number; result: OpResult; latencyMs: Millis }
  | { type: 'client-result'; tag?: string; ok: false; ts?: number; reason: string };

export type PbftPhase = 'pre-prepare' | 'prepare' | 'commit' | 'prepared' | 'committed';

export type PbftUiEvent =
  /** `replica`'s message for `phase` was accepted here (or, for prepared/committed, this replica got there). */
  | { type: 'phase'; seq: number; view: number; replica: NodeId; phase: PbftPhase }
  | { type: 'executed'; seq: number; digest: Digest; requests: number }
  | { type: 'view-change-started'; epoch: number; from: number; to: number; reason: string }
  | { type: 'view-change-finished'; epoch: number; view: number; primary: NodeId }
  | { type: 'epoch-changed'; epoch: number; startSeq: number; replicas: NodeId[]; role: 'replica' | 'observer' }
  | { type: 'checkpoint-stable'; seq: number }
  | { type: 'state-transferred'; seq: number; epoch: number }
  | { type: 'stalled'; reason: string }
  /** A quorum certified a state this replica did not compute: a bug, or more than f faulty replicas. */
  | { type: 'diverged'; seq: number; mine: Digest; quorum: Digest }
  | { type: 'byzantine'; mode: ByzantineMode | null };

export interface PbftOptions {
  id: NodeId;
  /** The replica set of epoch 0: the first node alone. Every node of the swarm must pass the same. */
  genesis: readonly NodeId[];
  /** Synchronous hash of canonical text (SHA-256 hex in tabs; any stable hash in simulations). */
  digest: DigestFn;
  rng: Rng;
  params?: Partial<PbftParams>;
  timing?: Partial<PbftTiming>;
  byzantine?: ByzantineMode | null;
  /** Entries read from storage under the prefix `pbft/` (any order), to restart from. */
  persisted?: Iterable<readonly [string, unknown]>;
  /** Emit a `phase` UI event per accepted vote (default true; benchmarks turn it off). */
  phaseEvents?: boolean;
}

export interface PbftSlotView {
  seq: number;
  view: number;
  digest: Digest | null;
  requests: number;
  prePrepared: boolean;
  prepares: NodeId[];
  commits: NodeId[];
  prepared: boolean;
  committed: boolean;
  executed: boolean;
}

export interface PbftView {
  id: NodeId;
  role: 'replica' | 'observer';
  epoch: number;
  view: number;
  mode: 'normal' | 'view-change';
  primary: NodeId;
  replicas: NodeId[];
  n: number;
  f: number;
  quorum: number;
  /** Highest sequence number executed here. */
  lastCommitted: number;
  stableCheckpoint: number;
  /** The last committed operations (the same tail on every replica). */
  log: Array<{ seq: number; digest: Digest; op: Op; client: NodeId; ts: number }>;
  /** View changes completed here (a new view entered). */
  viewChanges: number;
  latencyMs: { p50: number | null; p99: number | null };
  phases: PbftSlotView[];
  /**
   * Refused inputs by reason. From peers: malformed, not-for-me (addressed to another node, or
   * replica traffic at an observer), not-a-replica (signer outside the replica set), old-epoch,
   * too-far-ahead, old-view, wrong-primary, outside-watermarks, wrong-digest, bad-batch,
   * duplicate (replays included), conflict (equivocation), not-in-new-view, stale,
   * stale-request, forged-request, capacity, bad-view-change, bad-new-view, bad-certificate,
   * unverifiable; diverged (our state disagrees with a certified checkpoint); and
   * `runtime: <reason>` for what the runtime refused before the core (e.g. bad-signature).
   */
  rejected: Record<string, number>;
  byzantine: ByzantineMode | null;
  pendingRequests: number;
  /** Why this node is not making progress, in words, or null. */
  stalled: string | null;
  kvSize: number;
  stats: {
    executedRequests: number;
    executedBatches: number;
    viewChangesStarted: number;
    /** Request timeouts that waited instead, because the group was ahead of this node (progress.ts). */
    viewChangesDeferred: number;
    /**
     * Timeouts on which this replica said it wants a later view (suspect) instead of leaving
     * its view at once: it leaves only when f+1 replicas want one (view-change.ts).
     */
    suspicions: number;
    stateTransfers: number;
    stableCheckpoints: number;
  };
}
