// The three phases of the newest sequence numbers, replica by replica, as this node saw them,
// built from the core's `phase` and `executed` UI events. The core's own slot view would do
// while a number is in flight, but a checkpoint discards the slots below it at once, often
// before anyone has looked; this board keeps the newest few, executed ones included, so a
// person can watch their proposal go through pre-prepare, prepare and commit.
import type { PbftUiEvent } from '../../core/pbft/index.ts';
import type { ConsensusPhaseView } from './pbft-snapshot.ts';

/** Sequence numbers kept; the oldest goes first. */
export const phaseRowsKept = 8;

type PhaseEvent = Extract<PbftUiEvent, { type: 'phase' }>;
type ExecutedEvent = Extract<PbftUiEvent, { type: 'executed' }>;

export class PhaseBoard {
  private readonly rows = new Map<number, ConsensusPhaseView>();

  phase(e: PhaseEvent): void {
    let row = this.row(e.seq);
    if (!row) return;
    if (e.view > row.view) {
      // Ordered again in a later view (after a view change): the votes start over.
      row = this.fresh(e.seq, e.view);
      this.rows.set(e.seq, row);
    } else if (e.view < row.view) {
      return;
    }
    switch (e.phase) {
      case 'pre-prepare':
        row.prePrepared = true;
        break;
      case 'prepare':
        if (!row.prepares.includes(e.replica)) row.prepares.push(e.replica);
        break;
      case 'commit':
        if (!row.commits.includes(e.replica)) row.commits.push(e.replica);
        break;
      case 'prepared':
        row.prepared = true;
        break;
      case 'committed':
        row.committed = true;
        break;
    }
  }

  executed(e: ExecutedEvent): void {
    const row = this.row(e.seq);
    if (!row) return;
    row.executed = true;
    row.committed = true;
    row.digest = e.digest;
    row.requests = e.requests;
  }

  /** Oldest first, as plain copies. */
  list(): ConsensusPhaseView[] {
    return [...this.rows.values()].sort((a, b) => a.seq - b.seq).map((r) => ({ ...r, prepares: [...r.prepares], commits: [...r.commits] }));
  }

  clear(): void {
    this.rows.clear();
  }

  /** The row of `seq`, made if it is new enough to be kept; undefined for one older than all kept. */
  private row(seq: number): ConsensusPhaseView | undefined {
    const known = this.rows.get(seq);
    if (known) return known;
    if (this.rows.size >= phaseRowsKept) {
      const oldest = Math.min(...this.rows.keys());
      if (seq < oldest) return undefined;
      this.rows.delete(oldest);
    }
    const row = this.fresh(seq, 0);
    this.rows.set(seq, row);
    return row;
  }

  private fresh(seq: number, view: number): ConsensusPhaseView {
    return { seq, view, digest: null, requests: 0, prePrepared: false, prepares: [], commits: [], prepared: false, committed: false, executed: false };
  }
}
