// Arrivals and departures, gathered per room over a short window and sent as one `peers` frame.
//
// Sent one by one, churn in a big room multiplies: each join or leave is one frame to every
// member (134 joins/s in a 200-node room was 27k frames/s). Batched, a room gets at most one
// frame per window whatever the churn, serialised once for all its members; a node that joins
// and leaves within one window is announced only as gone.
//
// Pure apart from the injected timer, so tests can drive it by hand.
import type { NodeId } from '../src/core/types.ts';
import type { RoomKey } from './rooms.ts';

/** What happened to one id in the current window. */
type Change = 'joined' | 'left' | 'left-and-joined';

export interface AnnouncementBatch {
  /** Departures, to apply first. */
  left: NodeId[];
  /** Arrivals, to apply after `left` (an id in both left and came back). */
  joined: NodeId[];
}

export interface AnnouncerOptions {
  /** How long changes to one room are gathered before they are sent. */
  windowMs: number;
  /** Ids per list in one frame: a fuller batch is sent at once (and the window starts again). */
  maxIds: number;
  /** Sends a batch to the room's members as they are now. */
  deliver(room: RoomKey, batch: AnnouncementBatch): void;
  /** Runs `fn` after `ms` (setTimeout, or a test's hand-driven clock). */
  schedule(fn: () => void, ms: number): { cancel(): void };
}

export class Announcer {
  private readonly pending = new Map<RoomKey, { changes: Map<NodeId, Change>; timer: { cancel(): void } }>();

  constructor(private readonly options: AnnouncerOptions) {}

  joined(room: RoomKey, id: NodeId): void {
    const changes = this.changesFor(room);
    const before = changes.get(id);
    // left then joined again inside one window: members must drop the old link and meet the new one.
    changes.set(id, before === 'left' ? 'left-and-joined' : 'joined');
    this.flushIfFull(room, changes);
  }

  left(room: RoomKey, id: NodeId): void {
    const changes = this.changesFor(room);
    // Joined and gone inside one window: announced as gone only. Members may know it anyway
    // (it was in their join sample, or signalled them), and must drop what they started.
    changes.set(id, 'left');
    this.flushIfFull(room, changes);
  }

  /** Sends every pending batch now (the server is closing). */
  flushAll(): void {
    for (const room of [...this.pending.keys()]) this.flush(room);
  }

  private changesFor(room: RoomKey): Map<NodeId, Change> {
    const entry = this.pending.get(room);
    if (entry) return entry.changes;
    const changes = new Map<NodeId, Change>();
    this.pending.set(room, { changes, timer: this.options.schedule(() => this.flush(room), this.options.windowMs) });
    return changes;
  }

  private flushIfFull(room: RoomKey, changes: Map<NodeId, Change>): void {
    // Each id adds at most one entry to each list, so the map's size bounds both lists.
    if (changes.size >= this.options.maxIds) this.flush(room);
  }

  private flush(room: RoomKey): void {
    const entry = this.pending.get(room);
    if (!entry) return;
    this.pending.delete(room);
    entry.timer.cancel();
    const batch: AnnouncementBatch = { left: [], joined: [] };
    for (const [id, change] of entry.changes) {
      if (change !== 'joined') batch.left.push(id);
      if (change !== 'left') batch.joined.push(id);
    }
    if (batch.left.length > 0 || batch.joined.length > 0) this.options.deliver(room, batch);
  }
}
