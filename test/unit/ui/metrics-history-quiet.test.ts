// Quiet samples of the metrics history (a hidden tab): kept without waking the charts, and shown
// in one redraw when the tab comes back; samples a few ms early are not lost to the rate limit.
import { beforeAll, expect, test } from 'vitest';
import type { NodeSnapshot } from '../../../src/mesh-node.ts';
import type * as HistoryModule from '../../../src/ui/metrics-history.svelte.ts';

let mod: typeof HistoryModule;

beforeAll(async () => {
  (globalThis as unknown as { $state: <T>(v: T) => T }).$state = (v) => v;
  mod = await import('../../../src/ui/metrics-history.svelte.ts');
});

const snap = (score: number) => ({ id: 'self', health: { score } }) as unknown as NodeSnapshot;

test('quiet samples are kept but wake the charts only on touch()', () => {
  const h = new mod.MetricsHistory();
  expect(h.record(snap(0.5), 1_000)).toBe(true);
  expect(h.version).toBe(1);
  expect(h.record(snap(0.6), 2_000, { redraw: false })).toBe(true);
  expect(h.record(snap(0.7), 3_000, { redraw: false })).toBe(true);
  expect(h.version).toBe(1);
  expect(h.size).toBe(3);
  h.touch();
  expect(h.version).toBe(2);
  h.touch();
  expect(h.version).toBe(2);
  expect(h.series((s) => s.healthPct)[1].map((v) => Math.round(v ?? -1))).toEqual([50, 60, 70]);
  expect(h.lastSampleAt).toBe(3_000);
});

test('a sample slightly early (clock jitter) is taken; one well inside the interval is not', () => {
  const h = new mod.MetricsHistory();
  h.record(snap(0.5), 10_000);
  expect(h.record(snap(0.5), 10_000 + mod.sampleIntervalMs - mod.sampleSlackMs + 1)).toBe(true);
  expect(h.record(snap(0.5), 10_000 + mod.sampleIntervalMs + 300)).toBe(false);
});
