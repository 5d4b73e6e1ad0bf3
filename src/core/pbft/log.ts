// One slot of the message log per sequence number in the window (h, h + L]: the pre-prepare
// and votes of the current view, plus the certificates that outlive a view change. Per slot
// at most one prepare and one commit per replica is kept (the first; a different second one
// is equivocation and is refused), so a slot holds at most 2n + 1 messages.
import type { Millis, NodeId } from '../types.ts';
import type { Batch, CommitBody, Digest, PreparedCert, PrePrepareBody, PrepareBody, Signed } from './messages.ts';
import type { ReplicaConfig } from './quorum.ts';

export interface CommitCert {
  pp: Signed<PrePrepareBody>;
  commits: Signed<CommitBody>[];
  batch: Batch;
}

export interface Slot {
  seq: number;
  /** The view the pre-prepare and votes below belong to. */
  view: number;
  pp?: Signed<PrePrepareBody>;
  batch?: Batch;
  prepares: Map<NodeId, Signed<PrepareBody>>;
  commits: Map<NodeId, Signed<CommitBody>>;
  /** What this replica asked to sign in `view` (before the signature is back): never two digests. */
  votedPrepare?: Digest;
  votedCommit?: Digest;
  /** The highest-view prepared certificate here, kept across view changes. */
  prepared?: { cert: PreparedCert; batch: Batch };
  /** Set once committed here (q commits, or a commit certificate from a peer). */
  committed?: CommitCert;
  /** In a new view, the digest the new-view message gave this number. */
  expected?: Digest;
  /** When this replica first heard of the slot (for commit latency). */
  firstSeenAt: Millis;
  /** When this replica last sent its messages for the slot. */
  lastSentAt: Millis;
}

export function newSlot(seq: number, view: number, now: Millis): Slot {
  return { seq, view, prepares: new Map(), commits: new Map(), firstSeenAt: now, lastSentAt: now };
}

/** Moves a slot into a new view: votes of older views are useless there, certificates stay. */
export function resetSlotForView(slot: Slot, view: number): void {
  slot.view = view;
  slot.pp = undefined;
  slot.batch = undefined;
  slot.prepares.clear();
  slot.commits.clear();
  slot.votedPrepare = undefined;
  slot.votedCommit = undefined;
  slot.expected = undefined;
}

const matches = (pp: PrePrepareBody) => (vote: { body: { view: number; seq: number; digest: Digest; epoch: number } }) =>
  vote.body.view === pp.view && vote.body.seq === pp.seq && vote.body.digest === pp.digest && vote.body.epoch === pp.epoch;

/** The prepares that match the slot's pre-prepare, from distinct replicas other than the primary. */
export function matchingPrepares(slot: Slot, config: ReplicaConfig): Signed<PrepareBody>[] {
  if (!slot.pp) return [];
  const ok = matches(slot.pp.body);
  const out: Signed<PrepareBody>[] = [];
  for (const [signer, vote] of slot.prepares) {
    if (signer !== slot.pp.signer && config.replicas.includes(signer) && ok(vote)) out.push(vote);
  }
  return out;
}

export function matchingCommits(slot: Slot, config: ReplicaConfig): Signed<CommitBody>[] {
  if (!slot.pp) return [];
  const ok = matches(slot.pp.body);
  const out: Signed<CommitBody>[] = [];
  for (const [signer, vote] of slot.commits) if (config.replicas.includes(signer) && ok(vote)) out.push(vote);
  return out;
}

/** The paper's prepared(m, v, n, i): the pre-prepare and q − 1 matching prepares. */
export function isPreparedNow(slot: Slot, config: ReplicaConfig): boolean {
  return slot.pp !== undefined && matchingPrepares(slot, config).length >= config.q - 1;
}

/** The paper's committed-local: prepared in this view and q matching commits. */
export function isCommittedNow(slot: Slot, config: ReplicaConfig): boolean {
  return (
    slot.prepared !== undefined && slot.pp !== undefined && slot.prepared.cert.pp.body.view === slot.view && matchingCommits(slot, config).length >= config.q
  );
}
