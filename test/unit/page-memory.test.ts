// The page's copy of the memory (src/page-memory.ts) and the 'memory' message that feeds it:
// a reset then deltas give the same memory as the worker holds, snapshots read it live, and a
// bad message from the worker is refused by the decoder, never applied.
import { describe, expect, test } from 'vitest';
import { PageMemory } from '../../src/page-memory.ts';
import { decodeWorkerToPage, maxMemoryChangesPerMessage, type MemoryMessage } from '../../src/worker/protocol.ts';

const origin = 'A'.repeat(42) + 'A';
const change = (key: string, value?: unknown) => (value === undefined ? { key, origin, hlc: '1.0' } : { key, value, origin, hlc: '1.0' });
const message = (reset: boolean, changes: MemoryMessage['changes']): MemoryMessage => ({ type: 'memory', reset, changes });

describe('the page keeps the memory from a reset and deltas', () => {
  test('set, overwrite and delete show in a snapshot taken before them (live fields)', () => {
    const memory = new PageMemory();
    const snapshot = memory.attach({ id: 'x' }) as { id: string; memory: Record<string, unknown>; memoryEntries: Array<{ key: string }> };
    memory.apply(message(true, [change('b', 2), change('a', 1)]));
    expect(snapshot.memory).toEqual({ a: 1, b: 2 });
    expect(snapshot.memoryEntries.map((e) => e.key)).toEqual(['a', 'b']);
    memory.apply(message(false, [change('a', 10), change('b'), change('c', { deep: [1] })]));
    expect(snapshot.memory).toEqual({ a: 10, c: { deep: [1] } });
    // structuredClone (window.tabmesh.snapshot()) and JSON read the getters like plain fields.
    expect(structuredClone(snapshot).memory).toEqual({ a: 10, c: { deep: [1] } });
    expect(JSON.parse(JSON.stringify(snapshot)).memory).toEqual({ a: 10, c: { deep: [1] } });
  });

  test('a reset replaces everything (a restarted worker), and listeners hear each batch', () => {
    const memory = new PageMemory();
    const heard: Array<[number, boolean]> = [];
    memory.subscribe((changes, reset) => heard.push([changes.length, reset]));
    memory.apply(message(true, [change('old', 1)]));
    memory.apply(message(true, [change('new', 2)]));
    expect(memory.get('old')).toBeUndefined();
    expect(memory.get('new')?.value).toBe(2);
    expect(heard).toEqual([
      [1, true],
      [1, true],
    ]);
  });

  test('the same snapshot object is rebuilt only after a change', () => {
    const memory = new PageMemory();
    const snapshot = memory.attach({}) as { memoryEntries: unknown[] };
    memory.apply(message(true, [change('a', 1)]));
    const first = snapshot.memoryEntries;
    expect(snapshot.memoryEntries).toBe(first);
    memory.apply(message(false, [change('b', 1)]));
    expect(snapshot.memoryEntries).not.toBe(first);
  });
});

describe("the worker's memory message is checked on the page", () => {
  test('a valid message decodes', () => {
    expect(decodeWorkerToPage(message(false, [change('a', 1), change('b')])).ok).toBe(true);
  });

  test.each([
    ['no key', { type: 'memory', reset: false, changes: [{ value: 1, origin, hlc: '1.0' }] }],
    ['an empty key', { type: 'memory', reset: false, changes: [change('')] }],
    ['a bad origin', { type: 'memory', reset: false, changes: [{ key: 'a', value: 1, origin: 'nobody', hlc: '1.0' }] }],
    ['an extra field', { type: 'memory', reset: false, changes: [{ ...change('a', 1), extra: true }] }],
    ['reset missing', { type: 'memory', changes: [] }],
    ['too many changes', { type: 'memory', reset: false, changes: Array.from({ length: maxMemoryChangesPerMessage + 1 }, (_, i) => change(`k${i}`, i)) }],
  ])('refused: %s', (_, raw) => {
    expect(decodeWorkerToPage(raw).ok).toBe(false);
  });
});
