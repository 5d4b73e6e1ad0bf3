// The dashboard's metrics history (src/ui/metrics-history.svelte.ts) without Svelte: `$state`
// is the only rune it uses, stubbed here as the identity. Sampling is rate-limited, the ring is
// bounded, messages per second come from counter deltas, and the load plot keeps few nodes.
import { beforeAll, describe, expect, test } from 'vitest';
import type { NodeSnapshot } from '../../../src/mesh-node.ts';
import type * as HistoryModule from '../../../src/ui/metrics-history.svelte.ts';

let mod: typeof HistoryModule;

beforeAll(async () => {
  (globalThis as unknown as { $state: <T>(v: T) => T }).$state = (v) => v;
  mod = await import('../../../src/ui/metrics-history.svelte.ts');
});

function snap(i: number, peers: number, msgs: number): NodeSnapshot {
  return {
    id: 'self',
    gossip: { msgsSent: msgs, msgsReceived: 0, peerAgreement: 0.5 },
    consensus: { latencyMs: { p50: 12, p99: 40 }, throughputOpsPerSec: i, traffic: { direct: 0, routed: 0, received: 0 } },
    routing: { originated: 0, forwarded: 0, delivered: 0 },
    health: { score: 0.9 },
    compute: {
      workers: 2,
      busyWorkers: 1,
      queued: { critical: 0, high: 1, medium: 0, low: 0 },
      peers: Array.from({ length: peers }, (_, p) => ({ node: `peer-${p}`, workers: 4, running: 2, queued: 2, ageMs: 0 })),
    },
  } as unknown as NodeSnapshot;
}

describe('metrics history', () => {
  test('one sample per second at most, and messages per second from the counters', () => {
    const h = new mod.MetricsHistory();
    expect(h.record(snap(0, 0, 100), 10_000)).toBe(true);
    expect(h.record(snap(1, 0, 150), 10_400)).toBe(false);
    expect(h.record(snap(2, 0, 300), 12_000)).toBe(true);
    const [times, rates] = h.series((s) => s.msgsPerSec);
    expect(times).toEqual([10, 12]);
    expect(rates).toEqual([null, 100]);
    expect(h.series((s) => s.convergencePct)[1]).toEqual([50, 50]);
    expect(h.series((s) => s.healthPct)[1]).toEqual([90, 90]);
    expect(h.version).toBe(2);
  });

  test('the ring keeps the newest samples only, and the load plot at most maxLoadSeries nodes', () => {
    const h = new mod.MetricsHistory();
    for (let i = 0; i < mod.maxHistorySamples + 50; i++) h.record(snap(i, 12, i * 10), i * mod.sampleIntervalMs);
    expect(h.size).toBe(mod.maxHistorySamples);
    expect(h.series((s) => s.throughputOpsPerSec)[1][0]).toBe(50);
    const nodes = h.loadNodes();
    expect(nodes.length).toBe(mod.maxLoadSeries);
    const load = h.loadSeries(nodes);
    expect(load.length).toBe(nodes.length + 1);
    const selfIndex = nodes.indexOf('self');
    if (selfIndex >= 0) expect(load[selfIndex + 1]![0]).toBe(1); // (1 busy + 1 queued) / 2 workers
    expect(load[nodes.indexOf('peer-0') + 1]![0]).toBe(1); // (2 + 2) / 4
  });

  test('a counter that went down (a restarted worker) gives no negative rate; a bad clock is ignored', () => {
    const h = new mod.MetricsHistory();
    h.record(snap(0, 0, 500), 1_000);
    h.record(snap(0, 0, 10), 2_000);
    expect(h.series((s) => s.msgsPerSec)[1]).toEqual([null, null]);
    expect(h.record(snap(0, 0, 10), Number.NaN)).toBe(false);
  });
});
