// Quorum arithmetic for n replicas of which at most f may be Byzantine.
//
// Castro & Liskov assume n = 3f + 1 and quorums of 2f + 1. The replica set here grows one node
// at a time, so n takes every value; the quorum must be large enough that any two quorums
// share an honest replica (2q − n ≥ f + 1) and small enough that the honest replicas alone
// form one (q ≤ n − f). The smallest such q is ⌈(n + f + 1) / 2⌉, which is exactly 2f + 1
// when n = 3f + 1. Using 2f + 1 for other n would be unsafe: with n = 5, f = 1, two quorums
// of 3 may meet in a single (possibly faulty) replica.
import type { NodeId } from '../types.ts';

/** Replicas that may be faulty: f = ⌊(n − 1) / 3⌋. */
export function faultsTolerated(n: number): number {
  return n <= 0 ? 0 : Math.floor((n - 1) / 3);
}

/** Matching votes needed for prepared/committed certificates and stable checkpoints. */
export function quorumSize(n: number): number {
  const f = faultsTolerated(n);
  return Math.ceil((n + f + 1) / 2);
}

/** Matching replies a client needs: at least one of them is from an honest replica. */
export function replyQuorum(n: number): number {
  return faultsTolerated(n) + 1;
}

/** The replica set of one epoch, with its derived numbers. */
export interface ReplicaConfig {
  epoch: number;
  /** In the committed order (join order); the primary of view v is replicas[v mod n]. */
  replicas: readonly NodeId[];
  n: number;
  f: number;
  q: number;
}

export function makeConfig(epoch: number, replicas: readonly NodeId[]): ReplicaConfig {
  const n = replicas.length;
  return { epoch, replicas, n, f: faultsTolerated(n), q: quorumSize(n) };
}

export function primaryOf(config: ReplicaConfig, view: number): NodeId {
  const id = config.replicas[view % config.n];
  if (id === undefined) throw new Error(`epoch ${config.epoch} has no replicas`);
  return id;
}

export function isReplica(config: ReplicaConfig, id: NodeId): boolean {
  return config.replicas.includes(id);
}

/**
 * Whether `signed` holds at least `needed` entries from distinct members of `config` (other
 * than `exclude`) that all satisfy `matches`. Duplicates and strangers do not count.
 */
export function countDistinct<T extends { signer: NodeId }>(
  config: ReplicaConfig,
  signed: readonly T[],
  matches: (item: T) => boolean,
  exclude?: NodeId,
): number {
  const seen = new Set<NodeId>();
  for (const item of signed) {
    if (item.signer === exclude || seen.has(item.signer)) continue;
    if (!config.replicas.includes(item.signer) || !matches(item)) continue;
    seen.add(item.signer);
  }
  return seen.size;
}
