// A named channel of a room: JSON values or bytes to one node or to everyone, delivered whole
// (up to 16 MiB), routed to nodes that are not direct neighbours, paced so the mesh's own
// traffic keeps flowing. The node does the work (src/worker/services/app-channel.ts); this is
// the typed face the app holds, and the place where the app's validator checks what arrives.
import type { StandardSchemaV1 } from '@standard-schema/spec';
import * as v from 'valibot';
import { channelNamePattern, maxChannelMessageBytes } from '../core/channel/limits.ts';
import type { NodeBackend } from './backend.ts';
import { AbortError, TabmeshError, abortable, fromNodeError } from './errors.ts';
import { TypedEmitter } from './events.ts';
import { FeatureSubscriptions, checkFeatureName } from './feature.ts';

export type { StandardSchemaV1 };

/** The app event the node posts for each whole message (src/worker/services/app-channel.ts). */
const channelEventName = 'channel';

/**
 * What a channel carries: JSON values (objects, arrays, strings, numbers, booleans, null), or a
 * Uint8Array, which stays bytes end to end.
 */
export type ChannelData = Uint8Array | JsonValue;
/** A value that survives JSON.stringify and JSON.parse unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Why a channel call failed, as `ChannelError.code` (an aborted send rejects with the API's
 * AbortError instead, and a call after room.leave() with RoomClosedError):
 * - `channel-bad-name`: the name is not 1–64 letters, digits and `-_.:/`;
 * - `channel-bad-data`: the message is neither a Uint8Array nor a JSON value;
 * - `channel-too-large`: over 16 MiB (maxChannelMessageBytes);
 * - `channel-bad-target`: `to` is not another node's id;
 * - `channel-bad-argument`: the options are not `{ to?, signal? }`;
 * - `channel-busy`: this node holds 64 MiB (or 1,024 messages) not yet delivered; wait for sends to finish;
 * - `channel-undeliverable`: the receiver acknowledged nothing for 20 s, or left the room;
 * - `channel-throttled`: the receiver refuses this node's messages for a while (it sent too many bad ones);
 * - `channel-refused`: the receiver found the message malformed or too large;
 * - `channel-aborted`: the node stopped the send on request (the page's AbortSignal gives AbortError);
 * - `channel-closed`: the channel (or the node) was closed.
 */
export type ChannelErrorCode =
  | 'channel-bad-name'
  | 'channel-bad-data'
  | 'channel-too-large'
  | 'channel-bad-target'
  | 'channel-bad-argument'
  | 'channel-busy'
  | 'channel-undeliverable'
  | 'channel-throttled'
  | 'channel-refused'
  | 'channel-aborted'
  | 'channel-closed';

/** A channel call that failed; `code` says why (ChannelErrorCode), the message what to change. */
export class ChannelError extends TabmeshError {
  override name = 'ChannelError';
  /** Why it failed (ChannelErrorCode). */
  declare readonly code: ChannelErrorCode;

  /**
   * @param code why it failed
   * @param message what went wrong and what to change
   * @param options `cause`: the node's refusal, if any
   */
  constructor(code: ChannelErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface ChannelOptions<T> {
  /**
   * Checks every message that arrives (any Standard Schema: valibot, zod, arktype, …). A message
   * that fails is counted (stats().invalid here, snapshot().channels.invalid in the node), never
   * reaches a listener, and counts against its sender, which is throttled if it keeps on.
   * Listeners get the validator's output (so transforms apply).
   */
  validate?: StandardSchemaV1<unknown, T>;
}

export interface ChannelSendOptions {
  /** The node to send to (its id, as `from` in a listener or room.id there). Default: every live member. */
  to?: string;
  /** Aborts the send: what is not yet delivered stops, and send() rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Counts of this channel object (the node's counts are in snapshot().channels). */
export interface ChannelStats {
  /** Messages handed to listeners. */
  received: number;
  /** Messages the validator refused (dropped). */
  invalid: number;
  /** Messages this channel sent that every receiver acknowledged. */
  sent: number;
}

export interface Channel<T extends ChannelData = ChannelData> {
  /** The channel's name, as given. */
  readonly name: string;
  /**
   * Sends `data` to `options.to`, or to every live member of the room. Resolves once every
   * receiver's node holds the whole message (for everyone: every receiver that could be reached;
   * those that could not are counted in snapshot().channels.counters.failed). Rejects with a
   * ChannelError. Messages from one node to another on one channel arrive in the order sent.
   */
  send(data: T, options?: ChannelSendOptions): Promise<void>;
  /** Calls `listener` with each message that arrives on this channel and who sent it; returns the unsubscribe. */
  on(listener: (message: T, from: string) => void): () => void;
  /** Counts of what this channel object saw. */
  stats(): ChannelStats;
  /** Stops listening; later sends reject with `channel-closed`. Sends under way go on. */
  close(): void;
}

const eventSchema = v.variant('binary', [
  v.object({ channel: v.string(), from: v.string(), binary: v.literal(true), data: v.instance(Uint8Array) }),
  v.object({ channel: v.string(), from: v.string(), binary: v.literal(false), data: v.unknown() }),
]);

let sendCounter = 0;
/** A send id unique in this page (the node refuses one that is under way). */
const freshSendId = () => `p${Date.now().toString(36)}.${(++sendCounter).toString(36)}`;

/** The node's refusal as a typed error: a ChannelError for the channel's own codes, else the API's (RoomClosedError, NodeRefusedError, …). */
function typedError(error: unknown): Error {
  if (error instanceof ChannelError) return error;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('channel-'))
    return new ChannelError(code as ChannelErrorCode, error instanceof Error ? error.message : String(error), { cause: error });
  return fromNodeError(error);
}

/**
 * A channel named `name` on the node behind `backend` (the Room's `room.channel(name)` calls
 * this). Throws a ChannelError `channel-bad-name` for a bad name, `channel-bad-argument` for a
 * validator that is not a Standard Schema.
 */
export function createChannel<T extends ChannelData = ChannelData>(backend: NodeBackend, name: string, options: ChannelOptions<T> = {}): Channel<T> {
  checkFeatureName(
    name,
    channelNamePattern,
    (shown) => new ChannelError('channel-bad-name', `channel name ${shown}: use 1–64 letters, digits and -_.:/ starting with a letter or digit`),
  );
  const validator = options.validate;
  if (validator !== undefined && (typeof validator !== 'object' || validator === null || typeof validator['~standard']?.validate !== 'function')) {
    throw new ChannelError('channel-bad-argument', 'validate must be a Standard Schema (valibot, zod, arktype, …): an object with ~standard.validate');
  }
  // One listener's bug must not keep the message from the others.
  const listeners = new TypedEmitter<{ message: [T, string] }>((error) => console.error(`tabmesh: a listener of channel ${name} threw:`, error));
  const counts: ChannelStats = { received: 0, invalid: 0, sent: 0 };
  const subscriptions = new FeatureSubscriptions(backend);
  // Messages are handed on in the order they arrived, even when the validator is asynchronous.
  let queue: Promise<void> = Promise.resolve();

  const hand = (message: T, from: string) => {
    if (subscriptions.closed) return;
    counts.received++;
    listeners.emit('message', message, from);
  };
  const refuse = (from: string) => {
    counts.invalid++;
    // The node counts it too, and throttles a sender that keeps sending what the app refuses.
    backend.command('channelInvalid', name, from).catch(() => {});
  };
  const check = (data: unknown, from: string): void | Promise<void> => {
    if (!validator) return hand(data as T, from);
    const outcome = (result: StandardSchemaV1.Result<T>) => ('issues' in result && result.issues ? refuse(from) : hand(result.value, from));
    let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>;
    try {
      result = validator['~standard'].validate(data);
    } catch {
      return refuse(from);
    }
    return result instanceof Promise ? result.then(outcome, () => refuse(from)) : outcome(result);
  };
  let pending = 0;
  subscriptions.onEvent(channelEventName, (payload) => {
    const event = v.safeParse(eventSchema, payload);
    if (!event.success || event.output.channel !== name) return;
    const { data, from } = event.output;
    if (pending === 0) {
      const done = check(data, from);
      if (!(done instanceof Promise)) return;
      pending++;
      queue = done.finally(() => void pending--);
      return;
    }
    pending++;
    queue = queue.then(() => check(data, from)).finally(() => void pending--);
  });

  return {
    name,
    async send(data, sendOptions = {}) {
      if (subscriptions.closed) throw new ChannelError('channel-closed', `channel ${name} is closed; create it again to send`);
      if (typeof sendOptions !== 'object' || sendOptions === null)
        throw new ChannelError('channel-bad-argument', 'the options are an object: { to?, signal? }');
      const { to, signal } = sendOptions;
      if (to !== undefined && typeof to !== 'string') throw new ChannelError('channel-bad-target', 'to must be a node id (a string), or left out for everyone');
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ChannelError('channel-bad-argument', 'signal must be an AbortSignal');
      if (data instanceof Uint8Array && data.byteLength > maxChannelMessageBytes) {
        throw new ChannelError('channel-too-large', `the message is ${data.byteLength} bytes; a channel carries at most ${maxChannelMessageBytes} (16 MiB)`);
      }
      if (data === undefined || typeof data === 'function' || typeof data === 'symbol' || typeof data === 'bigint') {
        throw new ChannelError('channel-bad-data', `a ${typeof data} has no JSON form; send JSON values or a Uint8Array`);
      }
      if (signal?.aborted) throw new AbortError(signal.reason);
      const sendId = freshSendId();
      const sent = backend
        .command('channelSend', name, data, { ...(to !== undefined ? { to } : {}), sendId })
        .catch((error: unknown) => Promise.reject(typedError(error)));
      // On abort, the node is told to stop what is not yet delivered.
      await abortable(sent, signal, () => void backend.command('channelCancel', sendId).catch(() => {}));
      counts.sent++;
    },
    on(listener) {
      if (typeof listener !== 'function') throw new ChannelError('channel-bad-argument', 'a listener is a function (message, from) => …');
      return listeners.on('message', listener);
    },
    stats: () => ({ ...counts }),
    close() {
      if (subscriptions.close()) listeners.clear();
    },
  };
}
