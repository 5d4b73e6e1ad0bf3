// The signaling wire protocol: JSON text frames over one WebSocket at /signal.
// The server only introduces nodes and relays their signed signals; it never sees mesh traffic.
//
//   client                               server
//     │  ◄── welcome { challenge }          │  on connect
//     │  ── join { room, id, sig } ──►       │  sig = Ed25519(joinSigningText(challenge, room, id))
//     │  ◄── joined { self, peers ≤ 8 }     │  a random sample of the room
//     │  ◄── peer-joined / peer-left        │  later arrivals and departures in the room
//     │  ── signal { to, data } ──►          │  relayed as signal { from, data } to `to`
//     │  ◄── error { code, message }        │  what was wrong and what to do
//
// Every frame is decoded with the schemas below at the boundary; anything else is refused.
import * as v from 'valibot';
import { decodeWith, parseJson, type Decoded } from '../src/core/decode.ts';
import { nodeIdSchema, plainObjectSchema, signatureSchema } from '../src/core/ids.ts';

export type { Decoded };

export const signalingPath = '/signal';
/** Frames larger than this are refused unread. */
export const maxFrameBytes = 64 * 1024;
/** The most peers a joining node is told about; it finds the rest through the mesh. */
export const maxPeersInJoinSample = 8;

const roomSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a room name is 1–64 letters, digits, dots, dashes or underscores'),
);

// ── client → server ──────────────────────────────────────────────────────────

export const joinSchema = v.strictObject({
  type: v.literal('join'),
  room: roomSchema,
  id: nodeIdSchema,
  /** Signature by `id` over joinSigningText(challenge, room, id). */
  sig: signatureSchema,
});

export const signalOutSchema = v.strictObject({
  type: v.literal('signal'),
  to: nodeIdSchema,
  /** Opaque to the server: an end-to-end signed signal (src/net/signed-signal.ts). */
  data: plainObjectSchema,
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
] as const;
export type ErrorCode = (typeof errorCodes)[number];

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

export const serverMessageSchema = v.variant('type', [
  welcomeSchema,
  joinedSchema,
  peerJoinedSchema,
  peerLeftSchema,
  signalInSchema,
  errorSchema,
]);
export type ServerMessage = v.InferOutput<typeof serverMessageSchema>;
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

/** Parse and check one server frame; never throws. */
export function decodeServerMessage(text: string): Decoded<ServerMessage> {
  const parsed = parseJson(text);
  return parsed.ok ? decodeWith(serverMessageSchema, parsed.value) : parsed;
}
