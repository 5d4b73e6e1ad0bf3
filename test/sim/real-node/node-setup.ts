// What one simulated node's edges may differ in from the defaults (RealCluster.add(setup)):
// its compute pool (none, slower, or one whose kernels lie), and a page that listens to it (an
// app's events and snapshots, as a tab's page gets them from its worker).
import type { Rng } from '../../../src/core/rng.ts';
import type { Timers } from '../../../src/worker/clock.ts';
import type { BaseSnapshot } from '../../../src/worker/snapshot.ts';
import type { ComputePoolLike } from '../../../src/worker/services/steal-pool.ts';

export interface NodeSetup {
  /** The node's compute pool, made on the node's timers and seeded stream (null: no pool at all). */
  computePool?: (timers: Timers, rng: Rng) => ComputePoolLike | null;
  /** App events the node's services post to its page (ServiceContext.publishEvent). */
  publishEvent?: (name: string, payload: unknown) => void;
  /** Snapshots the runtime posts to its page, paced as in a tab. */
  publishSnapshot?: (snapshot: BaseSnapshot & Record<string, unknown>) => void;
}
