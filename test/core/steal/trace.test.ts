// The work-stealing trace (src/core/steal/trace.ts): it keeps hand-overs of work only, bounded.
import { describe, expect, it } from 'vitest';
import { maxStealRecordsPerRead, StealTrace, stealTraceCapacityRecords } from '../../../src/core/steal/trace.ts';
import type { StealMsg } from '../../../src/core/steal/messages.ts';
import type { NodeId } from '../../../src/core/types.ts';

const a = 'node-a' as NodeId;
const b = 'node-b' as NodeId;
const grant = (tasks: number) => ({ type: 'steal-grant', reqId: 'r', tasks: Array.from({ length: tasks }, () => ({})), load: {} }) as unknown as StealMsg;

describe('StealTrace', () => {
  it('keeps grants, sheds and results with their task counts, nothing else', () => {
    const trace = new StealTrace();
    trace.sent(a, b, grant(5), 10);
    trace.sent(a, b, grant(0), 11);
    trace.sent(a, b, { type: 'load', load: {} } as unknown as StealMsg, 12);
    trace.sent(b, a, { type: 'result', ref: {}, outcome: { ok: true, value: 1 } } as unknown as StealMsg, 13);
    expect(trace.read(0).records.map((r) => `${r.kind} ${r.from}→${r.to} ${r.tasks}`)).toEqual(['steal-grant node-a→node-b 5', 'result node-b→node-a 1']);
  });

  it('stays within its capacity and page size', () => {
    const trace = new StealTrace();
    for (let i = 0; i < stealTraceCapacityRecords * 2; i++) trace.sent(a, b, grant(1), i);
    expect(trace.read(0).records).toHaveLength(maxStealRecordsPerRead);
    expect(trace.read(0, 10_000).records).toHaveLength(stealTraceCapacityRecords);
  });
});
