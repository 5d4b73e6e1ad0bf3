// What the gossip core keeps across a reload, and how it is read back. The runtime stores
// persist effects under these keys (IndexedDB in a tab, SimStorage in the simulator) and hands
// everything under `gossipStoragePrefix` back to the constructor; each record is decoded like
// any other input, and a record that does not decode is skipped and counted.
import * as v from 'valibot';
import { decodeWith } from '../decode.ts';
import type { Hlc } from '../hlc.ts';
import type { Millis, NodeId } from '../types.ts';
import { maxIncarnation } from './config.ts';
import { decodeEntry, type WireEntry } from './messages.ts';

export const gossipStoragePrefix = 'gossip/';
/** This node's own record: its incarnation, the version of its last write, and its clock. */
export const selfRecordKey = 'gossip/self';
/** One replicated memory entry per key, under this prefix plus the key. */
export const memoryKeyPrefix = 'gossip/mem/';
export const memoryStorageKey = (key: string): string => memoryKeyPrefix + key;

export interface SelfRecord {
  id: NodeId;
  incarnation: number;
  /** Version of this node's last write (its stream continues from here). */
  version: number;
  hlc: Hlc;
  /** Wall time of this save: how long the node was away, when it comes back. */
  savedAt: Millis;
}

const natural = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const selfSchema = v.strictObject({
  v: v.literal(1),
  id: v.string(),
  inc: v.pipe(natural, v.maxValue(maxIncarnation)),
  ver: natural,
  hlc: v.tuple([natural, natural]),
  savedAt: natural,
});

export function encodeSelfRecord(record: SelfRecord): unknown {
  return { v: 1, id: record.id, inc: record.incarnation, ver: record.version, hlc: [record.hlc.wall, record.hlc.count], savedAt: record.savedAt };
}

/** The record if it is well formed and belongs to `id` (another node's record is ignored). */
export function decodeSelfRecord(raw: unknown, id: NodeId): SelfRecord | null {
  const decoded = decodeWith(selfSchema, raw);
  if (!decoded.ok || decoded.value.id !== id) return null;
  const r = decoded.value;
  return { id, incarnation: r.inc, version: r.ver, hlc: { wall: r.hlc[0], count: r.hlc[1] }, savedAt: r.savedAt };
}

/** A stored entry, if it decodes and sits under its own key. */
export function decodeStoredEntry(storageKey: string, raw: unknown): WireEntry | null {
  const entry = decodeEntry(raw);
  return entry && memoryStorageKey(entry.k) === storageKey ? entry : null;
}
