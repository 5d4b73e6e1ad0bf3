// The one typed message protocol between a tab's main thread (the page) and its protocol
// worker. Both directions are decoded with these schemas on arrival: postMessage is a
// boundary like any other, and a bad message is refused and counted, never applied.
import { maxSignalingUrls } from '../net/signaling-urls.ts';
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../core/decode.ts';
import { nodeIdPattern, nodeIdSchema, plainObjectSchema } from '../core/ids.ts';
import { maxPasswordChars } from '../net/room-key.ts';
import { capabilityCodes } from '../capabilities.ts';

const peerId = nodeIdSchema;
const linkId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,32}$/));
/** WebRTC signal data as the link hosts produce/consume it (simple-peer's shapes); checked in full by signed-signal.ts. */
const peerSignal = plainObjectSchema;
const iceServer = v.object({
  urls: v.union([v.string(), v.array(v.string())]),
  username: v.optional(v.string()),
  credential: v.optional(v.string()),
});
export type IceServer = v.InferOutput<typeof iceServer>;

// ── page → worker ────────────────────────────────────────────────────────────

const init = v.strictObject({
  type: v.literal('init'),
  slot: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1023)),
  room: v.string(),
  /** One signaling server, or a list to fail over between (src/net/signaling-urls.ts). */
  signalingUrl: v.union([v.string(), v.pipe(v.array(v.string()), v.minLength(1), v.maxLength(maxSignalingUrls))]),
  iceServers: v.pipe(v.array(iceServer), v.maxLength(16)),
  /** A private room's password: only the worker derives the room key from it; it never leaves the tab. */
  password: v.optional(v.pipe(v.string(), v.maxLength(maxPasswordChars))),
});
const linkUp = v.strictObject({ type: v.literal('link-up'), peer: peerId, linkId });
const linkDown = v.strictObject({ type: v.literal('link-down'), peer: peerId, linkId, reason: v.string() });
const linkSignalOut = v.strictObject({ type: v.literal('link-signal'), peer: peerId, linkId, signal: peerSignal });
const linkData = v.strictObject({ type: v.literal('link-data'), peer: peerId, linkId, bytes: v.instance(ArrayBuffer) });
const command = v.strictObject({
  type: v.literal('command'),
  id: v.pipe(v.number(), v.integer()),
  name: v.string(),
  args: v.array(v.unknown()),
});
const shutdown = v.strictObject({ type: v.literal('shutdown') });

export const pageToWorkerSchema = v.variant('type', [init, linkUp, linkDown, linkSignalOut, linkData, command, shutdown]);
export type PageToWorker = v.InferOutput<typeof pageToWorkerSchema>;

// ── worker → page ────────────────────────────────────────────────────────────

const openLink = v.strictObject({
  type: v.literal('open-link'),
  peer: peerId,
  linkId,
  initiator: v.boolean(),
  iceServers: v.array(iceServer),
});
const linkSignalIn = v.strictObject({ type: v.literal('signal-link'), peer: peerId, linkId, signal: peerSignal });
const send = v.strictObject({ type: v.literal('send'), peer: peerId, linkId, bytes: v.instance(ArrayBuffer) });
const closeLink = v.strictObject({ type: v.literal('close-link'), peer: peerId, linkId });
const snapshot = v.strictObject({ type: v.literal('snapshot'), snapshot: plainObjectSchema });
const reply = v.strictObject({
  type: v.literal('reply'),
  id: v.pipe(v.number(), v.integer()),
  ok: v.boolean(),
  value: v.optional(v.unknown()),
  error: v.optional(v.string()),
  /** A refusal's machine-readable reason (the thrown error's `code`), for the app API's typed errors. */
  code: v.optional(v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,63}$/))),
});
/**
 * The worker cannot go on. With a `code`, the browser lacks something the worker needs
 * (src/worker/capability-check.ts): the page gives up at once instead of restarting it.
 */
const fatal = v.strictObject({ type: v.literal('fatal'), message: v.string(), code: v.optional(v.picklist(capabilityCodes)) });
/** Frames the page sends on every open link as the tab closes (the worker gets no chance to). */
const lastWords = v.strictObject({
  type: v.literal('last-words'),
  frames: v.pipe(v.array(v.instance(ArrayBuffer)), v.maxLength(16)),
});

/**
 * Changes of the replicated memory, posted as they happen (snapshots do not carry the memory in
 * a tab). `reset`: the whole memory, replacing what the page holds (a worker's first message, and
 * again after a restart); otherwise changes to apply in order. A change without `value` is a
 * delete. Bounded: a bigger change set comes in several messages.
 */
export const maxMemoryChangesPerMessage = 2_048;
const memoryChange = v.strictObject({
  key: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  value: v.optional(v.unknown()),
  origin: v.pipe(v.string(), v.regex(nodeIdPattern)),
  hlc: v.pipe(v.string(), v.maxLength(40)),
});
export type MemoryChange = v.InferOutput<typeof memoryChange>;
const memory = v.strictObject({
  type: v.literal('memory'),
  reset: v.boolean(),
  changes: v.pipe(v.array(memoryChange), v.maxLength(maxMemoryChangesPerMessage)),
});
export type MemoryMessage = v.InferOutput<typeof memory>;

/**
 * An event for the app (src/api): a service's news as it happens, by name ('channel',
 * 'consensus-commit', …). The payload is checked again by the app-side code that listens for
 * `name`; it may carry transferred ArrayBuffers.
 */
export const appEventNamePattern = /^[a-z][a-z0-9-]{0,63}$/;
const appEvent = v.strictObject({
  type: v.literal('event'),
  name: v.pipe(v.string(), v.regex(appEventNamePattern)),
  payload: v.unknown(),
});
export type AppEvent = v.InferOutput<typeof appEvent>;

export const workerToPageSchema = v.variant('type', [openLink, linkSignalIn, send, closeLink, snapshot, reply, fatal, lastWords, memory, appEvent]);
export type WorkerToPage = v.InferOutput<typeof workerToPageSchema>;

export const decodePageToWorker = (raw: unknown): Decoded<PageToWorker> => decodeWith(pageToWorkerSchema, raw);
export const decodeWorkerToPage = (raw: unknown): Decoded<WorkerToPage> => decodeWith(workerToPageSchema, raw);
