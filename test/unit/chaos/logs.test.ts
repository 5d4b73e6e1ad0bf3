// Stitching sampled log tails into one history per node (chaos/logs.ts): overlapping samples
// line up, a sample that skipped ahead leaves a gap (unverified), and a log that changed under
// our eyes is a conflict.
import { describe, expect, test } from 'vitest';
import { coveredBatches, covers, logTailEntries, mergeSample, newHistory, opKey, type LogEntryView } from '../../../chaos/logs.ts';

/** Entries for seqs [from, to], one request each, with op `op <seq>`. */
function entries(from: number, to: number, client = 'c'): LogEntryView[] {
  const out: LogEntryView[] = [];
  for (let seq = from; seq <= to; seq++) out.push({ seq, digest: `d${seq}`, client, ts: seq, op: { kind: 'decision', value: `op ${seq}` } });
  return out;
}

describe('log histories', () => {
  test('a short first sample is the whole log; overlapping samples extend it in order', () => {
    const h = newHistory('node-a', 'g1');
    mergeSample(h, entries(1, 10));
    expect(h.coveredFrom).toBe(1);
    mergeSample(h, entries(5, 30));
    mergeSample(h, entries(20, 40));
    expect(h.entries.map((e) => e.seq)).toEqual(entries(1, 40).map((e) => e.seq));
    expect(h.conflicts).toEqual([]);
    expect(h.gaps).toEqual([]);
    expect(covers(h, 1)).toBe(true);
    expect(covers(h, 40)).toBe(true);
    expect(covers(h, 41)).toBe(false);
  });

  test('a full first sample starts coverage after its first (maybe cut) batch', () => {
    const h = newHistory('node-a', 'g1');
    mergeSample(h, entries(100, 100 + logTailEntries - 1));
    expect(h.coveredFrom).toBe(101);
    expect(covers(h, 100)).toBe(false);
    expect(coveredBatches(h).has(100)).toBe(false);
    expect(coveredBatches(h).get(101)?.length).toBe(1);
  });

  test('a full sample that does not reach back to the history leaves a gap that is not covered', () => {
    const h = newHistory('node-a', 'g1');
    mergeSample(h, entries(1, 10));
    mergeSample(h, entries(200, 200 + logTailEntries - 1));
    expect(h.gaps).toEqual([{ from: 11, to: 200 }]);
    expect(covers(h, 150)).toBe(false);
    expect(covers(h, 200)).toBe(false);
    expect(covers(h, 201)).toBe(true);
    expect(h.conflicts).toEqual([]);
  });

  test('an entry that changed between samples is a conflict, and so is a short sample that lost history', () => {
    const changed = newHistory('node-a', 'g1');
    mergeSample(changed, entries(1, 10));
    const later = entries(5, 12);
    later[3] = { ...(later[3] as LogEntryView), digest: 'forged', op: { kind: 'decision', value: 'other' } };
    mergeSample(changed, later);
    expect(changed.conflicts.length).toBe(1);

    const lost = newHistory('node-b', 'g1');
    mergeSample(lost, entries(1, 10));
    mergeSample(lost, entries(20, 25));
    expect(lost.conflicts.length).toBe(1);
  });

  test('a sample from before a restart (older, shorter) lines up and adds nothing', () => {
    const h = newHistory('node-a', 'g1');
    mergeSample(h, entries(1, 30));
    mergeSample(h, entries(1, 20));
    expect(h.entries.length).toBe(30);
    expect(h.conflicts).toEqual([]);
  });

  test('several operations of one request (same seq, client, ts and digest) are told apart by their operation', () => {
    const request = (values: string[]): LogEntryView[] =>
      values.map((value) => ({ seq: 7, digest: 'd7', client: 'c', ts: 3, op: { kind: 'decision', value } }));
    const h = newHistory('node-a', 'g1');
    mergeSample(h, [...entries(1, 6), ...request(['x', 'y'])]);
    mergeSample(h, [...entries(5, 6), ...request(['x', 'y']), ...entries(8, 9)]);
    expect(h.conflicts).toEqual([]);
    expect(h.entries.length).toBe(10);
    const swapped = newHistory('node-b', 'g1');
    mergeSample(swapped, [...entries(1, 6), ...request(['x', 'y'])]);
    mergeSample(swapped, [...entries(1, 6), ...request(['y', 'x'])]);
    expect(swapped.conflicts.length).toBe(1);
  });

  test('ops are compared whatever their key order', () => {
    expect(opKey({ value: 'x', kind: 'decision' })).toBe(opKey({ kind: 'decision', value: 'x' }));
    expect(opKey({ kind: 'decision', value: 'x' })).not.toBe(opKey({ kind: 'decision', value: 'y' }));
  });
});

describe('a request that carries the same operation twice', () => {
  /** Seqs [from, to]; seq `dup` holds a join and the same removal vote twice (one packed request). */
  function withDuplicate(from: number, to: number, dup: number, order: 'join first' | 'join between' = 'join first'): LogEntryView[] {
    const out: LogEntryView[] = [];
    for (const e of entries(from, to)) {
      if (e.seq !== dup) {
        out.push(e);
        continue;
      }
      const base = { seq: dup, digest: `d${dup}`, client: 'c', ts: dup };
      const join = { ...base, op: { kind: 'join', node: 'new' } };
      const remove = { ...base, op: { kind: 'remove', node: 'gone' } };
      out.push(...(order === 'join first' ? [join, remove, { ...remove }] : [remove, join, { ...remove }]));
    }
    return out;
  }

  for (const order of ['join first', 'join between'] as const) {
    test(`lines up in every later sample, even one that starts inside that batch (${order}; seen in a 600 s chaos run at seq 855)`, () => {
      const all = withDuplicate(1, 120, 50, order);
      for (let start = 1; start + logTailEntries <= all.length; start++) {
        const h = newHistory('node-a', 'g1');
        mergeSample(h, all.slice(0, 60));
        mergeSample(h, all.slice(start, start + logTailEntries));
        mergeSample(h, all.slice(all.length - logTailEntries));
        expect(h.conflicts, `a sample from position ${start}`).toEqual([]);
        expect(h.entries.length).toBe(all.length);
      }
    });
  }

  test('a sample in which one of the two went missing is still a conflict', () => {
    const h = newHistory('node-a', 'g1');
    const all = withDuplicate(1, 60, 50);
    mergeSample(h, all);
    const lost = all.filter((e, i) => !(e.seq === 50 && i === all.findIndex((x) => x.seq === 50) + 2));
    mergeSample(h, lost.slice(30));
    expect(h.conflicts.length).toBeGreaterThan(0);
  });
});
