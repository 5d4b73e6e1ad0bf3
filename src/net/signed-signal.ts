// WebRTC signals (SDP offers/answers, ICE candidates) signed end to end by the node that made
// them. The signaling server, or any mesh node relaying them, cannot forge or alter one: the
// SDP carries the DTLS certificate fingerprint, so a valid signature over it proves that the
// data channel we open reaches the node we meant to reach, and nobody in between.
import * as v from 'valibot';
import type { NodeId } from '../core/types.ts';
import { canonicalJson } from '../crypto/canonical.ts';
import { nodeIdSchema, signatureSchema } from '../core/ids.ts';

/** Largest signal we accept (an SDP is usually 0.5–3 KiB). */
export const maxSignalBytes = 16 * 1024;

/** What a link emits on 'signal' and takes in signal() (simple-peer's shapes, which NativePeer keeps so older nodes link); kept loose but bounded. */
const peerSignalSchema = v.union([
  v.object({ type: v.picklist(['offer', 'answer']), sdp: v.pipe(v.string(), v.maxLength(maxSignalBytes)) }),
  v.object({
    type: v.literal('candidate'),
    candidate: v.object({
      candidate: v.pipe(v.string(), v.maxLength(2048)),
      sdpMLineIndex: v.optional(v.nullable(v.number())),
      sdpMid: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
      usernameFragment: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
    }),
  }),
  v.object({ type: v.literal('renegotiate'), renegotiate: v.literal(true) }),
]);
export type PeerSignal = v.InferOutput<typeof peerSignalSchema>;

const signalBodySchema = v.strictObject({
  v: v.literal(1),
  from: nodeIdSchema,
  to: nodeIdSchema,
  /** One id per link attempt; signals of an older attempt are ignored. */
  session: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,32}$/)),
  /** 'signal' carries WebRTC data; 'connect' asks the receiver to open a link as initiator. */
  kind: v.picklist(['signal', 'connect']),
  signal: v.optional(peerSignalSchema),
});
export type SignalBody = v.InferOutput<typeof signalBodySchema>;

const signedSignalSchema = v.strictObject({
  body: signalBodySchema,
  sig: signatureSchema,
});
export type SignedSignal = v.InferOutput<typeof signedSignalSchema>;

export function signingText(body: SignalBody): string {
  return `tabmesh-signal/1\n${canonicalJson(body)}`;
}

export type SignalCheck = { ok: true; signal: SignedSignal } | { ok: false; reason: string };

/**
 * Checks shape, size and addressing. The signature itself is checked by the caller with
 * verifyText(body.from, signingText(body), sig), because that is asynchronous.
 */
export function decodeSignedSignal(raw: unknown, expectedTo: NodeId, claimedFrom?: NodeId): SignalCheck {
  const parsed = v.safeParse(signedSignalSchema, raw);
  if (!parsed.success) return { ok: false, reason: `malformed signal: ${parsed.issues[0].message}` };
  const signal = parsed.output;
  if (signal.body.to !== expectedTo) return { ok: false, reason: 'signal addressed to another node' };
  if (claimedFrom !== undefined && signal.body.from !== claimedFrom) {
    return { ok: false, reason: 'signal signed by a node other than its sender' };
  }
  if (signal.body.kind === 'signal' && !signal.body.signal) return { ok: false, reason: 'signal without WebRTC data' };
  return { ok: true, signal };
}
