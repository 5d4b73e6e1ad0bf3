// From the node's 'members' payloads (src/worker/services/membership-events.ts: peers it has
// learnt are in the room, and peers it heard depart; whole lists from the command, changes from
// the event) to peer-join and peer-leave events with the guarantees the API promises: a peer-join
// the first time this node learns a peer is in the room, a peer-leave only when the peer left or
// was declared dead, never a leave without its join, and one join per peer per membership.
// Payloads may repeat, or come from a restarted worker that has relearnt only part of the room: a
// peer missing from `members` is not gone (in a large room gossip holds a rotating sample; a
// restarted worker starts empty), only one named in `departed` is.
import * as v from 'valibot';
import { nodeIdPattern } from '../core/ids.ts';
import { maxDepartedListed, maxMembersListed } from '../worker/services/membership-events.ts';

const ids = (max: number) => v.pipe(v.array(v.pipe(v.string(), v.regex(nodeIdPattern))), v.maxLength(max));

/** The app event payload (this node left out); a peer may not be in both lists. */
export const membersPayloadSchema = v.pipe(
  v.strictObject({ members: ids(maxMembersListed), departed: ids(maxDepartedListed) }),
  v.check(({ members, departed }) => {
    const gone = new Set(departed);
    return !members.some((id) => gone.has(id));
  }, 'a peer is listed both present and departed'),
);

export class PeerTracker {
  private present = new Set<string>();

  constructor(
    private readonly self: string,
    private readonly onJoin: (peer: string) => void,
    private readonly onLeave: (peer: string) => void,
  ) {}

  /** The peers learnt to be in the room and not heard to depart since, in the order they joined. */
  peers(): string[] {
    return [...this.present];
  }

  /** Whether `peer` is present now. */
  has(peer: string): boolean {
    return this.present.has(peer);
  }

  /** Takes a new payload: leaves first (peers heard to depart), then joins (peers newly learnt). */
  update(payload: { members: readonly string[]; departed: readonly string[] }): void {
    for (const id of payload.departed) {
      if (!this.present.delete(id)) continue;
      this.onLeave(id);
    }
    for (const id of payload.members) {
      if (id === this.self || this.present.has(id)) continue;
      this.present.add(id);
      this.onJoin(id);
    }
  }

  /** Forgets everyone without events (the room was left: no more events of it). */
  clear(): void {
    this.present.clear();
  }
}
