// Verified mode's vote. A task with redundancy r runs as r replicas on distinct nodes; its
// result is accepted once r results from distinct nodes carry the same digest. Any result that
// disagrees with the accepted one marks its node as wrong. While no digest can still reach r
// with the replicas outstanding, more replicas are spawned (up to a cap), so a single liar
// among r = 2 is outvoted by a third node instead of stalling the task; r = 1 trusts the first.
import type { NodeId } from '../types.ts';

export interface ReplicaVote {
  node: NodeId;
  digest: string;
}

export type Verdict =
  | { kind: 'accept'; digest: string; agreeing: NodeId[]; wrong: NodeId[] }
  | { kind: 'wait' }
  | { kind: 'spawn'; count: number }
  | { kind: 'fail'; reason: string };

/**
 * @param votes results received so far, one per replica (distinct nodes)
 * @param redundancy matching results needed
 * @param outstanding replicas still out (queued, running or being retried)
 * @param replicas replicas created so far; `maxReplicas` caps it
 */
export function judge(votes: readonly ReplicaVote[], redundancy: number, outstanding: number, replicas: number, maxReplicas: number): Verdict {
  const tally = new Map<string, NodeId[]>();
  let best: string | undefined;
  for (const vote of votes) {
    const nodes = tally.get(vote.digest) ?? [];
    nodes.push(vote.node);
    tally.set(vote.digest, nodes);
    if (best === undefined || nodes.length > (tally.get(best) as NodeId[]).length) best = vote.digest;
  }
  const bestCount = best === undefined ? 0 : (tally.get(best) as NodeId[]).length;
  if (best !== undefined && bestCount >= redundancy) {
    const wrong = votes.filter((v) => v.digest !== best).map((v) => v.node);
    return { kind: 'accept', digest: best, agreeing: tally.get(best) as NodeId[], wrong };
  }
  const needed = redundancy - bestCount;
  if (outstanding >= needed) return { kind: 'wait' };
  const more = needed - outstanding;
  if (replicas + more <= maxReplicas) return { kind: 'spawn', count: more };
  return {
    kind: 'fail',
    reason: `results disagree: ${tally.size} different answers from ${votes.length} nodes, none reached ${redundancy} matching`,
  };
}
