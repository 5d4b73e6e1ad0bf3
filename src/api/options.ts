// joinRoom's options, checked once at the door: every problem becomes an InvalidArgumentError
// naming the option and what it must be, before any worker, socket or slot is taken.
import * as v from 'valibot';
import { roomSchema } from '../../signaling/protocol.ts';
import { iceServersSchema, iceTransportPolicySchema, type IceServerConfig, type IceTransportPolicy } from '../../signaling/ice-config.ts';
import { maxSignalingUrls } from '../net/signaling-urls.ts';
import { passwordProblem } from '../net/room-key.ts';
import { InvalidArgumentError } from './errors.ts';

/** What joinRoom takes, in a browser (tabmesh/node adds `dataDir`). */
export interface JoinRoomOptions {
  /** The room to join: 1–64 letters, digits, dots, dashes or underscores. Nodes only ever meet nodes of their own room. */
  room: string;
  /**
   * The signaling server's WebSocket URL (ws:// or wss://), or several servers of one cluster:
   * the node uses the first and moves on to the next when a connection closes or is refused.
   * Default: `/signal` on the page's own origin (what `npm start` and `tabmesh/server` serve).
   */
  signaling?: string | string[];
  /** STUN/TURN servers (RTCIceServer objects). Default: what the serving origin's /config.json says, else none. */
  iceServers?: IceServerConfig;
  /** 'relay': connect through TURN relays only. Default: what /config.json says, else 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /**
   * A private room's password (at least 8 characters). The room key is derived from it in the
   * node and it is never sent anywhere; nodes without it, or with another, cannot join.
   */
  password?: string;
  /** Aborts the join: joinRoom then rejects with an AbortError and the node it started leaves. */
  signal?: AbortSignal;
}

const signalingUrl = v.pipe(
  v.string('a signaling URL is a string'),
  v.check((text) => {
    try {
      const url = new URL(text);
      return url.protocol === 'ws:' || url.protocol === 'wss:';
    } catch {
      return false;
    }
  }, 'a signaling URL is a ws:// or wss:// URL, e.g. wss://example.org/signal'),
);

export const abortSignal = v.custom<AbortSignal>(
  (value) => typeof AbortSignal !== 'undefined' && value instanceof AbortSignal,
  'must be an AbortSignal (e.g. AbortSignal.timeout(10_000))',
);

/** A private room's password: refused with the reason when it is not usable (src/net/room-key.ts). */
export const passwordSchema = v.pipe(
  v.string('a room password is a string'),
  v.check(
    (text) => passwordProblem(text) === null,
    (issue) => passwordProblem(issue.input as string) ?? 'not a usable password',
  ),
);

/**
 * One signaling address or a list of 1–`maxSignalingUrls` of them, each checked by `one`. The
 * browser (ws:// URLs) and Node (also http:// addresses) differ only in `one` and the messages.
 */
export const signalingList = <S extends v.GenericSchema<unknown, string>>(one: S, tooFew: string, notAddress: string) =>
  v.union([one, v.pipe(v.array(one), v.minLength(1, tooFew), v.maxLength(maxSignalingUrls, `at most ${maxSignalingUrls} signaling addresses`))], notAddress);

/** The options every backend shares; `extra` adds a backend's own (dataDir). */
export const joinRoomEntries = {
  room: roomSchema,
  signaling: v.optional(
    signalingList(signalingUrl, 'give at least one signaling URL, or leave the option out', 'must be a ws:// or wss:// URL or a list of them'),
  ),
  iceServers: v.optional(iceServersSchema),
  iceTransportPolicy: v.optional(iceTransportPolicySchema),
  password: v.optional(passwordSchema),
  signal: v.optional(abortSignal),
};

/** A strict object of `entries` whose unknown keys are refused with the list of known ones (a typo such as `signalling` is caught). */
export const strictOptions = <E extends v.ObjectEntries>(entries: E) =>
  v.strictObject(entries, (issue) =>
    issue.expected === 'never'
      ? `is not an option; the options are ${Object.keys(entries).join(', ')}`
      : issue.path && issue.path.length > 0
        ? 'is required'
        : 'must be an object',
  );

const joinRoomSchema = strictOptions(joinRoomEntries);

/**
 * `options` checked against `schema` (a strict object: unknown keys are refused, so a typo such
 * as `signalling` is caught); throws an InvalidArgumentError naming the first problem.
 */
export function checkOptions<T>(schema: v.GenericSchema<unknown, T>, options: unknown, what = 'options'): T {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidArgumentError(what, 'must be an object such as { room: "demo" }');
  const result = v.safeParse(schema, options);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issue.path?.map((p) => String(p.key)).join('.');
  // An unknown key's issue names the key in its path.
  return fail(path ? `${what}.${path}` : what, issue.message);
}

function fail(argument: string, message: string): never {
  throw new InvalidArgumentError(argument, message);
}

/** joinRoom's options, checked (browser). */
export const checkJoinRoomOptions = (options: unknown): JoinRoomOptions => checkOptions(joinRoomSchema, options) as JoinRoomOptions;
