// Checkpoint votes above the stable checkpoint, until q matching ones make a checkpoint stable
// (the paper's stable-checkpoint certificate). Votes are bounded per signer, so a replica that
// floods checkpoints for far-away sequence numbers only ever displaces its own votes.
import type { NodeId } from '../types.ts';
import { maxCheckpointVotesPerSigner } from './constants.ts';
import type { CheckpointBody, Signed } from './messages.ts';
import type { ReplicaConfig } from './quorum.ts';

export type AddVote = 'added' | 'duplicate' | 'conflict';

export class CheckpointVotes {
  /** seq → signer → vote. */
  private readonly bySeq = new Map<number, Map<NodeId, Signed<CheckpointBody>>>();
  private readonly seqsBySigner = new Map<NodeId, number[]>();

  add(vote: Signed<CheckpointBody>): AddVote {
    const seq = vote.body.seq;
    let votes = this.bySeq.get(seq);
    const existing = votes?.get(vote.signer);
    if (existing) {
      const same = existing.body.stateDigest === vote.body.stateDigest && existing.body.configDigest === vote.body.configDigest;
      return same ? 'duplicate' : 'conflict';
    }
    if (!votes) {
      votes = new Map();
      this.bySeq.set(seq, votes);
    }
    votes.set(vote.signer, vote);
    const seqs = this.seqsBySigner.get(vote.signer) ?? [];
    seqs.push(seq);
    seqs.sort((a, b) => a - b);
    while (seqs.length > maxCheckpointVotesPerSigner) {
      const dropped = seqs.shift() as number;
      const map = this.bySeq.get(dropped);
      map?.delete(vote.signer);
      if (map && map.size === 0) this.bySeq.delete(dropped);
    }
    this.seqsBySigner.set(vote.signer, seqs);
    return 'added';
  }

  /** q matching votes for `seq` from replicas of `config`, if there are that many. */
  certificate(seq: number, config: ReplicaConfig): Signed<CheckpointBody>[] | undefined {
    const votes = this.bySeq.get(seq);
    if (!votes) return undefined;
    const groups = new Map<string, Signed<CheckpointBody>[]>();
    for (const vote of votes.values()) {
      if (!config.replicas.includes(vote.signer) || vote.body.epoch !== config.epoch) continue;
      const key = `${vote.body.stateDigest}\u0000${vote.body.configDigest}`;
      const group = groups.get(key) ?? [];
      group.push(vote);
      groups.set(key, group);
    }
    for (const group of groups.values()) if (group.length >= config.q) return group.slice(0, config.q);
    return undefined;
  }

  /** Sequence numbers with votes, highest first. */
  seqs(): number[] {
    return [...this.bySeq.keys()].sort((a, b) => b - a);
  }

  /** Forgets votes at or below `seq` (they are covered by a stable checkpoint). */
  discardThrough(seq: number): void {
    for (const s of [...this.bySeq.keys()]) if (s <= seq) this.bySeq.delete(s);
    for (const [signer, seqs] of this.seqsBySigner) {
      const kept = seqs.filter((s) => s > seq);
      if (kept.length === 0) this.seqsBySigner.delete(signer);
      else this.seqsBySigner.set(signer, kept);
    }
  }

  clear(): void {
    this.bySeq.clear();
    this.seqsBySigner.clear();
  }

  size(): number {
    let total = 0;
    for (const votes of this.bySeq.values()) total += votes.size;
    return total;
  }
}
