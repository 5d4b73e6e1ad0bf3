// A bounded trace of the consensus messages a node really sent and received, for the consensus
// demo view (src/ui/demo): it draws these, stretched in time, never a scripted animation.
//
// Pure and cheap: one small record per message that matters to a viewer (the normal case, view
// changes and checkpoints); status, proof, state and the like are left out. The ring keeps the
// newest `capacity` records; a reader asks for "everything after cursor n" and learns how many
// it missed when the ring moved past its cursor.
import type { Millis, NodeId } from '../types.ts';
import type { PbftMessage } from './messages.ts';

/** Records a node keeps; the oldest is overwritten first. */
export const traceCapacityRecords = 1_024;
/** Records one read returns at most (a reader pages on with `next`). */
export const maxTraceRecordsPerRead = 160;

/** The message kinds a trace keeps, in the order the normal case uses them. */
export const tracedKinds = ['request', 'pre-prepare', 'prepare', 'commit', 'reply', 'checkpoint', 'view-change', 'new-view'] as const;
export type TracedKind = (typeof tracedKinds)[number];

export interface TraceRecord {
  /** Position in this node's trace (1, 2, …); a reader's cursor. */
  n: number;
  dir: 'send' | 'recv';
  kind: TracedKind;
  /** Who signed/sent it and who it went to (for a received message: this node). */
  from: NodeId;
  to: NodeId;
  /** Wall-clock time at this node. */
  at: Millis;
  view: number | null;
  seq: number | null;
  /** Requests and replies: the client and its request number (links a request to its reply). */
  client?: NodeId;
  ts?: number;
}

export interface TraceRead {
  records: TraceRecord[];
  /** Cursor for the next read. */
  next: number;
  /** Records that were overwritten before this reader got them. */
  missed: number;
  /** The cursor was beyond this trace (the node restarted): these records start from its beginning. */
  restarted: boolean;
}

const isTraced = (kind: string): kind is TracedKind => (tracedKinds as readonly string[]).includes(kind);

/** What a trace keeps of a message, or null for kinds it leaves out. */
export function traceFields(msg: PbftMessage): Pick<TraceRecord, 'kind' | 'view' | 'seq' | 'client' | 'ts'> | null {
  const body = msg.body;
  if (!isTraced(body.type)) return null;
  switch (body.type) {
    case 'request':
      return { kind: 'request', view: null, seq: null, client: body.client, ts: body.ts };
    case 'reply':
      return { kind: 'reply', view: body.view, seq: body.seq, client: body.to, ts: body.ts };
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
      return { kind: body.type, view: body.view, seq: body.seq };
    case 'checkpoint':
      return { kind: 'checkpoint', view: null, seq: body.seq };
    case 'view-change':
    case 'new-view':
      return { kind: body.type, view: body.view, seq: null };
    default:
      return null;
  }
}

/**
 * The bounded ring both traces use (consensus here, work stealing in ../steal/trace.ts): the
 * newest `capacity` records, each numbered; a reader pages on with a cursor.
 */
export class RecordRing<R extends { n: number }> {
  private readonly ring: R[] = [];
  private written = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('trace capacity must be a positive whole number');
  }

  /** Records after cursor `after` (0: from the oldest kept), at most `limit`. */
  read(cursor: number, limit: number): { records: R[]; next: number; missed: number; restarted: boolean } {
    const restarted = cursor > this.written;
    const after = restarted ? 0 : Math.max(0, Math.floor(cursor));
    const oldest = this.written - this.ring.length + 1;
    const from = Math.max(after + 1, oldest);
    const missed = Math.max(0, oldest - (after + 1));
    const count = Math.max(0, Math.min(limit, this.written - from + 1));
    const records: R[] = [];
    for (let n = from; n < from + count; n++) records.push(this.ring[(n - 1) % this.capacity] as R);
    return { records, next: count > 0 ? from + count - 1 : this.written, missed: after === 0 ? 0 : missed, restarted };
  }

  /** Records written so far (the newest record's n). */
  get size(): number {
    return this.written;
  }

  push(record: Omit<R, 'n'>): void {
    this.written++;
    const full = { n: this.written, ...record } as R;
    if (this.ring.length < this.capacity) this.ring.push(full);
    else this.ring[(this.written - 1) % this.capacity] = full;
  }
}

export class PbftTrace {
  private readonly ring: RecordRing<TraceRecord>;

  constructor(capacity: number = traceCapacityRecords) {
    this.ring = new RecordRing(capacity);
  }

  /** A message this node sent to `to` (one record per addressee; to itself: none). */
  sent(self: NodeId, to: readonly NodeId[], msg: PbftMessage, at: Millis): void {
    const fields = traceFields(msg);
    if (!fields) return;
    for (const peer of to) if (peer !== self) this.ring.push({ ...fields, dir: 'send', from: self, to: peer, at });
  }

  /** A message that reached this node from `from` (before its signatures were checked). */
  received(self: NodeId, from: NodeId, msg: PbftMessage, at: Millis): void {
    const fields = traceFields(msg);
    if (fields && from !== self) this.ring.push({ ...fields, dir: 'recv', from, to: self, at });
  }

  /** Records after cursor `after` (0: from the oldest kept), at most `limit`. */
  read(cursor: number, limit: number = maxTraceRecordsPerRead): TraceRead {
    return this.ring.read(cursor, limit);
  }

  /** Records written so far (the newest record's n). */
  get size(): number {
    return this.ring.size;
  }
}
