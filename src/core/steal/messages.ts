// The work-stealing protocol between nodes. Every message from a peer goes through
// `decodeStealMessage` before the core looks at it: schema, caps and JSON budgets are checked
// here, and anything else is refused with a reason (counted by the core, never applied).
//
//   thief ── steal-request { reqId, want, kinds } ─► victim        (thief has idle workers)
//   thief ◄─ steal-grant { reqId, tasks } | steal-deny { reqId } ── victim   (half its queue)
//   busy  ── shed { shedId, tasks } ─► lighter peer;  ◄─ shed-return { shedId, tasks } (refused ones)
//   holder ── lease-renew { refs } ─► home;   home ── lease-cancel { refs } ─► holder (no longer wanted)
//   worker ── result { ref, outcome } ─► home
//   anyone ── load { advert } ─► anyone (the runtime may also carry adverts over gossip)
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import type { NodeId } from '../types.ts';
import { measureJson, type JsonValue } from './json.ts';

/** A job's id: `<home node id>~<base36 time>~<counter>`; unique per home. */
export type JobId = string & { readonly __brand: 'JobId' };
/** One task of a job: `<job id>#<index>`. */
export type TaskId = string & { readonly __brand: 'TaskId' };

export const asJobId = (raw: string): JobId => raw as JobId;
export const taskIdOf = (jobId: JobId, index: number): TaskId => `${jobId}#${index}` as TaskId;

export const priorities = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof priorities)[number];

/** Longest ids and names accepted from peers. */
export const maxIdChars = 128;
export const maxJobIdChars = 200;
export const maxKindChars = 32;
/** Most tasks (or task references) in one message. */
export const maxTasksPerMessage = 256;
/** Most nodes a task may name as not allowed to run it. */
export const maxExcludedNodes = 32;
/** Most kinds a thief may list. */
export const maxKindsListed = 64;
/** Longest error text carried in a failed result. */
export const maxErrorChars = 500;
/** Most tasks of a job (matches the kernel registry's cap). */
export const maxTaskIndex = 4096;
/** Replica numbers stay small: redundancy plus a few tie-breakers. */
export const maxReplicaIndex = 16;
/** Attempts per replica never get near this; it bounds what a peer may claim. */
export const maxAttemptNumber = 1_000;
/** Task parameters accepted in messages at most (the core may set a lower limit). */
export const maxParamsBytesOnWire = 16 * 1024;
/** Results accepted in messages at most (the core and each kind may set lower limits). */
export const maxResultBytesOnWire = 240 * 1024;

const nodeId = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(maxIdChars),
  v.transform((s) => s as NodeId),
);
const jobId = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(maxJobIdChars),
  v.transform((s) => s as JobId),
);
const kind = v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]{0,31}$/, 'a kind is 1–32 lower-case letters, digits or dashes'));
const count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max));
const token = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/, 'a token is 1–32 base64url characters'));
const json = (maxBytes: number) => v.custom<JsonValue>((value) => measureJson(value, maxBytes).ok, `not JSON within ${maxBytes} bytes`);

/** A task on the move: everything a node needs to run it and to report back to its home. */
const taskSchema = v.strictObject({
  jobId,
  index: count(maxTaskIndex - 1),
  /** How many tasks the job has (for views of foreign jobs). */
  total: v.pipe(count(maxTaskIndex), v.minValue(1)),
  home: nodeId,
  kind,
  priority: v.picklist(priorities),
  params: json(maxParamsBytesOnWire),
  /** Relative cost estimate (larger runs longer); orders work and balances steals. */
  cost: v.pipe(v.number(), v.finite(), v.minValue(0)),
  /** Which of the task's redundant copies this is (0 unless verified). */
  replica: count(maxReplicaIndex - 1),
  /** 1 for the first hand-out of this replica, +1 per retry. */
  attempt: v.pipe(count(maxAttemptNumber), v.minValue(1)),
  /** The home's unguessable token for this attempt; a result must carry it. */
  ticket: token,
  /** Nodes that must not run this copy (they ran another replica, or are distrusted). */
  exclude: v.pipe(v.array(nodeId), v.maxLength(maxExcludedNodes)),
  /** Times this task has moved between nodes. */
  hops: count(10_000),
});
export type WorkItem = v.InferOutput<typeof taskSchema>;

/** Names one attempt of one replica of one task: what leases and results refer to. */
const refSchema = v.strictObject({
  jobId,
  index: count(maxTaskIndex - 1),
  replica: count(maxReplicaIndex - 1),
  attempt: v.pipe(count(maxAttemptNumber), v.minValue(1)),
  ticket: token,
});
export type TaskRef = v.InferOutput<typeof refSchema>;

/** A node's load as it tells its peers (the runtime may also carry it over gossip). */
const advertSchema = v.strictObject({
  node: nodeId,
  /** The advertiser's start time; with `seq`, orders adverts across restarts. */
  boot: v.pipe(v.number(), v.finite()),
  seq: count(Number.MAX_SAFE_INTEGER),
  workers: count(1024),
  running: count(1024),
  /** Tasks queued that a thief could take. */
  queued: count(1_000_000),
  /** Summed cost estimate of the queued tasks (a job's tasks average 1). */
  queuedCost: v.pipe(v.number(), v.finite(), v.minValue(0)),
  /** Summed cost estimate of the running tasks. */
  runningCost: v.pipe(v.number(), v.finite(), v.minValue(0)),
  /** Task kinds the advertiser runs (kinds.ts): only these are shed to it. */
  kinds: v.optional(v.pipe(v.array(kind), v.maxLength(maxKindsListed))),
});
export type LoadAdvert = v.InferOutput<typeof advertSchema>;

const tasks = v.pipe(v.array(taskSchema), v.maxLength(maxTasksPerMessage));
const refs = v.pipe(v.array(refSchema), v.maxLength(maxTasksPerMessage));

const stealRequest = v.strictObject({
  type: v.literal('steal-request'),
  reqId: token,
  /** Tasks the thief would like; advisory: the victim sizes the grant from both loads (see core.ts). */
  want: v.pipe(count(maxTasksPerMessage), v.minValue(1)),
  /** Kinds the thief can run. */
  kinds: v.pipe(v.array(kind), v.maxLength(maxKindsListed)),
  load: advertSchema,
});
const stealGrant = v.strictObject({ type: v.literal('steal-grant'), reqId: token, tasks, load: advertSchema });
const stealDeny = v.strictObject({
  type: v.literal('steal-deny'),
  reqId: token,
  reason: v.picklist(['empty', 'refused']),
  load: advertSchema,
});
const shed = v.strictObject({ type: v.literal('shed'), shedId: token, tasks, load: advertSchema });
const shedReturn = v.strictObject({ type: v.literal('shed-return'), shedId: token, tasks, reason: v.pipe(v.string(), v.maxLength(200)) });
const leaseRenew = v.strictObject({
  type: v.literal('lease-renew'),
  refs,
  /** Per ref: is it running now (true) or still queued (false)? */
  running: v.pipe(v.array(v.boolean()), v.maxLength(maxTasksPerMessage)),
});
const leaseCancel = v.strictObject({ type: v.literal('lease-cancel'), refs, reason: v.picklist(['done', 'cancelled', 'unknown', 'refused']) });
const result = v.strictObject({
  type: v.literal('result'),
  ref: refSchema,
  outcome: v.variant('ok', [
    v.strictObject({ ok: v.literal(true), value: json(maxResultBytesOnWire) }),
    v.strictObject({ ok: v.literal(false), error: v.pipe(v.string(), v.maxLength(maxErrorChars)) }),
  ]),
});
const load = v.strictObject({ type: v.literal('load'), load: advertSchema });

const stealMessageSchema = v.pipe(
  v.variant('type', [stealRequest, stealGrant, stealDeny, shed, shedReturn, leaseRenew, leaseCancel, result, load]),
  v.check((m) => m.type !== 'lease-renew' || m.running.length === m.refs.length, 'lease-renew needs one running flag per ref'),
);
export type StealMsg = v.InferOutput<typeof stealMessageSchema>;
export type StealMsgType = StealMsg['type'];

/** A peer's message, checked; `null` when it is not a valid steal message. */
export function decodeStealMessage(raw: unknown): StealMsg | null {
  const decoded = decodeWith(stealMessageSchema, raw);
  return decoded.ok ? decoded.value : null;
}

/** Like `decodeStealMessage`, with the reason when it fails (for counters and traces). */
export function decodeStealMessageWithReason(raw: unknown): Decoded<StealMsg> {
  return decodeWith(stealMessageSchema, raw);
}

/** A load advert from gossip (or anywhere else), checked. */
export function decodeLoadAdvert(raw: unknown): LoadAdvert | null {
  const decoded = decodeWith(advertSchema, raw);
  return decoded.ok ? decoded.value : null;
}

const shortRef = (r: TaskRef) => `${r.jobId.slice(-12)}#${r.index}.${r.replica}@${r.attempt}`;

/** One line for traces and logs. */
export function describeStealMessage(m: StealMsg): string {
  switch (m.type) {
    case 'steal-request':
      return `steal-request ${m.reqId} want=${m.want} (thief queued=${m.load.queued})`;
    case 'steal-grant':
      return `steal-grant ${m.reqId} tasks=${m.tasks.length}`;
    case 'steal-deny':
      return `steal-deny ${m.reqId} (${m.reason}, victim queued=${m.load.queued})`;
    case 'shed':
      return `shed ${m.shedId} tasks=${m.tasks.length}`;
    case 'shed-return':
      return `shed-return ${m.shedId} tasks=${m.tasks.length} (${m.reason})`;
    case 'lease-renew':
      return `lease-renew refs=${m.refs.length}`;
    case 'lease-cancel':
      return `lease-cancel refs=${m.refs.length} (${m.reason})`;
    case 'result':
      return `result ${shortRef(m.ref)} ${m.outcome.ok ? 'ok' : `failed: ${m.outcome.error.slice(0, 60)}`}`;
    case 'load':
      return `load ${m.load.node.slice(0, 8)} running=${m.load.running}/${m.load.workers} queued=${m.load.queued}`;
  }
}

export function refOf(item: WorkItem): TaskRef {
  return { jobId: item.jobId, index: item.index, replica: item.replica, attempt: item.attempt, ticket: item.ticket };
}

/** A key naming one attempt of one replica: how queues and running slots identify tasks. */
export function refKey(ref: TaskRef): string {
  return `${ref.jobId}#${ref.index}.${ref.replica}@${ref.attempt}`;
}
