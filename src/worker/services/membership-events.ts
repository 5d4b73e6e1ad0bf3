// Tells the app who is in the room: the ids of every member gossip counts as present (alive or
// suspect), as app event 'members' whenever that set changes, and as command 'members'. The
// app side (src/api/peers.ts) turns successive lists into peer-join / peer-leave events;
// sending the whole set rather than deltas makes a lost or repeated event harmless and lets a
// restarted worker simply say again who is there.
import type { NodeId } from '../../core/types.ts';
import type { MemberView } from '../../core/gossip/index.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';

/** The app event carrying the room's present members: payload `{ members: string[] }` (this node left out). */
export const membersEventName = 'members';

/** What this service reads of gossip. */
export interface MembershipSource {
  view(): { members: readonly MemberView[] };
}

export class MembershipEventsService implements Service {
  // No frames of its own: the tag is only its name among services.
  readonly protocol = 'members' as const;
  private ctx!: ServiceContext;
  private present = new Set<NodeId>();
  private publishQueued = false;

  constructor(private readonly gossip: MembershipSource) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    for (const member of this.gossip.view().members)
      if (member.id !== ctx.self && (member.status === 'alive' || member.status === 'suspect')) this.present.add(member.id);
    this.publish();
  }

  receive(): void {
    this.ctx.reject('members: this service takes no frames');
  }

  onEvent(event: ServiceEvent): void {
    if (event.type !== 'member-status' || event.peer === this.ctx.self) return;
    const here = event.status === 'alive' || event.status === 'suspect';
    if (here === this.present.has(event.peer)) return;
    if (here) this.present.add(event.peer);
    else this.present.delete(event.peer);
    // Changes within one task (a burst of news) go out as one list.
    if (!this.publishQueued) {
      this.publishQueued = true;
      queueMicrotask(() => {
        this.publishQueued = false;
        this.publish();
      });
    }
  }

  readonly commands = {
    /** The present members' ids now (this node left out). */
    members: (): string[] => [...this.present],
  };

  private publish(): void {
    this.ctx.publishEvent?.(membersEventName, { members: [...this.present] });
  }
}
