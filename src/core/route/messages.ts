// Routed messages, carried in link frames tagged 'route' (src/core/envelope.ts).
//
//   routed   one destination, forwarded hop by hop; every hop recomputes the next hop from its
//            own picture of the mesh, avoiding the nodes already on `path` (which also makes
//            loops detectable: a node that finds itself on the path drops the message).
//            `via` (optional): waypoints toward a destination beyond the sender's neighbourhood
//            (the overlay knows only the mesh within advertRadiusHops): the path a route
//            discovery found. Each hop heads for the farthest waypoint it can see.
//   flood    every node, once: forwarded to every link but the one it came in on, deduplicated
//            by (origin, id), bounded by maxHops.
//   seek     a route discovery for `target`, flooded like `flood` and carrying the path it took,
//            until a node sees the target or knows a way to it (then sent on along that way,
//            with `via` as for routed); the target answers the origin with a signed routed
//            message of kind routeFoundKind whose payload is that path (sent back along it as
//            waypoints).
// Both carry an opaque payload with a `kind` (e.g. 'signal' for WebRTC offers relayed over the
// mesh while the signaling server is down); the router never looks inside the payload.
import * as v from 'valibot';
import { decodeWith } from '../decode.ts';
import { maxSignatureChars, nodeIdSchema } from '../overlay/messages.ts';
import { utf8Length } from '../utf8.ts';

/** Hop bound when the sender does not choose one: well above the diameter of a 4,096-node mesh. */
export const defaultMaxHops = 16;
/** Largest hop bound a message may carry (and so the longest `path`). */
export const maxHopsLimit = 64;
/**
 * Largest payload, in UTF-8 bytes of its JSON text: with the message around it, well within
 * maxRoutedMessageBytes (a bound in characters would let non-ASCII text pass it and then be
 * dropped unread by the next hop).
 */
export const maxRoutedPayloadBytes = 48 * 1024;
/** Largest routed frame on the wire, as reported by the runtime; larger ones are dropped unread. */
export const maxRoutedMessageBytes = 64 * 1024;

const idSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a message id is 1–64 letters, digits, dots, colons, dashes or underscores'));
const kindSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'a kind is 1–64 letters, digits or _.:/-'));
const hopsSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxHopsLimit));
/** A message's hop bound: what the sender allows, at most maxHopsLimit. */
export const maxHopsSchema = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxHopsLimit));
/** Nodes a message went through (origin first, the sender of this copy last), or waypoints. */
const pathSchema = v.pipe(v.array(nodeIdSchema), v.minLength(1), v.maxLength(maxHopsLimit + 1));

/** What every hop-by-hop message carries: who sent it first, and how far it has come. */
const travelEntries = {
  id: idSchema,
  origin: nodeIdSchema,
  /** Hops taken so far (0 when the origin sends it). */
  hops: hopsSchema,
  maxHops: maxHopsSchema,
};

const routedSchema = v.strictObject({
  type: v.literal('routed'),
  ...travelEntries,
  dest: nodeIdSchema,
  path: pathSchema,
  via: v.optional(pathSchema),
  kind: kindSchema,
  payload: v.unknown(),
});

const seekSchema = v.strictObject({
  type: v.literal('seek'),
  ...travelEntries,
  target: nodeIdSchema,
  path: pathSchema,
  /** Waypoints to the target, once a node that knew a way sent the seek along it. */
  via: v.optional(pathSchema),
});

/** The kind of a routed answer to a seek; its payload is foundSchema. */
export const routeFoundKind = 'route/found';
export const foundSchema = v.strictObject({
  seek: idSchema,
  target: nodeIdSchema,
  /** The path the seek took, origin first, target last: one longer than the seek's own. */
  path: v.pipe(v.array(nodeIdSchema), v.minLength(2), v.maxLength(maxHopsLimit + 2)),
  /** The target's signature over foundSigningText (opaque here: the runtime makes and checks it). */
  sig: v.pipe(v.string(), v.minLength(1), v.maxLength(maxSignatureChars)),
});
export type Found = v.InferOutput<typeof foundSchema>;

/**
 * The exact text a seek's target signs for its answer: the seek, and the path it took (origin
 * first, target last). Without it any node that sees the flooded seek could answer in the
 * target's name with a path through itself and take the origin's traffic for the target.
 */
export function foundSigningText(found: Omit<Found, 'sig'>): string {
  return `tabmesh-route-found/1\n${found.seek}\n${found.target}\n${found.path.join('\n')}`;
}

const floodSchema = v.strictObject({
  type: v.literal('flood'),
  ...travelEntries,
  kind: kindSchema,
  payload: v.unknown(),
});

const routeMessageSchema = v.variant('type', [routedSchema, floodSchema, seekSchema]);

export type RouteMsg = v.InferOutput<typeof routeMessageSchema>;
export type RoutedMsg = v.InferOutput<typeof routedSchema>;
export type FloodMsg = v.InferOutput<typeof floodSchema>;
export type SeekMsg = v.InferOutput<typeof seekSchema>;

export const messageIdSchema = idSchema;
export const messageKindSchema = kindSchema;

/** A checked routed message, or null; never throws. */
export function decodeRouteMessage(raw: unknown): RouteMsg | null {
  const decoded = decodeWith(routeMessageSchema, raw);
  return decoded.ok ? decoded.value : null;
}

export function explainRouteMessage(raw: unknown): { ok: true; msg: RouteMsg } | { ok: false; error: string } {
  const decoded = decodeWith(routeMessageSchema, raw);
  return decoded.ok ? { ok: true, msg: decoded.value } : { ok: false, error: decoded.error };
}

/** UTF-8 bytes of the payload's JSON text, or null if it has none (undefined, a function, a cycle). */
export function payloadBytes(payload: unknown): number | null {
  try {
    const text = JSON.stringify(payload) as string | undefined;
    return text === undefined ? null : utf8Length(text);
  } catch {
    return null;
  }
}

export function describeRouteMessage(m: RouteMsg): string {
  if (m.type === 'seek') return `seek ${m.target} from ${m.origin} #${m.id} hop ${m.hops}/${m.maxHops}`;
  if (m.type === 'routed') return `routed ${m.kind} ${m.origin}→${m.dest} #${m.id} hop ${m.hops}/${m.maxHops} via [${m.path.join(' ')}]`;
  return `flood ${m.kind} from ${m.origin} #${m.id} hop ${m.hops}/${m.maxHops}`;
}
