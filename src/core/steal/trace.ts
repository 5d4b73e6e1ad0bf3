// A bounded trace of the work-stealing hand-overs a node really sent — tasks granted to a thief,
// tasks shed to a lighter peer, results sent home — for the demo view (src/ui/demo), which
// draws them as marks moving between nodes. Pure; the ring is the consensus trace's.
import { RecordRing } from '../pbft/trace.ts';
import type { Millis, NodeId } from '../types.ts';
import type { StealMsg } from './messages.ts';

/** Hand-overs a node keeps; the oldest is overwritten first. */
export const stealTraceCapacityRecords = 256;
/** Records one read returns at most. */
export const maxStealRecordsPerRead = 48;

export const stealTracedKinds = ['steal-grant', 'shed', 'result'] as const;
export type StealTracedKind = (typeof stealTracedKinds)[number];

export interface StealTraceRecord {
  n: number;
  kind: StealTracedKind;
  from: NodeId;
  to: NodeId;
  at: Millis;
  /** Tasks handed over (1 for a result). */
  tasks: number;
}

export class StealTrace {
  private readonly ring = new RecordRing<StealTraceRecord>(stealTraceCapacityRecords);

  /** A steal frame this node sent to `to`; only hand-overs of work are kept. */
  sent(self: NodeId, to: NodeId, msg: StealMsg, at: Millis): void {
    if (msg.type === 'steal-grant' || msg.type === 'shed') {
      if (msg.tasks.length > 0) this.ring.push({ kind: msg.type, from: self, to, at, tasks: msg.tasks.length });
    } else if (msg.type === 'result') {
      this.ring.push({ kind: 'result', from: self, to, at, tasks: 1 });
    }
  }

  read(cursor: number, limit: number = maxStealRecordsPerRead): { records: StealTraceRecord[]; next: number; missed: number; restarted: boolean } {
    return this.ring.read(cursor, limit);
  }
}
