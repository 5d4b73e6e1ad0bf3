// The demo protocol ('demo' frames): how the consensus demo view's tab gathers the traces of the
// room's nodes and asks a node to misbehave. Every message is checked against these schemas at
// the boundary (peer bytes, and again on the page for what the worker publishes).
//
//   viewer ── trace-ask {after} ─► node        node ── trace {records, next, state} ─► viewer
//   viewer ── fault {id, at, action, mode?} ─► node   node ── fault-result {id, ok, note} ─► viewer
//
// A fault is honoured only by a node whose own person named the viewer as its controller
// (docs/security.md, "Demo control"); the sender is authenticated by the link or the route.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../../core/decode.ts';
import { nodeIdPattern } from '../../core/ids.ts';
import { byzantineModes, type ByzantineMode } from '../../core/pbft/index.ts';
import { maxTraceRecordsPerRead, tracedKinds, type TraceRecord } from '../../core/pbft/trace.ts';
import { maxStealRecordsPerRead, stealTracedKinds, type StealTraceRecord } from '../../core/steal/trace.ts';
import type { NodeId } from '../../core/types.ts';

/** What a click on a node can ask of it. */
export const faultActions = ['byzantine', 'crash', 'partition', 'sleep', 'restore'] as const;
export type FaultAction = (typeof faultActions)[number];

/** Replica set sizes carried in a state report at most (the core's ceiling). */
const maxReplicasReported = 64;
const maxNoteChars = 200;

/** What a node reports of itself with its trace: enough to draw it and its consensus. */
export interface DemoNodeState {
  role: 'replica' | 'observer' | 'bootstrapping';
  view: number;
  mode: 'normal' | 'view-change';
  primary: NodeId | null;
  replicas: NodeId[];
  n: number;
  f: number;
  lastCommitted: number;
  viewChanges: number;
  byzantine: ByzantineMode | null;
  /** Why consensus makes no progress here, in words, or null. */
  halted: string | null;
  /** This node's links are cut on demo request, until this many ms from now (0: not cut). */
  isolatedForMs: number;
  /** The node that may send this node faults (its controller), if any. */
  controller: NodeId | null;
  /** The newest operation in its committed log: sequence number and batch digest (first 16 characters). */
  head: { seq: number; digest: string } | null;
}

export type DemoMessage =
  | { type: 'trace-ask'; after: number; stealsAfter?: number }
  | {
      type: 'trace';
      records: TraceRecord[];
      next: number;
      missed: number;
      restarted: boolean;
      state: DemoNodeState;
      steals?: StealTraceRecord[];
      stealsNext?: number;
    }
  | { type: 'fault'; id: string; at: number; action: FaultAction; mode?: ByzantineMode }
  | { type: 'fault-result'; id: string; ok: boolean; note: string };

const whole = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
// The id's form only: ids in a trace are drawn, never used to check a signature (the full key
// check per id would cost more than the rest of a trace's decoding).
const nodeId = v.pipe(v.string(), v.regex(nodeIdPattern, 'a node id')) as unknown as v.GenericSchema<unknown, NodeId>;
const optionalWhole = v.nullable(whole);

const recordSchema = v.strictObject({
  n: whole,
  dir: v.picklist(['send', 'recv']),
  kind: v.picklist(tracedKinds),
  from: nodeId,
  to: nodeId,
  at: v.pipe(v.number(), v.finite()),
  view: optionalWhole,
  seq: optionalWhole,
  client: v.optional(nodeId),
  ts: v.optional(whole),
});

const stealRecordSchema = v.strictObject({
  n: whole,
  kind: v.picklist(stealTracedKinds),
  from: nodeId,
  to: nodeId,
  at: v.pipe(v.number(), v.finite()),
  tasks: v.pipe(whole, v.maxValue(4_096)),
});
const steals = v.optional(v.pipe(v.array(stealRecordSchema), v.maxLength(maxStealRecordsPerRead)));

export const demoNodeStateSchema = v.strictObject({
  role: v.picklist(['replica', 'observer', 'bootstrapping']),
  view: whole,
  mode: v.picklist(['normal', 'view-change']),
  primary: v.nullable(nodeId),
  replicas: v.pipe(v.array(nodeId), v.maxLength(maxReplicasReported)),
  n: whole,
  f: whole,
  lastCommitted: whole,
  viewChanges: whole,
  byzantine: v.nullable(v.picklist(byzantineModes)),
  halted: v.nullable(v.pipe(v.string(), v.maxLength(maxNoteChars * 2))),
  isolatedForMs: whole,
  controller: v.nullable(nodeId),
  head: v.nullable(v.strictObject({ seq: whole, digest: v.pipe(v.string(), v.maxLength(16)) })),
});

const faultId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,40}$/));

const messageSchema = v.variant('type', [
  v.strictObject({ type: v.literal('trace-ask'), after: whole, stealsAfter: v.optional(whole) }),
  v.strictObject({
    type: v.literal('trace'),
    records: v.pipe(v.array(recordSchema), v.maxLength(maxTraceRecordsPerRead)),
    next: whole,
    missed: whole,
    restarted: v.boolean(),
    state: demoNodeStateSchema,
    steals,
    stealsNext: v.optional(whole),
  }),
  v.strictObject({
    type: v.literal('fault'),
    id: faultId,
    at: v.pipe(v.number(), v.finite()),
    action: v.picklist(faultActions),
    mode: v.optional(v.picklist(byzantineModes)),
  }),
  v.strictObject({ type: v.literal('fault-result'), id: faultId, ok: v.boolean(), note: v.pipe(v.string(), v.maxLength(maxNoteChars)) }),
]) as unknown as v.GenericSchema<unknown, DemoMessage>;

export function decodeDemoMessage(raw: unknown): Decoded<DemoMessage> {
  return decodeWith(messageSchema, raw);
}

/** What the viewer's worker hands its page for each trace it got (event `demo-trace`). */
export interface DemoTraceEvent {
  node: NodeId;
  records: TraceRecord[];
  missed: number;
  restarted: boolean;
  state: DemoNodeState;
  /** Work this node handed over since the last answer (grants, sheds, results). */
  steals: StealTraceRecord[];
  /** The viewer's clock when it arrived. */
  receivedAt: number;
}

export const demoTraceEventSchema = v.strictObject({
  node: nodeId,
  records: v.pipe(v.array(recordSchema), v.maxLength(maxTraceRecordsPerRead)),
  missed: whole,
  restarted: v.boolean(),
  state: demoNodeStateSchema,
  steals: v.pipe(v.array(stealRecordSchema), v.maxLength(maxStealRecordsPerRead)),
  receivedAt: v.pipe(v.number(), v.finite()),
}) as unknown as v.GenericSchema<unknown, DemoTraceEvent>;

/** What a controlled node's worker hands its page to carry out (event `demo-fault`). */
export interface DemoFaultEvent {
  action: FaultAction;
  mode: ByzantineMode | null;
  by: NodeId;
}

export const demoFaultEventSchema = v.strictObject({
  action: v.picklist(faultActions),
  mode: v.nullable(v.picklist(byzantineModes)),
  by: nodeId,
}) as unknown as v.GenericSchema<unknown, DemoFaultEvent>;
