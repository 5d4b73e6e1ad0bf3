// The signaling wire protocol: JSON text frames over one WebSocket at /signal.
// The server only introduces nodes and relays their signed signals; it never sees mesh traffic.
//
//   client                               server
//     │  ◄── welcome { challenge }          │  on connect
//     │  ── join { room, id, sig } ──►       │  sig = Ed25519(joinSigningText(challenge, room, id))
//     │  ◄── joined { self, peers ≤ 8 }     │  a random sample of the room
//     │  ◄── peers { joined, left }         │  arrivals and departures, batched per room
//     │  ◄── notice { code, message }       │  something worth telling a person (not a refusal)
//     │  ── signal { to, data } ──►          │  relayed as signal { from, data } to `to`
//     │  ◄── error { code, message }        │  what was wrong and what to do
//
// Private rooms: a join may carry `verifier`, derived from the room's password
// (src/net/room-key.ts). Rooms with a verifier live in their own namespace, one per verifier:
// `lobby` joined with a password is a different room from the open `lobby`, and from `lobby`
// with another password. So nobody can make an open room private or an open room of a private
// name, and the first to pick a name cannot lock out later members with the real password. A
// join is told with a notice when rooms of its name exist in another namespace (a private one
// beside the open one: "enter its password"; a private one under another password: "check the
// password"); joins with a password nobody uses are throttled per address. Signals of a private
// room are sealed by their sender (src/net/sealed-signal.ts): to the server they are opaque
// objects. Error codes may grow: clients should treat a code they do not know as a refusal
// with a message to show, not as a broken frame.
//
// Version 2 (tabmesh-signaling/2) replaced the per-node peer-joined / peer-left frames with
// the batched `peers` frame and added `notice`; clients still decode the old frames, so they
// work with an older server too.
//
// Every frame is decoded with the schemas below at the boundary; anything else is refused.
import * as v from 'valibot';
import { decodeWith, parseJson, type Decoded } from '../src/core/decode.ts';
import { nodeIdSchema, plainObjectSchema, signatureSchema } from '../src/core/ids.ts';
import { withinDataBounds } from './data-bounds.ts';

export type { Decoded };

export const signalingPath = '/signal';
/** Frames larger than this are refused unread. */
export const maxFrameBytes = 64 * 1024;
/** The most peers a joining node is told about; it finds the rest through the mesh. */
export const maxPeersInJoinSample = 8;
/** The most ids in one `peers` frame (each list); the server sends a fuller batch at once. */
export const maxIdsPerPeersFrame = 256;
/** Keys (object keys and array items, counted together) and nesting levels in relayed `data`. */
export const maxDataKeys = 256;
export const maxDataDepth = 8;
/**
 * What a whole client frame may hold, checked on its text before it is parsed (json-text-shape.ts):
 * relayed data's bounds plus room for the envelope (a join's or signal's own keys and levels).
 * Colons and commas both count, so a key-value pair counts twice.
 */
export const maxFrameDepth = maxDataDepth + 2;
export const maxFrameMembers = 2 * maxDataKeys + 32;

/**
 * Relayed `data`: any JSON object, but small in keys and depth so relaying it costs little. The
 * bounds are checked first, before anything walks every key of a hostile object.
 */
const relayedDataSchema = v.pipe(
  v.custom<Record<string, unknown>>(
    (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
    'must be a JSON object (not an array, a string or null)',
  ),
  v.check(
    (value) => withinDataBounds(value, maxDataKeys, maxDataDepth),
    `data: at most ${maxDataKeys} keys and array items in all, nested at most ${maxDataDepth} levels deep (a signal is a small object)`,
  ),
  plainObjectSchema,
);

/** A room name as the server accepts it (also what joinRoom checks). */
export const roomSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a room name is 1–64 letters, digits, dots, dashes or underscores'));

// ── client → server ──────────────────────────────────────────────────────────

export const joinSchema = v.strictObject({
  type: v.literal('join'),
  room: roomSchema,
  id: nodeIdSchema,
  /** Signature by `id` over joinSigningText(challenge, room, id). */
  sig: signatureSchema,
  /**
   * Only for private rooms: base64url SHA-256 of a key derived from the room's password
   * (room-key.ts). The server compares it with the room's first; it learns no password or key.
   */
  verifier: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/, 'verifier: 43 base64url characters (a SHA-256 digest)'))),
});

export const signalOutSchema = v.strictObject({
  type: v.literal('signal'),
  to: nodeIdSchema,
  /** Opaque to the server: an end-to-end signed signal (src/net/signed-signal.ts). */
  data: relayedDataSchema,
  /** Optional; when present it must be the sender's own id, or the frame is refused as spoofed. */
  from: v.optional(nodeIdSchema),
});

export const leaveSchema = v.strictObject({ type: v.literal('leave') });

export const clientMessageSchema = v.variant('type', [joinSchema, signalOutSchema, leaveSchema]);
export type JoinMessage = v.InferOutput<typeof joinSchema>;
export type SignalOutMessage = v.InferOutput<typeof signalOutSchema>;
export type ClientMessage = v.InferOutput<typeof clientMessageSchema>;

// ── server → client ──────────────────────────────────────────────────────────

export const errorCodes = [
  'bad-json',
  'bad-message',
  'too-large',
  'rate-limited',
  'not-joined',
  'already-joined',
  'bad-signature',
  'spoofed-sender',
  'unknown-peer',
  'room-full',
  'server-full',
  'duplicate-id',
  'origin-refused',
  /** A private room, joined without its password. */
  'password-required',
  /** A private room, joined with another password than its first members. */
  'wrong-password',
  /** A join with a password into an open room that already has members without one. */
  'room-not-private',
  // (The three password codes above are no longer sent since private rooms got their own
  // namespace; clients keep handling them for older servers.)
  /** This client address holds its quota of connections, rooms or seats in a room (limits.ts). */
  'address-quota',
  /** Too many joins with a password nobody in the room uses, from this address: wait. */
  'too-many-attempts',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** Notices: facts for the person, not refusals (the join went through). */
export const noticeCodes = [
  /** An open join, while private rooms of the same name exist: enter the password to join one. */
  'private-room-exists',
  /** A private join alone in its room, while a private room of that name uses another password. */
  'password-mismatch',
] as const;
export type NoticeCode = (typeof noticeCodes)[number];

export const welcomeSchema = v.strictObject({
  type: v.literal('welcome'),
  /** Random base64url text the client signs in its join, so a join cannot be replayed. */
  challenge: v.pipe(v.string(), v.minLength(16), v.maxLength(128)),
  server: v.string(),
});
export const joinedSchema = v.strictObject({
  type: v.literal('joined'),
  room: roomSchema,
  self: nodeIdSchema,
  peers: v.pipe(v.array(nodeIdSchema), v.maxLength(maxPeersInJoinSample)),
});
export const peerJoinedSchema = v.strictObject({ type: v.literal('peer-joined'), peer: nodeIdSchema });
export const peerLeftSchema = v.strictObject({ type: v.literal('peer-left'), peer: nodeIdSchema });
/**
 * Arrivals and departures in the room since the last such frame, in that order: apply `left`
 * first, then `joined` (an id in both left and came back). It may name the receiver itself.
 */
export const peersSchema = v.strictObject({
  type: v.literal('peers'),
  joined: v.pipe(v.array(nodeIdSchema), v.maxLength(maxIdsPerPeersFrame)),
  left: v.pipe(v.array(nodeIdSchema), v.maxLength(maxIdsPerPeersFrame)),
});
export const noticeSchema = v.strictObject({
  type: v.literal('notice'),
  code: v.picklist(noticeCodes),
  message: v.string(),
});
/** A notice as a client decodes it: codes it does not know yet are kept, to show their message. */
const noticeInSchema = v.strictObject({
  type: v.literal('notice'),
  code: v.pipe(v.string(), v.regex(/^[a-z][a-z-]{0,47}$/, 'code: lower-case words joined by dashes')),
  message: v.pipe(v.string(), v.maxLength(1_000)),
});
export const signalInSchema = v.strictObject({
  type: v.literal('signal'),
  from: nodeIdSchema,
  data: plainObjectSchema,
});
export const errorSchema = v.strictObject({
  type: v.literal('error'),
  code: v.picklist(errorCodes),
  message: v.string(),
});
/**
 * What a client accepts as an error frame: any short code, so a code added to the server later
 * reaches an older client as a refusal with its message rather than as an undecodable frame.
 */
const errorInSchema = v.strictObject({
  type: v.literal('error'),
  code: v.pipe(v.string(), v.regex(/^[a-z][a-z-]{0,47}$/, 'code: lower-case words joined by dashes')),
  message: v.pipe(v.string(), v.maxLength(1_000)),
});

export const serverMessageSchema = v.variant('type', [
  welcomeSchema,
  joinedSchema,
  peerJoinedSchema,
  peerLeftSchema,
  peersSchema,
  noticeSchema,
  signalInSchema,
  errorSchema,
]);
export type ServerMessage = v.InferOutput<typeof serverMessageSchema>;
const serverMessageInSchema = v.variant('type', [
  welcomeSchema,
  joinedSchema,
  peerJoinedSchema,
  peerLeftSchema,
  peersSchema,
  noticeInSchema,
  signalInSchema,
  errorInSchema,
]);
/** A server frame as a client decodes it (error codes it may not know yet). */
export type ServerMessageIn = v.InferOutput<typeof serverMessageInSchema>;
export type ErrorMessage = v.InferOutput<typeof errorSchema>;

/** The exact text a joining node signs: binds the server's challenge, the room and the id. */
export function joinSigningText(challenge: string, room: string, id: string): string {
  return `tabmesh-join/1\n${challenge}\n${room}\n${id}`;
}

/** Parse and check one client frame; never throws. */
export function decodeClientMessage(text: string): Decoded<ClientMessage> {
  const parsed = parseJson(text);
  return parsed.ok ? decodeWith(clientMessageSchema, parsed.value) : parsed;
}

/** Parse and check one server frame strictly (the server's own contract, for tests); never throws. */
export function decodeServerMessage(text: string): Decoded<ServerMessage> {
  const parsed = parseJson(text);
  return parsed.ok ? decodeWith(serverMessageSchema, parsed.value) : parsed;
}

/** Parse and check one server frame as a client does: error codes it does not know are kept. */
export function decodeServerMessageIn(text: string): Decoded<ServerMessageIn> {
  const parsed = parseJson(text);
  return parsed.ok ? decodeWith(serverMessageInSchema, parsed.value) : parsed;
}
