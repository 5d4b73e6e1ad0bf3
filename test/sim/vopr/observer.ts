// The VOPR's safety checks, run throughout: every honest node's committed log is sampled each
// tick (100 virtual ms, before and after the heal) and stitched into one history per node and
// genesis (chaos/logs.ts, as the chaos run does), and every sequence number is compared across
// honest nodes as soon as two have it.
// Escaped exceptions and internal errors counted by a node are failures too: bad input must be
// refused and counted, never crash anything.
import { entryKey, mergeSample, newHistory, type LogEntryView, type LogHistory } from '../../../chaos/logs.ts';
import type { RealCluster, SimNode, Snapshot } from '../real-node/real-cluster.ts';

export interface ConsensusSample {
  status: string;
  genesis: { id: string } | null;
  view: number;
  mode: string;
  halted: string | null;
  lastCommitted: number;
  replicas: string[];
  log: LogEntryView[];
  byzantine: string | null;
}

export const consensusOf = (snapshot: Snapshot | null): ConsensusSample | null => (snapshot?.consensus as ConsensusSample | undefined) ?? null;

export class SafetyObserver {
  readonly histories = new Map<string, LogHistory>();
  /** genesis → seq → the batch's entries (as keys) first seen there, and by whom. */
  private readonly agreed = new Map<string, Map<number, { keys: string; node: string }>>();
  readonly failures: string[] = [];
  private readonly internalErrorsSeen = new Map<string, number>();
  /** Each history's last sample's newest entry: an unchanged tail is not merged again. */
  private readonly lastTail = new Map<string, string>();
  samples = 0;

  constructor(
    private readonly cluster: RealCluster,
    private readonly honest: (node: SimNode) => boolean,
  ) {}

  /** Samples every honest node that runs now; records every safety failure found. */
  sample(): void {
    for (const node of this.cluster.up()) {
      if (node.asleep) continue;
      const snapshot = this.cluster.snapshot(node);
      this.checkRejections(node, snapshot);
      if (!this.honest(node)) continue;
      const consensus = consensusOf(snapshot);
      if (!consensus?.genesis) continue;
      const genesis = consensus.genesis.id;
      const key = `${node.id}|${genesis}`;
      let history = this.histories.get(key);
      if (!history) {
        history = newHistory(node.id, genesis);
        this.histories.set(key, history);
      }
      const newest = consensus.log[consensus.log.length - 1];
      const tail = newest ? `${consensus.log.length}|${entryKey(newest)}` : '';
      if (this.lastTail.get(key) === tail) continue;
      this.lastTail.set(key, tail);
      const conflictsBefore = history.conflicts.length;
      mergeSample(history, consensus.log);
      this.samples++;
      for (const c of history.conflicts.slice(conflictsBefore)) this.fail(`${node.label}'s own log changed between samples: ${c}`);
      this.compare(node, genesis, consensus.log);
    }
  }

  private compare(node: SimNode, genesis: string, log: readonly LogEntryView[]): void {
    let bySeq = this.agreed.get(genesis);
    if (!bySeq) {
      bySeq = new Map();
      this.agreed.set(genesis, bySeq);
    }
    const batches = new Map<number, string[]>();
    for (const e of log) batches.set(e.seq, [...(batches.get(e.seq) ?? []), entryKey(e)]);
    // The oldest batch of a full tail may be cut: compare only from the second one on.
    const seqs = [...batches.keys()].sort((a, b) => a - b);
    for (const seq of log.length >= 64 ? seqs.slice(1) : seqs) {
      const keys = (batches.get(seq) as string[]).join(' ; ');
      const first = bySeq.get(seq);
      if (!first) bySeq.set(seq, { keys, node: node.label });
      else if (first.keys !== keys)
        this.fail(
          `honest logs differ at seq ${seq} (genesis ${genesis.slice(0, 8)}): ${first.node} has [${first.keys.slice(0, 200)}], ${node.label} has [${keys.slice(0, 200)}]`,
        );
    }
  }

  private checkRejections(node: SimNode, snapshot: Snapshot | null): void {
    const rejected = { ...(snapshot?.rejected ?? {}), ...(consensusOf(snapshot) as { rejected?: Record<string, number> } | null)?.rejected };
    for (const [reason, count] of Object.entries(rejected)) {
      if (!/internal error|failed:/i.test(reason)) continue;
      const key = `${node.label}|${reason}`;
      if ((this.internalErrorsSeen.get(key) ?? 0) >= count) continue;
      this.internalErrorsSeen.set(key, count);
      this.fail(`${node.label} counted an internal error: ${reason} (${count}×)`);
    }
  }

  fail(message: string): void {
    if (this.failures.length < 200) this.failures.push(`[${(this.cluster.now / 1000).toFixed(1)} s] ${message}`);
  }
}
