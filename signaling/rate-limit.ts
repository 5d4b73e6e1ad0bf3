// Per-connection flood control, pure: callers pass the time in, so tests need no clock.
//
// A token bucket admits frames (a sustained rate plus a burst); a leaky counter of strikes
// decides when a connection that keeps misbehaving should simply be closed.

export interface TokenBucketConfig {
  /** Tokens added per second (sustained frames per second). */
  ratePerS: number;
  /** The most tokens the bucket holds (the largest burst admitted at once). */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly config: TokenBucketConfig,
    nowMs: number,
  ) {
    if (!(config.ratePerS > 0) || !(config.burst >= 1)) {
      throw new RangeError(`a token bucket needs ratePerS > 0 and burst ≥ 1, got ${config.ratePerS}/${config.burst}`);
    }
    this.tokens = config.burst;
    this.lastMs = nowMs;
  }

  /**
   * Takes `amount` tokens (one frame, or a frame's bytes) if there are that many; false means
   * over the limit, and nothing is taken. An amount above the burst is charged as the burst,
   * so it passes only from a full bucket.
   */
  tryTake(nowMs: number, amount = 1): boolean {
    this.refill(nowMs);
    const cost = Math.min(amount, this.config.burst);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** Tokens available now (for tests and stats). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  private refill(nowMs: number): void {
    // A clock that steps backwards refills nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.tokens = Math.min(this.config.burst, this.tokens + (elapsedMs * this.config.ratePerS) / 1000);
  }
}

export interface StrikeCounterConfig {
  /** Strikes forgiven per second. */
  leakPerS: number;
  /** More than this many strikes outstanding and the connection should be closed. */
  limit: number;
}

/** A leaky bucket of refusals: bursts of mistakes are forgiven, sustained abuse is not. */
export class StrikeCounter {
  private level = 0;
  private lastMs: number;

  constructor(
    private readonly config: StrikeCounterConfig,
    nowMs: number,
  ) {
    this.lastMs = nowMs;
  }

  /** Records one strike; true when the limit is now exceeded. */
  strike(nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs, nowMs);
    this.level = Math.max(0, this.level - (elapsedMs * this.config.leakPerS) / 1000) + 1;
    return this.level > this.config.limit;
  }

  outstanding(): number {
    return this.level;
  }
}

/**
 * One token bucket per key (a client address), for limits that must outlive a connection: a
 * client cannot reset them by reconnecting. Bounded: at `maxKeys`, buckets that have refilled
 * completely (they hold no memory of anything) go first, then the oldest.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly config: TokenBucketConfig,
    private readonly maxKeys: number,
  ) {}

  /** Takes `amount` tokens (a frame, or a frame's bytes) from the key's bucket; false when over. */
  tryTake(key: string, nowMs: number, amount = 1): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evict(nowMs);
      bucket = new TokenBucket(this.config, nowMs);
      this.buckets.set(key, bucket);
    }
    return bucket.tryTake(nowMs, amount);
  }

  size(): number {
    return this.buckets.size;
  }

  private evict(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.available(nowMs) >= this.config.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}
