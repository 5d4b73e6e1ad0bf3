import { describe as group, expect, test } from 'vitest';
import fc from 'fast-check';
import { decode, decodeGossip, decodeText, describe, decodeEntry, type GossipMsg } from '../../../src/core/gossip/messages.ts';
import { entry, mutate, validMessages } from './fixtures.ts';
import { maxEntriesPerMessage, maxFactsPerMessage, maxIncarnation, maxKeyChars, maxMessageBytes, maxValueBytes } from '../../../src/core/gossip/config.ts';

group('decode', () => {
  test('accepts every message type, unchanged', () => {
    for (const msg of validMessages) expect(decode(JSON.parse(JSON.stringify(msg)))).toEqual(msg);
  });

  test.each([
    ['an unknown type', { type: 'gossip-bomb' }],
    ['a missing field', { type: 'ping' }],
    ['an extra field', { type: 'ping', seq: 1, evil: true }],
    ['a negative sequence number', { type: 'ping', seq: -1 }],
    ['a fractional sequence number', { type: 'ping', seq: 1.5 }],
    ['a version beyond exact integers', { type: 'delta', e: [], u: [['n1', 2 ** 60]] }],
    ['a negative version', { type: 'delta', e: [], u: [['n1', -3]] }],
    ['an incarnation beyond the ceiling', { type: 'leave', node: 'n1', inc: maxIncarnation + 1 }],
    ['a bad status code', { type: 'members', m: [['n1', 0, 7]] }],
    ['a bad node id', { type: 'nack', seq: 1, target: 'not an id!' }],
    ['an empty node id', { type: 'nack', seq: 1, target: '' }],
    ['an entry with a value and a deletion mark', { type: 'news', e: [{ ...entry, d: 1 }] }],
    ['an entry with neither', { type: 'news', e: [{ k: 'x', h: [1, 0], o: 'n1', i: 0, n: 1 }] }],
    ['an entry with version 0', { type: 'news', e: [{ ...entry, n: 0 }] }],
    ['an empty key', { type: 'news', e: [{ ...entry, k: '' }] }],
    ['a key too long', { type: 'news', e: [{ ...entry, k: 'k'.repeat(maxKeyChars + 1) }] }],
    ['a value too large', { type: 'news', e: [{ ...entry, v: 'x'.repeat(maxValueBytes) }] }],
    ['too many facts', { type: 'ping', seq: 1, m: Array.from({ length: maxFactsPerMessage + 1 }, (_, i) => [`n${i}`, 0, 0]) }],
    ['too many entries', { type: 'delta', u: [], e: Array.from({ length: maxEntriesPerMessage + 1 }, (_, i) => ({ ...entry, v: i, n: i + 1 })) }],
    ['a clock reading that is not a number', { type: 'news', e: [{ ...entry, h: ['soon', 0] }] }],
    ['not an object', 'ping'],
    ['null', null],
  ])('refuses %s', (_what, raw) => {
    expect(decode(raw)).toBeNull();
  });

  test('values that JSON cannot carry exactly are refused', () => {
    const sparse = [1, 2, 3];
    delete sparse[1];
    for (const v of [NaN, Infinity, undefined, () => 1, new Date(0), sparse]) {
      expect(decode({ type: 'news', e: [{ ...entry, v }] })).toBeNull();
    }
  });

  test('oversized messages are refused before schema checks', () => {
    const result = decodeGossip({ type: 'ping', seq: 1 }, maxMessageBytes + 1);
    expect(result).toEqual({ ok: false, failure: expect.objectContaining({ reason: 'oversized' }) });
    const text = JSON.stringify({ type: 'members', m: [], pad: 'x'.repeat(maxMessageBytes) });
    expect(decodeText(text)).toEqual({ ok: false, failure: expect.objectContaining({ reason: 'oversized' }) });
  });

  test('text that is not JSON is refused as malformed', () => {
    expect(decodeText('{"type":')).toEqual({ ok: false, failure: expect.objectContaining({ reason: 'malformed' }) });
    expect(decodeText(JSON.stringify(validMessages[0]))).toEqual({ ok: true, msg: validMessages[0] });
  });

  test('a cyclic object is refused, not a crash', () => {
    const cyclic: Record<string, unknown> = { type: 'ping', seq: 1 };
    cyclic.self = cyclic;
    expect(decode(cyclic)).toBeNull();
  });

  test('never throws, and whatever it accepts decodes the same again', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.constantFrom(...validMessages).chain(mutate)), (raw) => {
        const msg = decode(raw);
        if (msg !== null) expect(JSON.stringify(decode(JSON.parse(JSON.stringify(msg))))).toBe(JSON.stringify(msg));
      }),
      { numRuns: 2_000 },
    );
  });

  test('stored entries decode on their own', () => {
    expect(decodeEntry(entry)).toEqual(entry);
    expect(decodeEntry({ ...entry, o: 5 })).toBeNull();
  });
});

test('describe gives one short line per message', () => {
  for (const msg of validMessages) {
    const line = describe(msg);
    expect(line.startsWith(msg.type)).toBe(true);
    expect(line).not.toContain('\n');
  }
  expect(describe(validMessages[6] as GossipMsg)).toBe('sync d=1 mh=7b m=1 e=1');
});
