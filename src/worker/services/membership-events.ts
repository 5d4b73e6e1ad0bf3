// Tells the app who is in the room, as gossip lets this node know it: app event 'members'
// (and command 'members') with two lists, sent whole whenever either changes:
// - `members`: every peer this node has learnt is in the room (gossip held it alive or
//   suspect) and has not since heard leave or die;
// - `departed`: peers this node heard leave or be declared dead, not back since.
// The app side (src/api/peers.ts) turns successive payloads into peer-join / peer-leave events;
// sending whole lists rather than deltas makes a lost or repeated event harmless.
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

/** The app event carrying the room's members as this node knows them: payload `MembersPayload`. */
export const membersEventName = 'members';

/** Most peers listed in `members`: a peer learnt beyond it is not listed (no peer-join) until one departs. */
export const maxMembersListed = 100_000;

/** Most peers listed in `departed` (gossip's own cap on the dead and departed it holds); the oldest departure goes first. */
export const maxDepartedListed = 4_096;

/** Payload of the 'members' event and result of the 'members' command (this node left out of both). */
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
  private publishQueued = false;

  constructor(private readonly gossip: MembershipSource) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    for (const member of this.gossip.view().members) if (member.id !== ctx.self) this.take(member.id, member.status);
    this.publish();
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
        this.publish();
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
      return true;
    }
    const wasPresent = this.present.delete(peer);
    if (this.departed.has(peer)) return wasPresent;
    // Listed even when not present here: the page may know the peer from before a worker restart.
    this.departed.add(peer);
    if (this.departed.size > maxDepartedListed) this.departed.delete(this.departed.values().next().value as NodeId);
    return true;
  }

  private payload(): MembersPayload {
    return { members: [...this.present], departed: [...this.departed] };
  }

  private publish(): void {
    this.ctx.publishEvent?.(membersEventName, this.payload());
  }
}
