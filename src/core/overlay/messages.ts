// The overlay's wire messages, carried in link frames tagged 'overlay' (src/core/envelope.ts).
//
//   advert   a node's signed list of direct links, flooded to its neighbourhood (an OSPF LSA
//            with a hop budget): { origin, seq, ageMs, ttl, links: [{ peer, rttMs? }], sig }.
//            The signature (opaque here) is made and checked by the runtime over
//            advertSigningText(advert); `ageMs` and `ttl` are left out of it because every hop
//            changes them. `ttl` is the hops the advert may still travel (advertRadiusHops at
//            the origin's neighbours, 1 at the edge of the neighbourhood: not forwarded).
//   digest   "these are the adverts I hold": [origin, seq] pairs, sent to a neighbour when a
//            link comes up so each side asks only for what it lacks.
//   request  "send me these origins' adverts".
//   unlink   sent just before a node closes a link on purpose, so the other end does not redial.
import * as v from 'valibot';
import { decodeWith } from '../decode.ts';
import { advertRadiusHops, maxAdvertLinks, maxDigestEntries, maxRequestOrigins } from './config.ts';
import type { NodeId } from '../types.ts';

/** Longest node id accepted (a tab's id is 43 base64url characters; simulations use short ones). */
export const maxNodeIdChars = 64;
/** Longest opaque signature string accepted (an Ed25519 signature is 86 base64url characters). */
export const maxSignatureChars = 512;
/** Largest RTT worth reporting; anything above is treated as broken input. */
export const maxReportedRttMs = 60_000;

export const nodeIdSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(maxNodeIdChars),
  v.regex(/^[A-Za-z0-9_.:-]+$/, 'a node id is 1–64 letters, digits, dots, colons, dashes or underscores'),
  v.transform((s) => s as NodeId),
);

/** Integers only; the core decides whether a sequence number is possible (see overlay.ts). */
const seqSchema = v.pipe(v.number(), v.integer());

const advertLinkSchema = v.strictObject({
  peer: nodeIdSchema,
  rttMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxReportedRttMs))),
});

export const advertSchema = v.strictObject({
  type: v.literal('advert'),
  origin: nodeIdSchema,
  seq: seqSchema,
  ageMs: v.pipe(v.number(), v.integer(), v.minValue(0)),
  ttl: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(advertRadiusHops)),
  links: v.pipe(v.array(advertLinkSchema), v.maxLength(maxAdvertLinks)),
  sig: v.pipe(v.string(), v.minLength(1), v.maxLength(maxSignatureChars)),
});

const digestSchema = v.strictObject({
  type: v.literal('digest'),
  entries: v.pipe(v.array(v.strictObject({ origin: nodeIdSchema, seq: seqSchema })), v.maxLength(maxDigestEntries)),
});

const requestSchema = v.strictObject({
  type: v.literal('request'),
  origins: v.pipe(v.array(nodeIdSchema), v.maxLength(maxRequestOrigins)),
});

export const unlinkReasons = ['prune', 'full', 'flooding', 'leaving'] as const;
export type UnlinkReason = (typeof unlinkReasons)[number];

const unlinkSchema = v.strictObject({ type: v.literal('unlink'), reason: v.picklist(unlinkReasons) });

const overlayMessageSchema = v.variant('type', [advertSchema, digestSchema, requestSchema, unlinkSchema]);

export type OverlayMsg = v.InferOutput<typeof overlayMessageSchema>;
export type AdvertMsg = v.InferOutput<typeof advertSchema>;
export type AdvertLink = AdvertMsg['links'][number];
export type DigestMsg = v.InferOutput<typeof digestSchema>;
export type RequestMsg = v.InferOutput<typeof requestSchema>;
export type UnlinkMsg = v.InferOutput<typeof unlinkSchema>;
/** What the runtime signs: an advert without its signature and age. */
export type AdvertBody = Pick<AdvertMsg, 'origin' | 'seq' | 'links'>;

/** A checked overlay message, or null; never throws. */
export function decodeOverlayMessage(raw: unknown): OverlayMsg | null {
  const decoded = decodeWith(overlayMessageSchema, raw);
  return decoded.ok ? decoded.value : null;
}

/** Like decodeOverlayMessage, with the reason on failure (for logs and traces). */
export function explainOverlayMessage(raw: unknown): { ok: true; msg: OverlayMsg } | { ok: false; error: string } {
  const decoded = decodeWith(overlayMessageSchema, raw);
  return decoded.ok ? { ok: true, msg: decoded.value } : { ok: false, error: decoded.error };
}

/**
 * The exact text the origin signs for an advert. Line-based so it does not depend on key order;
 * RTTs are whole milliseconds so every engine prints them the same way.
 */
export function advertSigningText(body: AdvertBody): string {
  const links = body.links.map((l) => (l.rttMs === undefined ? l.peer : `${l.peer}@${l.rttMs}`)).join(',');
  return `tabmesh-advert/1\n${body.origin}\n${body.seq}\n${links}`;
}

export function describeOverlayMessage(m: OverlayMsg): string {
  switch (m.type) {
    case 'advert':
      return `advert ${m.origin}#${m.seq} age ${m.ageMs} ms ttl ${m.ttl}, links [${m.links.map((l) => l.peer).join(', ')}]`;
    case 'digest':
      return `digest of ${m.entries.length} adverts`;
    case 'request':
      return `request for ${m.origins.length} adverts`;
    case 'unlink':
      return `unlink (${m.reason})`;
  }
}
