// When a node asks to change the replica set. Membership changes are operations committed
// through consensus (state-machine.ts explains at which sequence number they take effect); this
// decides which ones this node submits:
//  - an observer asks to `join` (the replica set is capped at maxReplicas; beyond it nodes stay
//    observers that follow the committed log), and asks again later if it is still outside;
//  - a replica votes to `remove` a replica that gossip has reported dead or left for a while
//    (f+1 votes remove it; a tab that reloads is back well within the grace period);
//  - a node leaving gracefully proposes its own `leave` (PbftService.shutdown).
// Pure: the service feeds it what gossip and the core say, and submits what it returns.
import type { Op, OpResult } from '../pbft/index.ts';
import type { Millis, NodeId } from '../types.ts';

/** A replica reported dead or left for this long is proposed for removal (a reload takes less). */
export const removeGraceMs: Millis = 3_000;
/** An observer asks to join again this long after its last request ended, if still outside. */
export const joinRetryMs: Millis = 10_000;
/** …and this long when the replica set was full. */
export const joinWhenFullRetryMs: Millis = 30_000;
/** A removal vote that has not taken effect is cast again after this long (votes reset per epoch). */
export const removeRevoteMs: Millis = 15_000;
/** Nodes whose dead/left status is remembered for removal; the oldest goes first. */
export const maxTrackedDepartures = 256;

export type Departure = 'dead' | 'left';

export interface MembershipState {
  now: Millis;
  self: NodeId;
  role: 'replica' | 'observer';
  epoch: number;
  replicas: readonly NodeId[];
  maxReplicas: number;
  /** Whether this node may submit operations now (its genesis has settled, it is not leaving). */
  active: boolean;
}

export class MembershipPlanner {
  private joinOutstanding = false;
  private nextJoinAt: Millis = 0;
  /** Replicas that gossip reported gone, and since when (this node's clock). */
  private readonly departed = new Map<NodeId, { since: Millis; how: Departure }>();
  /** Removal votes cast: node → epoch and time of the vote. */
  private readonly votes = new Map<NodeId, { epoch: number; at: Millis; outstanding: boolean }>();

  /** Gossip says `peer` is dead or has left (or, with null, alive again). */
  memberStatus(peer: NodeId, how: Departure | null, now: Millis): void {
    if (how === null) {
      this.departed.delete(peer);
      this.votes.delete(peer);
      return;
    }
    if (this.departed.has(peer)) return;
    this.departed.set(peer, { since: now, how });
    if (this.departed.size > maxTrackedDepartures) this.departed.delete(this.departed.keys().next().value as NodeId);
  }

  /** Operations to submit now (each is marked as outstanding until its result comes back). */
  plan(s: MembershipState): Op[] {
    if (!s.active) return [];
    const ops: Op[] = [];
    if (s.role === 'observer' && !s.replicas.includes(s.self)) {
      if (!this.joinOutstanding && s.now >= this.nextJoinAt && s.replicas.length < s.maxReplicas) {
        this.joinOutstanding = true;
        ops.push({ kind: 'join', node: s.self });
      }
      return ops;
    }
    for (const [peer, gone] of this.departed) {
      if (peer === s.self || !s.replicas.includes(peer)) {
        if (!s.replicas.includes(peer)) this.votes.delete(peer);
        continue;
      }
      if (s.now < gone.since + removeGraceMs) continue;
      const vote = this.votes.get(peer);
      if (vote && (vote.outstanding || (vote.epoch === s.epoch && s.now < vote.at + removeRevoteMs))) continue;
      this.votes.set(peer, { epoch: s.epoch, at: s.now, outstanding: true });
      ops.push({ kind: 'remove', node: peer });
    }
    return ops;
  }

  /** The end of a membership operation this node submitted. */
  result(op: Op, ok: boolean, result: OpResult | undefined, now: Millis): void {
    if (op.kind === 'join') {
      this.joinOutstanding = false;
      const full = result?.note?.includes('full') ?? false;
      this.nextJoinAt = now + (full ? joinWhenFullRetryMs : joinRetryMs);
      return;
    }
    if (op.kind === 'remove') {
      const vote = this.votes.get(op.node);
      if (vote) {
        vote.outstanding = false;
        // A vote that failed (timed out) may be cast again soon.
        if (!ok) vote.at = now - removeRevoteMs / 2;
      }
    }
  }

  /** Nodes gossip reports gone, for the snapshot. */
  departures(): Array<{ node: NodeId; how: Departure; since: Millis }> {
    return [...this.departed].map(([node, d]) => ({ node, how: d.how, since: d.since }));
  }
}
