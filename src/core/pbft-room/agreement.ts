// The genesis a node follows, decided (genesis.ts says why and how the room agrees). Pure and
// synchronous: the service feeds it what the server, gossip and its storage say, does what it
// returns (found, adopt, write the record to gossip memory) and asks it whether proposals may
// go to the core yet. All its times are the node's monotonic clock.
import type { Millis, NodeId } from '../types.ts';
import { FoundingWatch, type MemberLiveness } from './founding.ts';
import { compareGenesis, genesisId, genesisSettleMs, type GenesisRecord } from './genesis.ts';

/** Our genesis record is written to gossip memory at most this often. */
export const genesisAssertIntervalMs: Millis = 1_000;

export type GenesisAction =
  /** Keep waiting for the room's genesis (why: for the snapshot and the simulator). */
  | { kind: 'wait'; why: string }
  /** Found a genesis with this node as the only replica. */
  | { kind: 'found' }
  /** Start over under this (better) genesis. */
  | { kind: 'adopt'; record: GenesisRecord }
  /** Write our record to gossip memory (it holds none, or a worse one). */
  | { kind: 'assert' }
  | { kind: 'keep' };

export class GenesisAgreement {
  readonly founding: FoundingWatch;
  private following: GenesisRecord | null = null;
  private followingId: string | null = null;
  /** When this node took up the genesis it follows, in this life. */
  private followedAt: Millis = 0;
  private lastAssertAt: Millis = -Infinity;

  /** `mayFound`: false for a node that only watches (it never founds, it only adopts). */
  constructor(
    self: NodeId,
    private readonly mayFound = true,
  ) {
    this.founding = new FoundingWatch(self);
  }

  /** The node now follows `record` (founded, adopted, or restored from storage). */
  follow(record: GenesisRecord, now: Millis): void {
    this.following = record;
    this.followingId = genesisId(record);
    this.followedAt = now;
  }

  signaling(joined: boolean, now: Millis): void {
    this.founding.signaling(joined, now);
  }

  introduced(peer: NodeId, now: Millis): void {
    this.founding.introduced(peer, now);
  }

  leftRoom(peer: NodeId, now: Millis): void {
    this.founding.leftRoom(peer, now);
  }

  links(any: boolean, now: Millis): void {
    this.founding.links(any, now);
  }

  sample(partial: boolean, now: Millis): void {
    this.founding.sample(partial, now);
  }

  member(peer: NodeId, status: MemberLiveness, now: Millis): void {
    this.founding.member(peer, status, now);
  }

  /**
   * What to do, given the record in gossip memory (decoded, of this room, with a good signature;
   * else null). A better record is adopted; a worse one, or none, is overwritten with ours.
   */
  decide(inMemory: GenesisRecord | null, now: Millis): GenesisAction {
    const following = this.following;
    if (!following) {
      if (inMemory) return { kind: 'adopt', record: inMemory };
      if (!this.mayFound) return { kind: 'wait', why: 'this node only watches' };
      const verdict = this.founding.verdict(now);
      return verdict.ok ? { kind: 'found' } : { kind: 'wait', why: verdict.why };
    }
    if (!inMemory) return { kind: 'assert' };
    const order = compareGenesis(inMemory, following);
    if (order < 0) return { kind: 'adopt', record: inMemory };
    if (order > 0) return { kind: 'assert' };
    return genesisId(inMemory) === this.followingId ? { kind: 'keep' } : { kind: 'assert' };
  }

  /** Whether our record should be written to gossip memory now (paced); marks it written. */
  assertDue(now: Millis): boolean {
    if (!this.following || now - this.lastAssertAt < genesisAssertIntervalMs) return false;
    this.lastAssertAt = now;
    return true;
  }

  /**
   * Whether proposals may go to the core: this node has followed its genesis for
   * genesisSettleMs in this life. Counted on the monotonic clock from when it took the genesis
   * up (or restarted under it), never from the founder's wall-clock date — a clock that jumps
   * would let a racing genesis commit and then be dropped (VOPR seed 20).
   */
  settled(now: Millis): boolean {
    return this.following !== null && now >= this.followedAt + genesisSettleMs;
  }
}
