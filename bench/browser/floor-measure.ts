// The floor: RTT and bulk throughput of a bare simple-peer data channel between two tabs, one
// in each browser process. The harness relays the signals itself (no signaling server).
import type { Page } from 'playwright-core';
import { percentile } from '../report.ts';
import { floorPath, waitFor, type BenchRig } from './launch.ts';

export interface FloorFigures {
  /** Median round trip of a 16-byte message, ms. */
  rttMs: number;
  /** Bulk throughput, 10⁶ bytes per second. */
  mbPerS: number;
}

/** How long the two floor pages may take to connect. */
const connectTimeoutMs = 20_000;

export async function measureFloor(rig: BenchRig, quick: boolean): Promise<FloorFigures> {
  const pages: Page[] = [];
  try {
    for (const user of rig.users) {
      const page = await user.newPage();
      pages.push(page);
    }
    const [a, b] = pages as [Page, Page];
    // Each page's signals go straight to the other page.
    await a.exposeFunction('benchFloorSignal', (data: unknown) => b.evaluate((d) => window.benchFloor.signal(d), data).catch(() => {}));
    await b.exposeFunction('benchFloorSignal', (data: unknown) => a.evaluate((d) => window.benchFloor.signal(d), data).catch(() => {}));
    await Promise.all(pages.map((p) => p.goto(new URL(floorPath, rig.url).href)));
    await waitFor(() => b.evaluate(() => (window.benchFloor ? true : undefined)), 'the floor page loaded', connectTimeoutMs);
    await b.evaluate(() => window.benchFloor.start(false));
    await a.evaluate(() => window.benchFloor.start(true));
    await waitFor(
      async () => ((await a.evaluate(() => window.benchFloor.connected())) && (await b.evaluate(() => window.benchFloor.connected())) ? true : undefined),
      'the floor channel connected',
      connectTimeoutMs,
    );
    // Warm-up, then the measured rounds.
    await a.evaluate(() => window.benchFloor.pingRounds(20));
    const rtts = await a.evaluate((n) => window.benchFloor.pingRounds(n), quick ? 100 : 500);
    const bytes = quick ? 8e6 : 64e6;
    const mbPerS = await a.evaluate((n) => window.benchFloor.bulk(n), bytes);
    return { rttMs: percentile(rtts, 50) as number, mbPerS };
  } finally {
    await Promise.all(pages.map((p) => p.close().catch(() => {})));
  }
}
