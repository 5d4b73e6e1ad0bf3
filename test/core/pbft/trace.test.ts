// The demo's message trace (src/core/pbft/trace.ts): what it keeps, and that it stays bounded
// however much traffic passes and however a reader's cursor is off.
import { describe, expect, it } from 'vitest';
import { maxTraceRecordsPerRead, PbftTrace, traceCapacityRecords, traceFields } from '../../../src/core/pbft/trace.ts';
import type { PbftMessage } from '../../../src/core/pbft/messages.ts';
import type { NodeId } from '../../../src/core/types.ts';

const a = 'node-a' as NodeId;
const b = 'node-b' as NodeId;
const c = 'node-c' as NodeId;

const vote = (type: 'pre-prepare' | 'prepare' | 'commit', seq: number, view = 0): PbftMessage =>
  ({ body: { type, epoch: 1, view, seq, digest: 'd' }, signer: a, sig: 's' }) as PbftMessage;
const request = (ts: number): PbftMessage =>
  ({ body: { type: 'request', client: a, ts, op: { kind: 'noop' } }, signer: a, sig: 's' }) as unknown as PbftMessage;
const status = (): PbftMessage => ({ body: { type: 'status', epoch: 1, view: 0, stable: 0, executed: 0 }, signer: a, sig: 's' }) as unknown as PbftMessage;

describe('PbftTrace', () => {
  it('keeps kind, view, seq and ends of each message; one record per addressee, none to itself', () => {
    const trace = new PbftTrace();
    trace.sent(a, [a, b, c], vote('pre-prepare', 7, 2), 100);
    trace.received(a, b, vote('prepare', 7, 2), 105);
    trace.sent(a, [b], request(3), 90);
    const { records } = trace.read(0);
    expect(records.map((r) => `${r.dir} ${r.kind} ${r.from}→${r.to} v${r.view} #${r.seq}`)).toEqual([
      'send pre-prepare node-a→node-b v2 #7',
      'send pre-prepare node-a→node-c v2 #7',
      'recv prepare node-b→node-a v2 #7',
      'send request node-a→node-b vnull #null',
    ]);
    expect(records[3]).toMatchObject({ client: a, ts: 3, at: 90 });
  });

  it('leaves out what a viewer does not watch (status, proofs, state)', () => {
    expect(traceFields(status())).toBeNull();
    const trace = new PbftTrace();
    trace.received(a, b, status(), 1);
    expect(trace.size).toBe(0);
  });

  it('never holds more than its capacity, and a read returns at most its limit', () => {
    const trace = new PbftTrace(8);
    for (let i = 1; i <= 100; i++) trace.sent(a, [b], vote('commit', i), i);
    expect(trace.size).toBe(100);
    const all = trace.read(0, 1_000);
    expect(all.records.map((r) => r.seq)).toEqual([93, 94, 95, 96, 97, 98, 99, 100]);
    const some = trace.read(0, 3);
    expect(some.records).toHaveLength(3);
    expect(trace.read(some.next, 3).records.map((r) => r.seq)).toEqual([96, 97, 98]);
    // The default trace and read limits: the capacity is kept, a read stays small.
    const big = new PbftTrace();
    for (let i = 0; i < traceCapacityRecords * 3; i++) big.sent(a, [b], vote('prepare', i), i);
    expect(big.read(0, Number.MAX_SAFE_INTEGER).records).toHaveLength(traceCapacityRecords);
    expect(big.read(0).records).toHaveLength(maxTraceRecordsPerRead);
  });

  it('tells a slow reader how many it missed, and a reader from before a restart that it restarted', () => {
    const trace = new PbftTrace(10);
    for (let i = 1; i <= 5; i++) trace.sent(a, [b], vote('commit', i), i);
    const first = trace.read(0);
    expect(first).toMatchObject({ next: 5, missed: 0, restarted: false });
    for (let i = 6; i <= 30; i++) trace.sent(a, [b], vote('commit', i), i);
    const late = trace.read(first.next);
    expect(late.missed).toBe(15);
    expect(late.records[0]?.seq).toBe(21);
    // Caught up: nothing new, the cursor stays.
    expect(trace.read(30)).toMatchObject({ records: [], next: 30, missed: 0 });
    // A cursor beyond the trace (the node's worker restarted): from the start again.
    const fresh = new PbftTrace(10);
    fresh.sent(a, [b], vote('commit', 1), 1);
    expect(fresh.read(30)).toMatchObject({ restarted: true, next: 1 });
    expect(fresh.read(30).records).toHaveLength(1);
  });

  it('refuses a capacity that is not a positive whole number', () => {
    expect(() => new PbftTrace(0)).toThrow(/positive/);
  });
});
