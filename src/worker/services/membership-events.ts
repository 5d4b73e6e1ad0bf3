// Tells the app who is in the room, as gossip lets this node know it, in two lists:
// - `members`: peers this node has learnt are in the room (gossip held them alive or suspect)
//   and has not since heard leave or die;
// - `departed`: peers this node heard leave or be declared dead, not back since.
// Command 'members' answers both lists whole; app event 'members' carries what changed since the
// event before (the first, at start, carries everything), so a room of 10,000 learnt peers does
// not post 10,000 ids for each newcomer. The app side (src/api/peers.ts) reads both alike: a peer
// in `members` it does not know is a peer-join, a peer in `departed` it knows is a peer-leave,
// anything else changes nothing, so a repeated payload is harmless. None is missed: a worker's
// posts arrive in order, and the Room listens before it asks the command (src/api/room.ts).
//
// Absence from gossip's member table is never a departure. In a room larger than gossip's
// `viewSize` the table is a random sample that peer sampling rotates (src/core/gossip/README.md,
// "Large rooms"): a member rotated out of it emits no status change and stays in `members`;
// one rotated in that was learnt before changes nothing. Deaths and departures reach every node
// whatever its sample (gossip stores and floods them), so `departed` is the one source of
// leaves. A restarted worker starts from an empty table: its lists name only what it has
// relearnt, and the page keeps the peers it knew until their departure is heard.
import type { NodeId } from '../../core/types.ts';
import type { MemberStatus, MemberView } from '../../core/gossip/index.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';

/** The app event carrying changes to the lists: payload `MembersPayload`. */
export const membersEventName = 'members';

/** Most peers listed in `members`: a peer learnt beyond it is not listed (no peer-join) until one departs. */
export const maxMembersListed = 100_000;

/** Most peers listed in `departed` (gossip's cap on the members it holds, `maxMembers`); the oldest departure goes first. */
export const maxDepartedListed = 4_096;

/** Payload of the 'members' event (changes) and result of the 'members' command (whole lists); this node is left out of both. */
export interface MembersPayload {
  members: string[];
  departed: string[];
}

/** What this service reads of gossip. */
export interface MembershipSource {
  view(): { members: readonly MemberView[] };
}

const isLive = (status: MemberStatus): boolean => status === 'alive' || status === 'suspect';

export class MembershipEventsService implements Service {
  // No frames of its own: the tag is only its name among services.
  readonly protocol = 'members' as const;
  private ctx!: ServiceContext;
  /** Learnt present, in the order learnt. */
  private present = new Set<NodeId>();
  /** Heard depart, oldest first. */
  private departed = new Set<NodeId>();
  /** Changes since the last event: the next event's lists. */
  private joinedSince = new Set<NodeId>();
  private departedSince = new Set<NodeId>();
  private publishQueued = false;

  constructor(private readonly gossip: MembershipSource) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    for (const member of this.gossip.view().members) if (member.id !== ctx.self) this.take(member.id, member.status);
    this.publish(this.payload());
  }

  receive(): void {
    this.ctx.reject('members: this service takes no frames');
  }

  onEvent(event: ServiceEvent): void {
    if (event.type !== 'member-status' || event.peer === this.ctx.self) return;
    if (!this.take(event.peer, event.status)) return;
    // Changes within one task (a burst of news) go out as one payload.
    if (!this.publishQueued) {
      this.publishQueued = true;
      queueMicrotask(() => {
        this.publishQueued = false;
        this.publish({ members: [...this.joinedSince], departed: [...this.departedSince] });
      });
    }
  }

  readonly commands = {
    /** The lists as they are now (this node left out). */
    members: (): MembersPayload => this.payload(),
  };

  /** Records one member's status; true when a list changed. */
  private take(peer: NodeId, status: MemberStatus): boolean {
    if (isLive(status)) {
      if (this.present.has(peer)) return false;
      if (this.present.size >= maxMembersListed) {
        this.ctx.reject('members: app peer list full');
        return false;
      }
      this.present.add(peer);
      this.departed.delete(peer);
      this.departedSince.delete(peer);
      this.joinedSince.add(peer);
      return true;
    }
    const wasPresent = this.present.delete(peer);
    this.joinedSince.delete(peer);
    if (this.departed.has(peer)) return wasPresent;
    // Listed even when not present here: the page may know the peer from before a worker restart.
    addCapped(this.departed, peer);
    addCapped(this.departedSince, peer);
    return true;
  }

  private payload(): MembersPayload {
    return { members: [...this.present], departed: [...this.departed] };
  }

  private publish(payload: MembersPayload): void {
    this.joinedSince.clear();
    this.departedSince.clear();
    this.ctx.publishEvent?.(membersEventName, payload);
  }
}

/** Adds `peer` to a list of departures, dropping the oldest beyond `maxDepartedListed`. */
function addCapped(list: Set<NodeId>, peer: NodeId): void {
  list.add(peer);
  if (list.size > maxDepartedListed) list.delete(list.values().next().value as NodeId);
}
