// Every frame on a link is UTF-8 JSON `{ p, m }`: which protocol core it is for, and that
// core's message, which the core's own messages.ts decodes. Size is checked before parsing.
import * as v from 'valibot';
import { decodeWith, parseJson, type Decoded } from './decode.ts';
import type { ProtocolTag } from './types.ts';

/** Largest frame a node accepts from a peer; larger ones are refused unread. */
export const maxFrameBytes = 256 * 1024;

export interface Frame {
  p: ProtocolTag;
  m: unknown;
}

const frameSchema = v.strictObject({
  p: v.picklist(['gossip', 'overlay', 'route', 'pbft', 'steal', 'link', 'channel', 'demo'] satisfies ProtocolTag[]),
  m: v.unknown(),
});

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(p: ProtocolTag, m: unknown): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({ p, m }));
}

export function decodeFrame(bytes: Uint8Array): Decoded<Frame> {
  if (bytes.byteLength > maxFrameBytes) return { ok: false, error: `frame of ${bytes.byteLength} bytes exceeds ${maxFrameBytes}` };
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, error: 'frame is not UTF-8' };
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  const frame = decodeWith(frameSchema, parsed.value);
  return frame.ok ? { ok: true, value: { p: frame.value.p, m: frame.value.m } } : frame;
}
