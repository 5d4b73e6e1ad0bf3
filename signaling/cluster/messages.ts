// What members of a signaling cluster tell each other over Redis pub/sub. Another member's
// message is input like any client frame: decoded with these schemas, and a message that does
// not decode is counted and dropped (redis-cluster.ts), never applied and never thrown.
import * as v from 'valibot';
import { decodeWith, parseJson, type Decoded } from '../../src/core/decode.ts';
import { nodeIdSchema } from '../../src/core/ids.ts';
import { maxIdsPerPeersFrame } from '../protocol.ts';

/** A member id: random base64url made at start (member-id in redis-cluster.ts). */
export const memberIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,32}$/, 'a member id is 8–32 base64url characters'));
/** A room key (rooms.ts roomKeyOf): a room name, then a newline and a verifier for a private room. */
const roomKeySchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.-]{1,64}(\n[A-Za-z0-9_-]{43})?$/, 'a room key is a room name, and for a private room a newline and its verifier'),
);
/** Changes one member gathers before it publishes them in one message. */
export const maxChangesPerMessage = 256;

const changeSchema = v.strictObject({
  key: roomKeySchema,
  id: nodeIdSchema,
  kind: v.picklist(['joined', 'left']),
});

/** Joins and leaves on one member, in order; everyone else announces them to its local members. */
export const changesSchema = v.strictObject({
  t: v.literal('changes'),
  from: memberIdSchema,
  changes: v.pipe(v.array(changeSchema), v.minLength(1), v.maxLength(maxChangesPerMessage)),
});

/** Nodes of a member found dead, removed from Redis by the reap script (published by it). */
export const reapedSchema = v.strictObject({
  t: v.literal('reaped'),
  member: memberIdSchema,
  nodes: v.pipe(v.array(v.tuple([roomKeySchema, nodeIdSchema])), v.maxLength(64 * maxIdsPerPeersFrame)),
});

/**
 * A signal for a node on the receiving member. `from` was stamped by the sending member from
 * its own record of the sender's connection, never taken from the client.
 */
export const relayedSignalSchema = v.strictObject({
  t: v.literal('signal'),
  key: roomKeySchema,
  from: nodeIdSchema,
  to: nodeIdSchema,
  // The sending member checked it with the client frame's bounds (protocol.ts); here it only
  // has to be an object, since it goes on to the client as is.
  data: v.custom<Record<string, unknown>>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'data must be a JSON object'),
});

export const busMessageSchema = v.variant('t', [changesSchema, reapedSchema, relayedSignalSchema]);
export type BusMessage = v.InferOutput<typeof busMessageSchema>;
export type Change = v.InferOutput<typeof changeSchema>;

/** Largest bus message read (a batch of changes, or a relayed signal of up to a frame). */
export const maxBusMessageBytes = 256 * 1024;

export function decodeBusMessage(text: string): Decoded<BusMessage> {
  if (text.length > maxBusMessageBytes) return { ok: false, error: `message of ${text.length} characters, over ${maxBusMessageBytes}` };
  const parsed = parseJson(text);
  return parsed.ok ? decodeWith(busMessageSchema, parsed.value) : parsed;
}
