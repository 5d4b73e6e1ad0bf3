// From "who is in the room now" lists (the node's 'members' event, src/worker/services/
// membership-events.ts) to peer-join and peer-leave events with the guarantees the API promises:
// one peer-join per peer per membership, a peer-leave when it leaves or is declared dead, and
// never a leave without its join. Lists may repeat, arrive again after a worker restart, or skip
// states: only the difference from the last list becomes events.
import * as v from 'valibot';
import { nodeIdPattern } from '../core/ids.ts';

/** The app event payload: the ids of the room's present members, this node left out. */
export const membersPayloadSchema = v.object({ members: v.pipe(v.array(v.pipe(v.string(), v.regex(nodeIdPattern))), v.maxLength(100_000)) });

export class PeerTracker {
  private present = new Set<string>();

  constructor(
    private readonly self: string,
    private readonly onJoin: (peer: string) => void,
    private readonly onLeave: (peer: string) => void,
  ) {}

  /** The present peers, in the order they joined. */
  peers(): string[] {
    return [...this.present];
  }

  /** Whether `peer` is present now. */
  has(peer: string): boolean {
    return this.present.has(peer);
  }

  /** Takes a new list of present members: leaves first (for peers gone), then joins (for peers new). */
  update(members: readonly string[]): void {
    const next = new Set(members.filter((id) => id !== this.self));
    const left = [...this.present].filter((id) => !next.has(id));
    const joined = [...next].filter((id) => !this.present.has(id));
    for (const id of left) {
      this.present.delete(id);
      this.onLeave(id);
    }
    for (const id of joined) {
      this.present.add(id);
      this.onJoin(id);
    }
  }

  /** Forgets everyone without events (the room was left: no more events of it). */
  clear(): void {
    this.present.clear();
  }
}
