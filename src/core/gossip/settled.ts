// How many contacts an anti-entropy cycle syncs with. Profiles of an idle room (docs/benchmarks.md
// "Idle cost, profiled") showed a push-pull sync with `fanout` (3) contacts every 2 s as the
// largest kind of frame a tab receives, although fresh writes now travel by eager push
// (eager.ts) and anti-entropy is repair. So while this node's memory and member list stand
// still and the syncs it hears agree with it, a cycle syncs with one contact; any change here,
// any disagreement heard (a sync whose fingerprint differs, a reply that carries entries or
// asks for some) restores the full fanout for a few cycles. A difference between two nodes is
// still found: each of them syncs every cycle, and the one that hears of it widens at once.

/** Contacts per cycle while settled. */
export const settledFanout = 1;
/** Cycles without change or disagreement before the fanout narrows. */
export const settleCycles = 3;

export class SettleWatch {
  private unsettledAt: number;
  private fingerprint: number | null = null;
  private membersHash: number | null = null;

  constructor(now: number) {
    this.unsettledAt = now;
  }

  /** Something differs between us and a peer, or changed here: full fanout for settleCycles. */
  unsettle(now: number): void {
    this.unsettledAt = now;
  }

  /** The fanout for the cycle at `now`, given the memory's fingerprint and the member list's hash now. */
  fanout(now: number, fingerprint: number, membersHash: number, fullFanout: number, cycleMs: number): number {
    if (fingerprint !== this.fingerprint || membersHash !== this.membersHash) {
      this.fingerprint = fingerprint;
      this.membersHash = membersHash;
      this.unsettledAt = now;
    }
    return now - this.unsettledAt >= settleCycles * cycleMs ? Math.min(settledFanout, fullFanout) : fullFanout;
  }
}
