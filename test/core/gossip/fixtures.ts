// Sample gossip messages for the decoder and core tests, and a way to damage them.
import fc from 'fast-check';
import type { GossipMsg } from '../../../src/core/gossip/messages.ts';

export const entry = { k: 'key', v: { any: ['json', 1, null] }, h: [1_700_000_000_000, 3], o: 'n1', i: 2, n: 7 };
export const tombstone = { k: 'gone', d: 1, h: [5, 0], o: 'n2', i: 0, n: 1 };

export const validMessages: GossipMsg[] = [
  { type: 'ping', seq: 1 },
  {
    type: 'ping',
    seq: 2,
    m: [
      ['n1', 0, 0],
      ['n2', 3, 1],
    ],
  },
  { type: 'ack', seq: 2, m: [['n3', 1, 2]] },
  { type: 'ping-req', seq: 9, target: 'n4' },
  { type: 'indirect-ack', seq: 9, target: 'n4' },
  { type: 'nack', seq: 9, target: 'n4' },
  { type: 'sync', d: [['n1', 3]], p: false, mh: 123, f: 0xffffffff, e: [entry], m: [['n5', 0, 3]] },
  { type: 'sync-reply', d: [['n1', 1]], e: [tombstone], u: [['n2', 1]], wm: true },
  { type: 'sync-reply' },
  {
    type: 'sync',
    d: [],
    p: false,
    mh: 7,
    s: [
      ['n6', 2, 0],
      ['n7', 0, 0],
    ],
  },
  { type: 'sync-reply', s: [['n6', 2, 0]] },
  { type: 'delta', e: [entry], u: [['n1', 7]] },
  { type: 'members', m: [['n1', 0, 0]] },
  { type: 'news', e: [entry] },
  { type: 'leave', node: 'n8', inc: 4 },
] as GossipMsg[];

/** A valid message with one field (at any depth) replaced by something arbitrary. */
export function mutate(msg: GossipMsg): fc.Arbitrary<unknown> {
  const paths: Array<Array<string | number>> = [];
  const walk = (value: unknown, path: Array<string | number>): void => {
    paths.push(path);
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(msg, []);
  return fc
    .tuple(fc.constantFrom(...paths), fc.oneof(fc.anything(), fc.integer(), fc.double(), fc.string(), fc.constant(undefined)))
    .map(([path, replacement]) => {
      if (path.length === 0) return replacement;
      const copy = JSON.parse(JSON.stringify(msg)) as Record<string | number, unknown>;
      let target = copy;
      for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
      target[path[path.length - 1] as string | number] = replacement;
      return copy;
    });
}
