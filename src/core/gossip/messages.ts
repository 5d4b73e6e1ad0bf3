// The gossip wire protocol. Every message is decoded here before the core looks at it; what
// does not fit the schema, is too large or carries impossible numbers is refused with a reason.
//
//   failure detection (SWIM + Lifeguard)        anti-entropy (Scuttlebutt push-pull)
//   A ── ping(seq) ──► B                        A ── sync(digest, rumours) ──► B
//   A ◄── ack(seq) ─── B                        A ◄── sync-reply(what A lacks, what B lacks) ── B
//   A ── ping-req(seq, B) ──► C ── ping ──► B   A ── delta(what B asked for) ──► B
//   A ◄── indirect-ack | nack ── C              A ◄──► B  members (full list pages, when hashes differ)
//
//   news(facts, entries): urgent membership changes and fresh writes, pushed at once.
//   leave(node): "I am leaving" from the node itself (node must be the link's sender).
//
// Compact field names keep messages small at 1,000+ members: m = membership facts
// [id, incarnation, status], e = memory entries, d = digest [origin, version],
// u = "complete up to" positions, mh = member-list hash, f = memory fingerprint, s = a sample
// of the sender's members (sent only when its table is full: the room is larger than it holds).
import * as v from 'valibot';
import { decodeWith, parseJson, type Decoded } from '../decode.ts';
import type { NodeId } from '../types.ts';
import { maxHlcCount } from '../hlc.ts';
import {
  maxDigestEntries,
  maxEntriesPerMessage,
  maxFactsPerMessage,
  maxIncarnation,
  maxKeyChars,
  maxMembersPerPage,
  maxMessageBytes,
  maxNodeIdChars,
  maxSampleFacts,
  maxValueBytes,
  maxVersion,
} from './config.ts';
import { jsonProblem, type JsonValue } from './json.ts';

export const statusCodes = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type MemberStatus = keyof typeof statusCodes;
export const statusNames: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

const idPattern = new RegExp(`^[A-Za-z0-9_.:-]{1,${maxNodeIdChars}}$`);
const nodeId = v.pipe(
  v.string(),
  v.regex(idPattern, `a node id is 1–${maxNodeIdChars} letters, digits or _.:-`),
  v.transform((s) => s as NodeId),
);
const natural = (max: number, what: string) =>
  v.pipe(v.number(), v.integer(`${what} must be an integer`), v.minValue(0, `${what} cannot be negative`), v.maxValue(max, `${what} is impossibly large`));
const incarnation = natural(maxIncarnation, 'an incarnation');
const version = natural(maxVersion, 'a version');
const seq = natural(maxVersion, 'a sequence number');

/** [id, incarnation, status code]: what one node believes about one member. */
const fact = v.tuple([nodeId, incarnation, v.picklist([0, 1, 2, 3])]);
const facts = (max: number) => v.pipe(v.array(fact), v.maxLength(max, `more than ${max} membership facts`));

/** [origin, version]: a position in one origin's stream of writes. */
const position = v.tuple([nodeId, version]);
const positions = v.pipe(v.array(position), v.maxLength(maxDigestEntries, `more than ${maxDigestEntries} digest entries`));

const hlc = v.tuple([natural(maxVersion, 'a clock reading'), natural(maxHlcCount, 'a clock counter')]);

const jsonValue = v.custom<JsonValue>((value) => jsonProblem(value) === null, 'a value must be plain JSON');
const jsonLengthOf = (value: unknown): number => (JSON.stringify(value) as string | undefined)?.length ?? Infinity;

/**
 * One write to the replicated memory. k: key; v: value (absent in a tombstone, d: 1);
 * h: hybrid-clock time of the write; o: the node that wrote it; i: o's incarnation then;
 * n: the write's version in o's stream (1, 2, 3, … for the life of the node id).
 */
const entry = v.pipe(
  v.strictObject({
    k: v.pipe(v.string(), v.minLength(1, 'a key cannot be empty'), v.maxLength(maxKeyChars, `a key is at most ${maxKeyChars} characters`)),
    v: v.optional(jsonValue),
    d: v.optional(v.literal(1)),
    h: hlc,
    o: nodeId,
    i: incarnation,
    n: v.pipe(version, v.minValue(1, 'a write version starts at 1')),
  }),
  v.check((e) => (e.d === 1 ? !('v' in e) : e.v !== undefined), 'an entry has either a value or d: 1 (deleted), not both or neither'),
  v.check((e) => e.v === undefined || jsonLengthOf(e.v) <= maxValueBytes, `a value is at most ${maxValueBytes} JSON characters`),
);
const entries = v.pipe(v.array(entry), v.maxLength(maxEntriesPerMessage, `more than ${maxEntriesPerMessage} entries`));

const ping = v.strictObject({ type: v.literal('ping'), seq, m: v.optional(facts(maxFactsPerMessage)) });
const ack = v.strictObject({ type: v.literal('ack'), seq, m: v.optional(facts(maxFactsPerMessage)) });
const pingReq = v.strictObject({ type: v.literal('ping-req'), seq, target: nodeId, m: v.optional(facts(maxFactsPerMessage)) });
const indirectAck = v.strictObject({ type: v.literal('indirect-ack'), seq, target: nodeId, m: v.optional(facts(maxFactsPerMessage)) });
const nack = v.strictObject({ type: v.literal('nack'), seq, target: nodeId });
const sync = v.strictObject({
  type: v.literal('sync'),
  d: positions,
  /** The digest lists only a sample of origins; unlisted ones say nothing. */
  p: v.boolean(),
  mh: natural(0xffff_ffff, 'a member hash'),
  /** Fingerprint of the sender's visible memory (for the agreement metric). */
  f: v.optional(natural(0xffff_ffff, 'a memory fingerprint')),
  m: v.optional(facts(maxFactsPerMessage)),
  e: v.optional(entries),
  /** Alive members of the sender's table, at random (large rooms: peer sampling). */
  s: v.optional(facts(maxSampleFacts)),
});
const syncReply = v.strictObject({
  type: v.literal('sync-reply'),
  /** What the replier lacks: its positions for origins where the sync's digest was ahead. */
  d: v.optional(positions),
  /** What the syncing node lacked. */
  e: v.optional(entries),
  u: v.optional(positions),
  /** Member lists differ: please send yours. */
  wm: v.optional(v.boolean()),
  m: v.optional(facts(maxFactsPerMessage)),
  s: v.optional(facts(maxSampleFacts)),
});
const delta = v.strictObject({ type: v.literal('delta'), e: entries, u: positions });
const members = v.strictObject({ type: v.literal('members'), m: facts(maxMembersPerPage) });
const news = v.strictObject({ type: v.literal('news'), m: v.optional(facts(maxFactsPerMessage)), e: v.optional(entries) });
const leave = v.strictObject({ type: v.literal('leave'), node: nodeId, inc: incarnation });

const gossipMessage = v.variant('type', [ping, ack, pingReq, indirectAck, nack, sync, syncReply, delta, members, news, leave]);

export type GossipMsg = v.InferOutput<typeof gossipMessage>;
export type MemberFact = v.InferOutput<typeof fact>;
export type Position = v.InferOutput<typeof position>;
export type WireEntry = v.InferOutput<typeof entry>;
export type HlcTuple = v.InferOutput<typeof hlc>;

/** Why a message was refused; each reason has its own counter in view().rejected. */
export type DecodeFailure = { reason: 'oversized' | 'malformed'; detail: string };

/**
 * Checks an already-parsed message. `bytes` is its size on the wire if the caller knows it;
 * otherwise it is measured here. Never throws.
 */
export function decodeGossip(raw: unknown, bytes?: number): { ok: true; msg: GossipMsg } | { ok: false; failure: DecodeFailure } {
  let size = bytes;
  if (size === undefined) {
    try {
      size = (JSON.stringify(raw) as string | undefined)?.length ?? 0;
    } catch {
      return { ok: false, failure: { reason: 'malformed', detail: 'not serializable as JSON' } };
    }
  }
  if (size > maxMessageBytes) return { ok: false, failure: { reason: 'oversized', detail: `${size} bytes exceeds ${maxMessageBytes}` } };
  const decoded: Decoded<GossipMsg> = decodeWith(gossipMessage, raw);
  return decoded.ok ? { ok: true, msg: decoded.value } : { ok: false, failure: { reason: 'malformed', detail: decoded.error } };
}

/** The boundary decoder of docs/architecture.md: a valid message, or null. */
export function decode(raw: unknown): GossipMsg | null {
  const result = decodeGossip(raw);
  return result.ok ? result.msg : null;
}

/** Decodes a message from its JSON text (size checked before parsing). */
export function decodeText(text: string): { ok: true; msg: GossipMsg } | { ok: false; failure: DecodeFailure } {
  if (text.length > maxMessageBytes) return { ok: false, failure: { reason: 'oversized', detail: `${text.length} bytes exceeds ${maxMessageBytes}` } };
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, failure: { reason: 'malformed', detail: parsed.error } };
  return decodeGossip(parsed.value, text.length);
}

const count = (label: string, list: readonly unknown[] | undefined): string => (list && list.length > 0 ? ` ${label}=${list.length}` : '');

/** One line for traces and logs. */
export function describe(msg: GossipMsg): string {
  switch (msg.type) {
    case 'ping':
    case 'ack':
      return `${msg.type} #${msg.seq}${count('m', msg.m)}`;
    case 'ping-req':
    case 'indirect-ack':
      return `${msg.type} #${msg.seq} target=${msg.target}${count('m', msg.m)}`;
    case 'nack':
      return `nack #${msg.seq} target=${msg.target}`;
    case 'sync':
      return `sync d=${msg.d.length}${msg.p ? ' (partial)' : ''} mh=${msg.mh.toString(16)}${count('m', msg.m)}${count('e', msg.e)}${count('s', msg.s)}`;
    case 'sync-reply':
      return `sync-reply${count('d', msg.d)}${count('e', msg.e)}${count('u', msg.u)}${msg.wm ? ' wm' : ''}${count('m', msg.m)}${count('s', msg.s)}`;
    case 'delta':
      return `delta${count('e', msg.e)}${count('u', msg.u)}`;
    case 'members':
      return `members${count('m', msg.m)}`;
    case 'news':
      return `news${count('m', msg.m)}${count('e', msg.e)}`;
    case 'leave':
      return `leave ${msg.node} inc=${msg.inc}`;
  }
}

/** Checks one memory entry on its own (e.g. read back from storage). */
export function decodeEntry(raw: unknown): WireEntry | null {
  const decoded = decodeWith(entry, raw);
  return decoded.ok ? decoded.value : null;
}

/** Checks a node id (e.g. from a command). */
export function isNodeId(raw: unknown): raw is NodeId {
  return typeof raw === 'string' && idPattern.test(raw);
}
