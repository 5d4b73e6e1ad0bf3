// Eager push of fresh writes: the first delivery of a memory write, not anti-entropy's job.
//
// A write made here, or one that reaches us for the first time while still fresh, is queued
// and flooded to every direct link (but the one it came from) at the next flush: the core asks
// to be woken at once while the queue is not empty, so the writes of one burst (one turn of
// the worker's event loop) leave together, a few frames per link instead of one per write.
// Duplicates stop by themselves: a node forwards only writes that were news to it (the LWW
// store says 'new'), so each write crosses each link about once. Plumtree would prune the
// flood to a tree; on the overlay's 3–6 links per node the flood costs little more and needs no
// tree repair. Anti-entropy (push-pull digests) still repairs whatever a flood misses.
//
// Throttle: each origin may have `eagerRatePerSec` of its writes pushed eagerly (a token bucket
// of `eagerBurst`), at its own node and at every relay. A flood of valid writes from one node
// then cannot crowd out other nodes' writes (each origin has its own bucket) nor keep the worker
// busy relaying for consensus to starve: writes beyond the budget are still stored and still
// reach everyone, but through anti-entropy (bounded per cycle), not at once. The writer is not
// refused; snapshot().gossip.eagerThrottled counts what was held back.
import type { Millis, NodeId } from '../types.ts';
import type { WireEntry } from './messages.ts';

/** Writes per second each origin may have pushed eagerly (the sustained rate of its bucket). */
export const eagerRatePerSec = 2_000;
/** Bucket size: a burst of this many writes from one origin travels eagerly at once. */
export const eagerBurst = 4_000;
/** Most writes waiting for the next flush; beyond it they are left to anti-entropy (counted). */
export const maxEagerQueued = 8_192;
/** Most origins with a bucket; idle (full) buckets are forgotten first when more appear. */
export const maxEagerOrigins = 4_096;

interface Bucket {
  tokens: number;
  at: Millis;
}

export interface QueuedWrite {
  wire: WireEntry;
  /** The link it came over (not sent back there); undefined for our own writes. */
  from: NodeId | undefined;
  bytes: number;
}

export class EagerPush {
  private readonly buckets = new Map<NodeId, Bucket>();
  private queue: QueuedWrite[] = [];
  private queuedBytes = 0;
  readonly stats = { queued: 0, throttled: 0, dropped: 0, frames: 0 };

  get pending(): boolean {
    return this.queue.length > 0;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Queues `wire` for the next flush if its origin has budget left; false when throttled. */
  offer(wire: WireEntry, from: NodeId | undefined, bytes: number, now: Millis): boolean {
    if (!this.take(wire.o, now)) {
      this.stats.throttled++;
      return false;
    }
    if (this.queue.length >= maxEagerQueued) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push({ wire, from, bytes });
    this.queuedBytes += bytes;
    this.stats.queued++;
    return true;
  }

  /** Everything queued, oldest first; the queue is empty afterwards. */
  drain(): QueuedWrite[] {
    const out = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return out;
  }

  private take(origin: NodeId, now: Millis): boolean {
    let bucket = this.buckets.get(origin);
    if (!bucket) {
      if (this.buckets.size >= maxEagerOrigins) this.forgetIdle(now);
      if (this.buckets.size >= maxEagerOrigins) return false;
      bucket = { tokens: eagerBurst, at: now };
      this.buckets.set(origin, bucket);
    }
    bucket.tokens = Math.min(eagerBurst, bucket.tokens + ((now - bucket.at) * eagerRatePerSec) / 1_000);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }

  private forgetIdle(now: Millis): void {
    for (const [origin, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) * eagerRatePerSec) / 1_000 >= eagerBurst) this.buckets.delete(origin);
    }
  }
}
