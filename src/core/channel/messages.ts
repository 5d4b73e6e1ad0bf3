// Channel frames between nodes (tagged 'channel' in link frames, src/core/envelope.ts; routed
// over several hops when the nodes are not linked). A message of the app is one transfer: its
// bytes cut into chunks, each acknowledged by the receiving node.
//
//   chunk   t:'c'  one piece of a message: which transfer (id), channel, piece number (seq) of
//                  n, the message's total size and encoding ('j' JSON text, 'b' bytes), and the
//                  piece itself as base64 (d)
//   ack     t:'a'  the receiving node holds piece `seq` of transfer `id`
//   refuse  t:'x'  the receiving node will not take transfer `id`, and why
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import { channelNamePattern, chunkBytes, transferIdPattern } from './limits.ts';

/** The encodings of a message: JSON text, or bytes as the app gave them. */
export type ChannelEncoding = 'j' | 'b';

/** Why a receiver refuses a transfer (the sender's send() rejects with it). */
export type RefuseReason = 'throttled' | 'too-large' | 'malformed';

const transferId = v.pipe(v.string(), v.regex(transferIdPattern));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
/** Base64 of at most chunkBytes bytes (4 characters per 3 bytes, padded). */
const maxChunkChars = Math.ceil(chunkBytes / 3) * 4;

const chunkSchema = v.strictObject({
  t: v.literal('c'),
  id: transferId,
  ch: v.pipe(v.string(), v.regex(channelNamePattern)),
  seq: count,
  n: v.pipe(count, v.minValue(1)),
  // Checked against maxChannelMessageBytes by the receiver, which refuses an oversized transfer as such.
  size: count,
  enc: v.picklist(['j', 'b']),
  d: v.pipe(v.string(), v.maxLength(maxChunkChars)),
});
const ackSchema = v.strictObject({ t: v.literal('a'), id: transferId, seq: count });
const refuseSchema = v.strictObject({ t: v.literal('x'), id: transferId, why: v.picklist(['throttled', 'too-large', 'malformed']) });

const messageSchema = v.variant('t', [chunkSchema, ackSchema, refuseSchema]);

export type ChunkMsg = v.InferOutput<typeof chunkSchema>;
export type AckMsg = v.InferOutput<typeof ackSchema>;
export type RefuseMsg = v.InferOutput<typeof refuseSchema>;
export type ChannelMsg = ChunkMsg | AckMsg | RefuseMsg;

export const decodeChannelMessage = (raw: unknown): Decoded<ChannelMsg> => decodeWith(messageSchema, raw);

/** Chunks a message of `size` bytes is cut into (an empty message is one empty chunk). */
export const chunkCount = (size: number): number => Math.max(1, Math.ceil(size / chunkBytes));

/** Bytes piece `seq` of a message of `size` bytes holds. */
export const chunkLength = (size: number, seq: number): number => Math.max(0, Math.min(chunkBytes, size - seq * chunkBytes));

/** One line for traces and logs. */
export function describeChannelMessage(m: ChannelMsg): string {
  switch (m.t) {
    case 'c':
      return `chunk ${m.id} ${m.seq + 1}/${m.n} of ${m.size} B on ${m.ch}`;
    case 'a':
      return `ack ${m.id} ${m.seq}`;
    case 'x':
      return `refuse ${m.id}: ${m.why}`;
  }
}
