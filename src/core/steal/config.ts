// Every limit and period of the stealing core, with its unit in its name. The runtime may
// override any of them (`createStealCore({ config: { … } })`); the defaults suit tabs on one
// machine or a LAN, where a round trip is tens of milliseconds and a task takes 50 ms – 10 s.

export interface StealConfig {
  /** Fraction of busy workers above which a node with a backlog sheds work (0–1). */
  shedBusyThreshold: number;
  /** A node sheds only when it has more than this many queued tasks per worker (0: any backlog). */
  shedBacklogPerWorker: number;
  /** At most one round of shedding per this interval, so a node does not spray work around. */
  shedIntervalMs: number;
  /** A node sheds when its load (running + queued cost, per worker; a mean task costs 1) exceeds the mesh average by this much. */
  shedLoadMargin: number;
  /** Peers one round of shedding spreads the excess over (the lightest first). */
  maxShedTargets: number;
  /** Tasks that arrived less than this long ago are not shed again (no bouncing). */
  shedCooldownMs: number;
  /** Work handed to a peer counts as its load for this long, until its own adverts show it. */
  inFlightMemoryMs: number;

  /** A node keeps this many queued tasks per worker ready; below it, it steals (prefetch). */
  stealLowWaterPerWorker: number;
  /** A steal request unanswered after this long is given up and another victim tried. */
  stealTimeoutMs: number;
  /** After finding no victim with work, wait this long before looking again (a fresh advert of work cuts the wait short). */
  stealIdleRetryMs: number;
  /** Most tasks one steal may take (the victim gives half its stealable queue, at most this). */
  maxStealBatch: number;
  /** Most tasks in one shed. */
  maxShedBatch: number;
  /** A task that has moved this many times stays where it is (no ping-pong). */
  maxHops: number;

  /** A holder that has not renewed a task's lease for this long is presumed gone; the home requeues. */
  leaseMs: number;
  /** Holders renew every lease they hold this often (well inside `leaseMs`). */
  leaseRenewIntervalMs: number;
  /** The home looks for expired leases this often. */
  leaseCheckIntervalMs: number;

  /** Failed attempts (kernel error, bad result) before a task, and so its job, is failed. */
  maxAttempts: number;
  /** Lost holders (lease expiries) before a task is failed: it may be what kills its holders. */
  maxLeaseLosses: number;
  /** First retry delay after a failed attempt; doubles per failure. */
  retryBaseMs: number;
  /** Retry delay never exceeds this. */
  retryMaxMs: number;

  /** Redundancy accepted from submitters: 1 (trust) up to this (verified). */
  maxRedundancy: number;
  /** Extra replicas a disputed task may spawn to settle a disagreement, beyond its redundancy. */
  maxExtraReplicas: number;

  /** Load adverts older than this are ignored when choosing victims or shed targets. */
  advertMaxAgeMs: number;
  /**
   * The node re-advertises its load at least this often, even unchanged: only so an unchanged
   * load does not age out (changes go out within advertMinIntervalMs). Each refresh is one
   * message per link, so at rest it is kept to two per advertMaxAgeMs.
   */
  advertRefreshMs: number;
  /** …and at most this often when it changes (adverts travel by gossip: keep it calm; steal messages carry fresher ones). */
  advertMinIntervalMs: number;

  /** Tasks a node holds in its queues at most (own and others'); beyond, submits and sheds are refused. */
  maxQueuedTasks: number;
  /** Jobs a home tracks at once (running ones; finished ones are kept up to `maxFinishedJobs`). */
  maxActiveJobs: number;
  /** Finished jobs kept (with results) until the oldest is dropped. */
  maxFinishedJobs: number;
  /** Other homes' jobs this node remembers for its view (those it holds or held tasks of). */
  maxForeignJobs: number;
  /** A foreign job with no task here for this long is forgotten (unless orphaned). */
  foreignJobTtlMs: number;
  /** Tasks of a dead home's jobs kept aside in case the home comes back. */
  maxParkedTasks: number;
  /** Peers remembered (adverts); the stalest is forgotten first. */
  maxPeers: number;

  /** Largest task parameters, in UTF-8 bytes of their JSON. */
  maxTaskParamsBytes: number;
  /** Largest result the core accepts for any kind (a kind may set a lower limit). */
  maxResultBytes: number;
  /** Budget for the tasks in one steal grant or shed, in bytes of their parameters. */
  maxBatchBytes: number;
}

export const defaultStealConfig: Readonly<StealConfig> = Object.freeze({
  shedBusyThreshold: 0.8,
  shedBacklogPerWorker: 0,
  shedIntervalMs: 500,
  shedLoadMargin: 1,
  maxShedTargets: 3,
  inFlightMemoryMs: 1_000,
  shedCooldownMs: 3_000,

  stealLowWaterPerWorker: 1,
  stealTimeoutMs: 1_000,
  stealIdleRetryMs: 1_000,
  maxStealBatch: 64,
  maxShedBatch: 32,
  maxHops: 16,

  leaseMs: 10_000,
  leaseRenewIntervalMs: 2_500,
  leaseCheckIntervalMs: 1_000,

  maxAttempts: 4,
  maxLeaseLosses: 12,
  retryBaseMs: 500,
  retryMaxMs: 30_000,

  maxRedundancy: 3,
  maxExtraReplicas: 2,

  advertMaxAgeMs: 10_000,
  advertRefreshMs: 5_000,
  advertMinIntervalMs: 500,

  maxQueuedTasks: 20_000,
  maxActiveJobs: 64,
  maxFinishedJobs: 32,
  maxForeignJobs: 256,
  foreignJobTtlMs: 60_000,
  maxParkedTasks: 5_000,
  maxPeers: 4_096,

  maxTaskParamsBytes: 4 * 1024,
  maxResultBytes: 200 * 1024,
  maxBatchBytes: 128 * 1024,
});

/** Defaults with overrides, checked: a nonsensical configuration is a bug, so it throws. */
export function resolveStealConfig(overrides: Partial<StealConfig> = {}): StealConfig {
  const config: StealConfig = { ...defaultStealConfig, ...overrides };
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new Error(`steal config ${key} must be a finite number ≥ 0, got ${String(value)}`);
  }
  if (config.shedBusyThreshold > 1) throw new Error('steal config shedBusyThreshold is a fraction (0–1)');
  if (config.leaseRenewIntervalMs >= config.leaseMs) throw new Error('steal config leaseRenewIntervalMs must be shorter than leaseMs');
  if (config.maxAttempts < 1 || config.maxRedundancy < 1 || config.maxStealBatch < 1)
    throw new Error('steal config maxAttempts, maxRedundancy and maxStealBatch must be ≥ 1');
  return config;
}
