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
//  - and it has a direct link up whenever anyone else counts (a genesis record reaches it only
//    through its links). "Alive in gossip" alone proves nothing for a node cut off by itself:
//    Lifeguard (gossip/detector.ts) accuses a member only when a helper confirms it cannot reach
//    it either, and a lone node's helpers are out of reach too, so its table keeps the whole room
//    alive for as long as the cut lasts. VOPR seed 280: n4, alone in a partition from 2.4 s, still
//    held all five others alive at 8.3 s and founded; its links had failed on silence at
//    6.6 s. Losing its last link, or getting one back, starts the quiet period over: a node
//    that rejoins the room must first read its memory.
// The service still waits for the room's record in gossip memory first: adopting always beats
// founding.
//
// Large rooms. When gossip's member table is full (viewSize, gossip/core.ts "Large rooms") it is
// a random sample of the room, and the server introduced only a sample too (its join list holds
// 8 ids, then whoever arrives later): "every node named is alive" can never hold, and no genesis
// formed (512 nodes, viewSize 320). There the rule reads the sample instead of the whole room:
//  - nodes named but never held by gossip are not waited for;
//  - any member of the sample that is suspect or dead counts as unreachable, whether or not the
//    server listed it (it lists only a sample): a partition that cuts off part of the room shows
//    up on this side as dead members in the sample, in proportion to that part's size, since
//    the helpers on this side confirm they cannot reach them either. Only the server's word
//    that a node left (which everyone in the room hears) takes a dead member out;
//  - members entering or leaving the sample (peer sampling swaps them all the time) are no change
//    of the room; arrivals, departures, suspicions and deaths are;
//  - the room must look unchanged for `yieldToSmallerMs` times the number of live nodes this node
//    knows of with a smaller id (`foundAfterMs` when there is none): the smallest founds, its record spreads through the replicated memory (not
//    sampled: every node holds every key) and the others adopt it long before their turn.
//    Nodes whose sample lacks the smallest (about room size / viewSize of them) may found at
//    the same moment; like two tabs starting at once, the genesis order (genesis.ts) settles it
//    before the settle wait lets any proposal through.
// The safety argument is the same in both forms: a node founds only when, as far as it can tell,
// it is connected to the whole room (so any record would have reached it) and no smaller node
// has had its turn. What this does not cover (cuts shorter than gossip's detection, and in large
// rooms partitions longer than gossip keeps the dead) is in docs/security.md ("Genesis").
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
  /** Whether this node has a direct link up (gossip news reaches it only that way). */
  private linked = false;
  /** Whether gossip's member table is a sample of a larger room (the large-room form of the rule). */
  private sampled = false;

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

  /** Whether this node has any direct link up now. Losing the last one, or getting one back, is a change. */
  links(any: boolean, now: Millis): void {
    if (any === this.linked) return;
    this.linked = any;
    this.changedAt = now;
  }

  /** Whether gossip's member table is full, so it holds a sample of the room (see "Large rooms" above). */
  sample(partial: boolean, now: Millis): void {
    if (partial === this.sampled) return;
    this.sampled = partial;
    this.changedAt = now;
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
    // In a sample, a live member coming into view is peer sampling at work, not the room changing.
    if (this.sampled && status === 'alive' && (before === undefined || before === null)) return;
    this.changedAt = now;
  }

  /** Whether this node may found a genesis now (see the rule above), or why not. */
  verdict(now: Millis): { ok: true } | { ok: false; why: string } {
    const frozen = this.lastVerdictAt !== null && now - this.lastVerdictAt >= frozenGapMs;
    this.lastVerdictAt = now;
    if (frozen) this.changedAt = now;
    if (this.joinedSince === null) return { ok: false, why: 'not joined at the signaling server' };
    const room = this.sampled ? this.sampledRoom() : this.wholeRoom();
    if (!room.ok) return room;
    if (room.others && !this.linked) return { ok: false, why: 'no direct link up: the room cannot reach this node' };
    const quietSince = Math.max(this.joinedSince, this.changedAt);
    if (room.smaller !== null && now < quietSince + room.yieldMs) return { ok: false, why: `${room.smaller.slice(0, 8)} is in the room and founds first` };
    if (now < quietSince + foundAfterMs) return { ok: false, why: 'the room is still changing' };
    return { ok: true };
  }

  /** The room is within gossip's table: every node named must be alive there. */
  private wholeRoom(): RoomLook {
    let smaller: NodeId | null = null;
    let others = false;
    for (const [peer, status] of this.present) {
      if (status === 'left' || (status === 'dead' && !this.listed.has(peer))) continue;
      if (status !== 'alive') return { ok: false, why: `${peer.slice(0, 8)} is in the room but not reachable` };
      others = true;
      if (peer < this.self) smaller = peer;
    }
    return { ok: true, others, smaller, yieldMs: yieldToSmallerMs };
  }

  /** Gossip holds a sample of a larger room: every member of the sample must be alive. */
  private sampledRoom(): RoomLook {
    let smaller: NodeId | null = null;
    let smallerCount = 0;
    let others = false;
    for (const [peer, status] of this.present) {
      if (status === 'left') continue;
      if (status === 'dead' || status === 'suspect') return { ok: false, why: `${peer.slice(0, 8)} is in the room's sample but not reachable` };
      others = true;
      if (peer < this.self) {
        smallerCount++;
        if (smaller === null || peer < smaller) smaller = peer;
      }
    }
    return { ok: true, others, smaller, yieldMs: smallerCount * yieldToSmallerMs };
  }
}

type RoomLook = { ok: false; why: string } | { ok: true; others: boolean; smaller: NodeId | null; yieldMs: Millis };
