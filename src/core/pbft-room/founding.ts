// When a node that follows no genesis may found one. Founding makes the node the only replica
// of a new genesis, so it commits on its own; if the room already had a genesis, the node's
// commits are dropped when it meets the room (the earlier genesis wins, genesis.ts). So a node
// founds only when, as far as it can tell, it is the first of the room:
//  - it is joined at the signaling server — the one place that knows who is in the room. A node
//    that cannot reach the server (it is down, or this node is cut off) waits: VOPR seed 4,
//    where a node restarted during a server outage founded alone and acknowledged operations;
//  - every other node the server introduced or gossip lists, and that has not died or left, is
//    alive in gossip (so its genesis record, if it had one, would have reached us). A node the server names
//    but gossip cannot reach keeps it waiting: VOPR seed 16, where a node joined into a
//    partition that left it alone. Dead in gossip counts as unreachable too while the server
//    still lists the node: a partition makes each side declare the other dead, and both sides
//    founded (VOPR seeds 98 and 115 at 150 ticks, acknowledged operations lost at the heal);
//  - and nothing of the above has changed for `foundAfterMs` of this node running (a node that
//    was frozen starts over: `frozenGapMs`) — or for `yieldToSmallerMs` while
//    a live node with a smaller id is present too: of several newcomers the smallest founds and
//    the others adopt its record. (Only a preference: a smaller node that never founds, like the
//    demo's watching tab, delays the others, it does not stop them.)
// The service still waits for the room's record in gossip memory first: adopting always beats
// founding. What this does not cover is in docs/security.md ("Genesis").
import type { Millis, NodeId } from '../types.ts';

/** How long the room must look unchanged (and this node first in it) before it founds. */
export const foundAfterMs: Millis = 2_500;
/** …and this long while a live node with a smaller id is in the room too (it should found first). */
export const yieldToSmallerMs: Millis = 3 * foundAfterMs;
/**
 * A gap this long between two verdicts (asked every housekeeping step, 250 ms) means this node
 * did not run meanwhile: a frozen tab, a sleeping laptop. What it knew of the room is stale then
 * (its gossip could not declare anyone dead, the room's genesis record may wait in its inbox),
 * so the quiet period starts over: VOPR seed 115 at 150 ticks, where a node asleep from 6.7 s
 * to 15 s woke, found the room unchanged for 8 s, and founded before reading the record
 * another node had founded meanwhile.
 */
export const frozenGapMs: Millis = 2_000;
/** Other nodes tracked as present; beyond this the oldest is forgotten (a guard only). */
export const maxTrackedPresent = 1_024;

export type MemberLiveness = 'alive' | 'suspect' | 'dead' | 'left';

export class FoundingWatch {
  /** Since when (monotonic) this node is joined at the server, or null while it is not. */
  private joinedSince: Millis | null = null;
  /** When what this node knows of the room last changed (monotonic). */
  private changedAt: Millis = 0;
  /** Other nodes known to be in the room, with what gossip says of them (null: nothing yet). */
  private readonly present = new Map<NodeId, MemberLiveness | null>();
  /** The ones the server lists (introduced, and not said to have left). */
  private readonly listed = new Set<NodeId>();
  /** When the last verdict was asked (monotonic), to notice that this node was frozen. */
  private lastVerdictAt: Millis | null = null;

  constructor(private readonly self: NodeId) {}

  /** The node joined (or lost) the signaling server's room. */
  signaling(joined: boolean, now: Millis): void {
    if (joined === (this.joinedSince !== null)) return;
    this.joinedSince = joined ? now : null;
    this.changedAt = now;
    // Who is listed is learnt again on the next join (the server introduces everyone present):
    // a node that left meanwhile must not count as listed for ever.
    if (!joined) this.listed.clear();
  }

  /** The server (or the mesh) introduced `peer`: it is in the room. */
  introduced(peer: NodeId, now: Millis): void {
    if (peer === this.self) return;
    if (!this.listed.has(peer) && this.listed.size < maxTrackedPresent) this.listed.add(peer);
    if (this.present.has(peer)) return;
    this.present.set(peer, null);
    if (this.present.size > maxTrackedPresent) this.present.delete(this.present.keys().next().value as NodeId);
    this.changedAt = now;
  }

  /** The server says `peer` left the room. */
  leftRoom(peer: NodeId, now: Millis): void {
    this.listed.delete(peer);
    if (this.present.delete(peer)) this.changedAt = now;
  }

  /** What gossip says of a member. Dead and departed ones stop counting; any other is present. */
  member(peer: NodeId, status: MemberLiveness, now: Millis): void {
    if (peer === this.self) return;
    const before = this.present.get(peer);
    if (before === status) return;
    if ((status === 'dead' || status === 'left') && before === undefined) return;
    this.present.set(peer, status);
    this.changedAt = now;
  }

  /** Whether this node may found a genesis now (see the rule above), or why not. */
  verdict(now: Millis): { ok: true } | { ok: false; why: string } {
    const frozen = this.lastVerdictAt !== null && now - this.lastVerdictAt >= frozenGapMs;
    this.lastVerdictAt = now;
    if (frozen) this.changedAt = now;
    if (this.joinedSince === null) return { ok: false, why: 'not joined at the signaling server' };
    let smaller: NodeId | null = null;
    for (const [peer, status] of this.present) {
      if (status === 'left' || (status === 'dead' && !this.listed.has(peer))) continue;
      if (status !== 'alive') return { ok: false, why: `${peer.slice(0, 8)} is in the room but not reachable` };
      if (peer < this.self) smaller = peer;
    }
    const quietSince = Math.max(this.joinedSince, this.changedAt);
    if (smaller !== null && now < quietSince + yieldToSmallerMs) return { ok: false, why: `${smaller.slice(0, 8)} is in the room and founds first` };
    if (now < quietSince + foundAfterMs) return { ok: false, why: 'the room is still changing' };
    return { ok: true };
  }
}
