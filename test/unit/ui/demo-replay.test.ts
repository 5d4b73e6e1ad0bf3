// The demo view's replay (src/ui/demo/replay.ts): flights from real trace records, laid out so
// nothing arrives before it left even when the nodes' clocks disagree, and stretched legibly.
import { describe, expect, it } from 'vitest';
import type { TraceRecord } from '../../../src/core/pbft/trace.ts';
import { autoFactor, layOut, minFlightScreenMs, recordsOfSeq, stretch } from '../../../src/ui/demo/replay.ts';

let n = 0;
type Extra = Partial<Omit<TraceRecord, 'client'>> & { client?: string };
const rec = (dir: 'send' | 'recv', kind: TraceRecord['kind'], from: string, to: string, at: number, extra: Extra = {}): TraceRecord =>
  ({
    n: ++n,
    dir,
    kind,
    from,
    to,
    at,
    view: kind === 'request' ? null : 0,
    seq: kind === 'request' ? null : 5,
    ...extra,
  }) as TraceRecord;

/** One message, both ends: sent at `sentAt` on the sender's clock, received at `gotAt` on the receiver's. */
const msg = (kind: TraceRecord['kind'], from: string, to: string, sentAt: number, gotAt: number, extra: Extra = {}) => [
  rec('send', kind, from, to, sentAt, extra),
  rec('recv', kind, from, to, gotAt, extra),
];

describe('demo replay', () => {
  it('lays out a request across skewed clocks so that every message arrives after it left', () => {
    // Clocks: P (primary) is right; B runs 40 ms behind; C 25 ms ahead. Real flights take ~1 ms.
    const records = [
      ...msg('request', 'C', 'P', 1_025, 1_001, { client: 'C', ts: 9 }),
      ...msg('pre-prepare', 'P', 'B', 1_002, 963),
      ...msg('pre-prepare', 'P', 'C', 1_002, 1_028),
      ...msg('prepare', 'B', 'P', 964, 1_005),
      ...msg('prepare', 'B', 'C', 964, 1_030),
      ...msg('commit', 'P', 'B', 1_006, 967),
      ...msg('reply', 'P', 'C', 1_008, 1_034, { client: 'C', ts: 9 }),
    ];
    const flights = layOut(records);
    expect(flights).toHaveLength(7);
    for (const f of flights) expect(f.end).toBeGreaterThan(f.start);
    // Causality across nodes: B's prepare leaves after the pre-prepare reached B.
    const ppToB = flights.find((f) => f.kind === 'pre-prepare' && f.to === 'B')!;
    const prepareFromB = flights.find((f) => f.kind === 'prepare' && f.to === 'P')!;
    expect(prepareFromB.start).toBeGreaterThanOrEqual(ppToB.end);
    expect(flights.map((f) => f.kind)).toEqual(['request', 'pre-prepare', 'pre-prepare', 'prepare', 'prepare', 'commit', 'reply']);
    expect(flights[0]!.start).toBe(0);
  });

  it('gathers a sequence number’s request through its replies (client and request number)', () => {
    const traces = new Map<string, TraceRecord[]>([
      [
        'C',
        [
          rec('send', 'request', 'C', 'P', 1, { client: 'C', ts: 9 }),
          rec('send', 'request', 'C', 'P', 2, { client: 'C', ts: 10 }),
          rec('recv', 'reply', 'P', 'C', 9, { client: 'C', ts: 9 }),
        ],
      ],
      ['P', [rec('send', 'pre-prepare', 'P', 'B', 3), rec('send', 'commit', 'P', 'B', 5, { seq: 6 })]],
    ]);
    const kinds = recordsOfSeq(traces, 5).map((r) => `${r.kind}${r.ts ?? ''}`);
    expect(kinds.sort()).toEqual(['pre-prepare', 'reply9', 'request9']);
  });

  it('draws a message with one end missing from the typical flight time, and keeps retransmissions out', () => {
    const flights = layOut([
      ...msg('prepare', 'A', 'B', 10, 12),
      ...msg('prepare', 'B', 'A', 11, 13),
      rec('send', 'commit', 'A', 'C', 20),
      rec('send', 'commit', 'A', 'C', 40),
    ]);
    const commit = flights.find((f) => f.kind === 'commit')!;
    expect(flights.filter((f) => f.kind === 'commit')).toHaveLength(1);
    expect(commit.end - commit.start).toBe(2);
  });

  it('stretches to a few seconds on screen, within bounds, each flight long enough to see', () => {
    expect(autoFactor(7)).toBe(1_000);
    expect(autoFactor(0.01)).toBe(20_000);
    expect(autoFactor(10_000)).toBe(50);
    const screen = stretch([{ kind: 'prepare', from: 'A', to: 'B', view: 0, seq: 1, start: 1, end: 1.0001 }], 200);
    expect(screen[0]!.showAt).toBe(200);
    expect(screen[0]!.arriveAt - screen[0]!.showAt).toBe(minFlightScreenMs);
  });
});
