// How far the group has certainly got, as a replica sees it: from the progress other replicas
// report in their status messages and from quorum certificates. A replica whose request timer
// runs out while the group is ahead of it is catching up (after a restart, a reload, a slow
// moment), not waiting on a faulty primary; starting a view change then would take it alone into
// a view the others never join, and it could not come back (returning to a lower view is unsafe).
import type { Millis, NodeId } from '../types.ts';

export class GroupProgress {
  private readonly reports = new Map<NodeId, { executed: number; at: Millis }>();
  /** Highest sequence number a checked quorum certificate (a stable checkpoint) reached. */
  private certified = 0;

  /** A replica of the current epoch says it executed through `executed`. */
  report(replica: NodeId, executed: number, now: Millis): void {
    this.reports.set(replica, { executed, at: now });
  }

  /** A quorum certified the state after `seq`: q replicas executed that far. */
  certifiedThrough(seq: number): void {
    this.certified = Math.max(this.certified, seq);
  }

  /**
   * A sequence number the group has executed through for sure: a quorum certificate's, or the
   * (f+1)-th highest of the recent reports of `replicas` (at least one honest replica is there;
   * f lying replicas cannot raise it).
   */
  executedAtLeast(replicas: readonly NodeId[], f: number, now: Millis, freshMs: Millis): number {
    const recent: number[] = [];
    for (const replica of replicas) {
      const r = this.reports.get(replica);
      if (r && now - r.at <= freshMs) recent.push(r.executed);
    }
    recent.sort((a, b) => b - a);
    return Math.max(this.certified, recent[f] ?? 0);
  }

  /** The replica set changed: reports of the old one no longer count (certificates still do). */
  resetReports(): void {
    this.reports.clear();
  }
}
