// The link protocol: what two directly linked nodes say to each other about the link itself
// (liveness, round-trip time, a polite goodbye) and the demo's direct text messages.
import * as v from 'valibot';
import { decodeWith } from '../decode.ts';

/** Longest text message, in characters. */
export const maxChatChars = 2_000;

const ping = v.strictObject({ type: v.literal('ping'), n: v.pipe(v.number(), v.integer(), v.minValue(0)) });
const pong = v.strictObject({ type: v.literal('pong'), n: v.pipe(v.number(), v.integer(), v.minValue(0)) });
const bye = v.strictObject({ type: v.literal('bye'), reason: v.pipe(v.string(), v.maxLength(200)) });
const chat = v.strictObject({ type: v.literal('chat'), text: v.pipe(v.string(), v.maxLength(maxChatChars)) });

const linkMessageSchema = v.variant('type', [ping, pong, bye, chat]);
export type LinkMessage = v.InferOutput<typeof linkMessageSchema>;

export function decodeLinkMessage(raw: unknown): LinkMessage | null {
  const decoded = decodeWith(linkMessageSchema, raw);
  return decoded.ok ? decoded.value : null;
}

export function describeLinkMessage(m: LinkMessage): string {
  switch (m.type) {
    case 'ping':
    case 'pong':
      return `${m.type} #${m.n}`;
    case 'bye':
      return `bye (${m.reason})`;
    case 'chat':
      return `chat "${m.text.slice(0, 40)}"`;
  }
}
