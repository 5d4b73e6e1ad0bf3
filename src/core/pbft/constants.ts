// The pBFT core's parameters and limits. Two kinds:
//  - protocol parameters (`PbftParams`) shape the replicated state and the sequence numbers at
//    which membership changes take effect, so every node of one swarm must use the same ones;
//  - local settings (`PbftTiming`) only change how fast this node reacts, and may differ.
// Every cap below bounds memory that a peer could otherwise grow, and says what goes when full.
import type { Millis } from '../types.ts';

export interface PbftParams {
  /**
   * K: a checkpoint every K sequence numbers. Small enough that the log (2K slots) and a view
   * change stay small, large enough that checkpoint traffic is a small share under load.
   */
  checkpointIntervalSeqs: number;
  /**
   * L: the log window (h, h + L] above the last stable checkpoint h. The paper uses L = 2K so
   * work continues while a checkpoint becomes stable. Must be a multiple of K.
   */
  logWindowSeqs: number;
  /** Most replicas; nodes beyond this stay observers that follow the committed log. */
  maxReplicas: number;
  /**
   * Most requests this node puts in one pre-prepare when it is the primary. Unlike the others
   * it may differ between nodes and change while running (PbftReplica.setMaxBatchRequests):
   * receivers accept up to maxBatchRequestsOnWire; maxBatchBytes bounds the size.
   */
  maxBatchRequests: number;
  /**
   * Most UTF-8 bytes of canonical JSON in one batch. Bytes, not characters: a view change
   * carries up to L batches, and it must fit the frame limit (maxFrameBytes, in bytes) even when
   * every operation is emoji or CJK text; size-bounds.ts checks that it does for a parameter set.
   */
  maxBatchBytes: number;
}

export const defaultPbftParams: PbftParams = {
  checkpointIntervalSeqs: 8,
  logWindowSeqs: 16,
  maxReplicas: 16,
  maxBatchRequests: 32,
  maxBatchBytes: 8 * 1024,
};

/** Why a parameter set cannot work, or null. */
export function checkParams(p: PbftParams): string | null {
  const whole = (x: number) => Number.isSafeInteger(x) && x > 0;
  if (!whole(p.checkpointIntervalSeqs)) return 'checkpointIntervalSeqs must be a positive whole number';
  if (!whole(p.logWindowSeqs) || p.logWindowSeqs % p.checkpointIntervalSeqs !== 0) {
    return 'logWindowSeqs must be a positive multiple of checkpointIntervalSeqs';
  }
  if (p.logWindowSeqs > maxLogWindowSeqs) return `logWindowSeqs must be at most ${maxLogWindowSeqs}`;
  if (!whole(p.maxReplicas) || p.maxReplicas > maxReplicasCeiling) return `maxReplicas must be 1…${maxReplicasCeiling}`;
  if (!whole(p.maxBatchRequests) || p.maxBatchRequests > maxBatchRequestsOnWire) {
    return `maxBatchRequests must be 1…${maxBatchRequestsOnWire}`;
  }
  if (!whole(p.maxBatchBytes) || p.maxBatchBytes > maxBatchBytesOnWire) return `maxBatchBytes must be 1…${maxBatchBytesOnWire}`;
  return null;
}

export interface PbftTiming {
  /** First view-change timeout; it doubles after each view change that brings no progress. */
  viewChangeTimeoutMs: Millis;
  /** Ceiling of the doubling view-change timeout. */
  maxViewChangeTimeoutMs: Millis;
  /** Own messages for slots that have not committed here are sent again this often. */
  retransmitIntervalMs: Millis;
  /** A node that may be behind (or is an observer) asks a peer for news this often. */
  statusIntervalMs: Millis;
  /** A node with no sign of being behind still says where it is this often. */
  idleStatusIntervalMs: Millis;
  /** A client re-sends its request to every replica after this long without f+1 replies. */
  clientRetransmitMs: Millis;
  /** A client gives up on a request (reports failure) after this long. */
  clientTimeoutMs: Millis;
  /**
   * Batches the primary keeps in flight before it waits (pipelining depth). Requests that
   * arrive meanwhile form the next batch, so under load a smaller depth means larger batches
   * and fewer signatures per operation (in the pBFT benchmark at n = 4: depth 8 → 13.6
   * verifications per operation, 4 → 11.3, 1 → 9.0), while latency at low load is unchanged.
   */
  maxInFlightBatches: number;
  /**
   * Operations a client packs into one request (one signature, one ts) while an earlier request
   * is outstanding. The paper's client has one request outstanding; packing what queued up
   * behind it is what lets one node keep many proposals open (maxClientQueue) without giving
   * up the one-request-per-client dedup rule. A request also stays within maxBatchBytes.
   */
  maxOpsPerRequest: number;
}

export const defaultPbftTiming: PbftTiming = {
  viewChangeTimeoutMs: 1_000,
  maxViewChangeTimeoutMs: 32_000,
  retransmitIntervalMs: 400,
  statusIntervalMs: 500,
  idleStatusIntervalMs: 5_000,
  clientRetransmitMs: 800,
  clientTimeoutMs: 60_000,
  maxInFlightBatches: 4,
  // As many as the wire allows (maxOpsPerRequestOnWire): a request's bytes (maxBatchBytes) are the real bound.
  maxOpsPerRequest: 256,
};

// ── wire limits (decode refuses anything larger) ─────────────────────────────────────────

/** Longest node id (an Ed25519 key in base64url is 43; simulations use short names). */
export const maxNodeIdChars = 128;
/** Longest signature text (Ed25519 base64url is 86). */
export const maxSigChars = 256;
/** Longest digest text (SHA-256 hex is 64). */
export const maxDigestChars = 128;
/** Ceiling of `maxReplicas` and of any list of replicas on the wire. */
export const maxReplicasCeiling = 64;
/** Ceiling of `logWindowSeqs`, which bounds prepared certificates per view change. */
export const maxLogWindowSeqs = 256;
/** Ceiling of `maxBatchRequests` on the wire. */
export const maxBatchRequestsOnWire = 256;
/** Ceiling of `maxBatchBytes` on the wire (UTF-8 bytes of the batch's canonical JSON). */
export const maxBatchBytesOnWire = 64 * 1024;
/** Most operations in one request on the wire (a packed request: `op` and `more`). */
export const maxOpsPerRequestOnWire = 256;
/** Largest operation (canonical JSON characters). */
export const maxOpChars = 1_024;
/** Longest key of the replicated key–value store. */
export const maxKvKeyChars = 128;
/** Largest operation result carried in a reply. */
export const maxResultChars = 512;
/**
 * Largest state chunk in one state-transfer message, in bytes as it travels: UTF-8 inside a JSON
 * string (utf8.ts jsonStringBytes).
 */
export const maxStateChunkBytes = 64 * 1024;
/** Largest replicated state as a whole (canonical JSON), i.e. at most 32 chunks. */
export const maxStateChars = 2 * 1024 * 1024;
/**
 * Most epoch records a node keeps to prove, from genesis, how the replica set changed (every
 * join and removal is one). A brand-new node knows only the genesis and must follow the whole
 * chain, so the records are kept from the first one on; beyond this many membership changes
 * the oldest go, and a node further behind than what is kept cannot verify a transferred state
 * (it says so, and stays an observer). About 2 KiB each at n = 7: 2 MiB at most in memory, one
 * stored record per epoch (`pbft/epoch/…`).
 */
export const maxEpochHistory = 1_024;
/** Most epoch records in one `epochs` message (a page of the chain; also bounded in bytes). */
export const maxEpochRecordsPerMessage = 32;
/**
 * Pages of epoch records one status answer sends at most; an asker further behind gets the rest
 * on its next status (it says how far it has verified), and the state after the last page.
 */
export const maxEpochPagesPerAnswer = 4;
/** Highest view or epoch number accepted; far beyond any honest run, it keeps arithmetic exact. */
export const maxViewNumber = 2 ** 40;

// ── replicated state limits (deterministic on every replica) ─────────────────────────────

/** Most keys in the replicated key–value store; a set of a new key beyond it fails. */
export const maxKvEntries = 1_024;
/** Clients whose last reply is kept for deduplication; the least recently served goes first. */
export const maxClientRecords = 1_024;
/**
 * Characters of results all client records hold together (a packed request keeps one result
 * per operation); beyond it the least recently served client goes first, as for maxClientRecords.
 */
export const maxClientRecordChars = 256 * 1024;
/** Committed operations kept in the state for display (the log tail every replica shows alike). */
export const logTailEntries = 64;

// ── local caps (memory a peer could otherwise grow) ──────────────────────────────────────

/** Requests waiting to be ordered; beyond this new ones are dropped (their clients retry). */
export const maxPendingRequests = 4_096;
/** Messages for a view or epoch we have not reached yet, held until we get there; oldest dropped. */
export const maxFutureMessages = 512;
/** View-change messages more than this many views ahead are refused (an honest replica is never that far). */
export const maxViewsAhead = 64;
/** Checkpoint votes kept per signer above the stable checkpoint; its lowest goes first. */
export const maxCheckpointVotesPerSigner = 4;
/** Signatures asked of the runtime and not answered yet; the oldest is forgotten. */
export const maxPendingSignatures = 8_192;
/** Commit certificates sent in answer to one status message. */
export const maxProofsPerStatus = 32;
/** Commit certificates held for sequence numbers we cannot execute yet (out of order). */
export const maxHeldProofs = 64;
/** Peers whose last status answer time we remember (rate limit); oldest forgotten. */
export const maxStatusPeers = 256;
/** Commit-latency samples kept for p50/p99. */
export const latencySampleCount = 512;
/** Distinct rejection reasons counted (the reasons are a fixed set; this is a guard). */
export const maxRejectReasons = 64;
/**
 * Operations open in a client: packed into the outstanding request or queued behind it (and
 * packed into the next ones). Room for a tab's full window of proposals (256) and its own
 * membership requests.
 */
export const maxClientQueue = 320;
/** Nodes (besides the replicas) an observer may ask for news, as told by the runtime. */
export const maxKnownPeers = 64;
/** Messages a 'replay' replica remembers to re-send. */
export const replayBufferMessages = 64;
/** Messages a 'delay' replica holds back at most; the oldest is released when full. */
export const delayBufferMessages = 1_024;
/**
 * Parts of an incoming state transfer held at once: a chunk holds at least a third as many
 * characters as its bytes (no character takes more than 3 bytes per UTF-16 unit in a JSON string
 * of canonical text), plus one for a small part 0.
 */
export const maxStateParts = Math.ceil(maxStateChars / Math.floor((maxStateChunkBytes - 6) / 3)) + 1;
