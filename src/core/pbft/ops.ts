// The operations of the replicated state machine, as clients submit them, and their results.
// Decisions and key–value writes are the application's; join/leave/remove change the replica
// set (see state-machine.ts for the sequence number at which they take effect).
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import type { NodeId } from '../types.ts';
import { canonicalBytes, checkJson, type JsonValue } from './json.ts';
import { maxKvKeyChars, maxNodeIdChars, maxOpChars, maxResultChars } from './constants.ts';
import { appMachineNamePattern, maxAppSnapshotBytes } from './app-limits.ts';
import { utf8Length } from './utf8.ts';

export type Op =
  /** A proposal to agree on: text or any JSON value. */
  | { kind: 'decision'; value: JsonValue }
  | { kind: 'kv-set'; key: string; value: JsonValue }
  | { kind: 'kv-del'; key: string }
  /** A node asks to become a replica (only for itself). */
  | { kind: 'join'; node: NodeId }
  /** A replica leaves gracefully (only for itself). */
  | { kind: 'leave'; node: NodeId }
  /** A replica votes to remove a node gossip declared dead; f+1 votes remove it. */
  | { kind: 'remove'; node: NodeId }
  /** An operation of an app's own state machine `machine`, ordered here and applied by the app (app-machines.ts). */
  | { kind: 'app'; machine: string; op: JsonValue }
  /** A replica's app says what `machine`'s state was after its op number `index` (app-machines.ts). */
  | { kind: 'app-checkpoint'; machine: string; index: number; snapshot: JsonValue };

export type OpKind = Op['kind'];

/**
 * What executing an operation gave. Every honest replica computes the same result, so a
 * client accepts it once f+1 replicas reply with it.
 */
export interface OpResult {
  ok: boolean;
  /** Why it failed, or a note on what happened. */
  note?: string;
  /** kv-set / kv-del: whether the key existed before. */
  existed?: boolean;
  /** join / leave / remove: the last sequence number of the old replica set. */
  effectiveAfterSeq?: number;
  /** remove: votes so far and votes needed. */
  votes?: number;
  needed?: number;
  /** app: the operation's number in its machine (1, 2, …); app-checkpoint: the number voted on. */
  index?: number;
  /** app-checkpoint: f+1 replicas' snapshots matched, so it is the machine's certified state at `index`. */
  certified?: boolean;
  /** app-checkpoint: distinct snapshots replicas gave for `index` (more than 1: the app is not deterministic). */
  variants?: number;
}

export const nodeIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(maxNodeIdChars)) as unknown as v.GenericSchema<string, NodeId>;
const jsonValue = (maxChars: number) => v.custom<JsonValue>((value) => checkJson(value, maxChars) === null, `not plain JSON within ${maxChars} characters`);
const kvKey = v.pipe(v.string(), v.minLength(1), v.maxLength(maxKvKeyChars));
const appMachineName = v.pipe(v.string(), v.regex(appMachineNamePattern, 'a machine name is 1–64 of a-z, 0-9, dash, dot, underscore, starting with a letter'));

export const opSchema: v.GenericSchema<unknown, Op> = v.pipe(
  v.variant('kind', [
    v.strictObject({ kind: v.literal('decision'), value: jsonValue(maxOpChars) }),
    v.strictObject({ kind: v.literal('kv-set'), key: kvKey, value: jsonValue(maxOpChars) }),
    v.strictObject({ kind: v.literal('kv-del'), key: kvKey }),
    v.strictObject({ kind: v.literal('join'), node: nodeIdSchema }),
    v.strictObject({ kind: v.literal('leave'), node: nodeIdSchema }),
    v.strictObject({ kind: v.literal('remove'), node: nodeIdSchema }),
    v.strictObject({ kind: v.literal('app'), machine: appMachineName, op: jsonValue(maxOpChars) }),
    v.strictObject({
      kind: v.literal('app-checkpoint'),
      machine: appMachineName,
      index: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
      snapshot: jsonValue(maxAppSnapshotBytes),
    }),
  ]),
  // A checkpoint carries the app's snapshot, bounded in UTF-8 bytes (it must fit one request); every other operation in characters.
  v.check(
    (op) => (op.kind === 'app-checkpoint' ? utf8Length(canonicalBytes(op.snapshot)) <= maxAppSnapshotBytes : canonicalBytes(op).length <= maxOpChars),
    `an operation is at most ${maxOpChars} characters of JSON (an app snapshot at most ${maxAppSnapshotBytes} bytes)`,
  ),
) as v.GenericSchema<unknown, Op>;

export const opResultSchema: v.GenericSchema<unknown, OpResult> = v.pipe(
  v.strictObject({
    ok: v.boolean(),
    note: v.optional(v.pipe(v.string(), v.maxLength(maxResultChars))),
    existed: v.optional(v.boolean()),
    effectiveAfterSeq: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
    votes: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
    needed: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
    index: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
    certified: v.optional(v.boolean()),
    variants: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  }),
  v.check((r) => canonicalBytes(r).length <= maxResultChars, `a result is at most ${maxResultChars} characters`),
);

/** Checks an operation from a user or a peer: the operation, or why it is refused. */
export function decodeOp(raw: unknown): Decoded<Op> {
  return decodeWith(opSchema, raw);
}

export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'decision': {
      const text = typeof op.value === 'string' ? op.value : canonicalBytes(op.value);
      return `decision ${text.length > 40 ? text.slice(0, 40) + '…' : text}`;
    }
    case 'kv-set':
      return `kv-set ${op.key}`;
    case 'kv-del':
      return `kv-del ${op.key}`;
    case 'app':
      return `app ${op.machine}`;
    case 'app-checkpoint':
      return `app-checkpoint ${op.machine} #${op.index}`;
    default:
      return `${op.kind} ${op.node}`;
  }
}
