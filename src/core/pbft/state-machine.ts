// The replicated state machine: what every honest replica (and observer) computes by executing
// the committed log in order. It must be a pure function of the log: same batches, same order,
// same state, same results, on every node. Its canonical JSON is what checkpoints digest and
// what state transfer moves.
//
// Membership rule. A join/leave/remove committed at sequence number s takes effect for the
// sequence numbers after
//
//     B(s) = ⌈s/K⌉·K + L − K        (K = checkpoint interval, L = log window; with L = 2K, the
//                                   end of the checkpoint interval after the one holding s)
//
// and the new replica set starts a new epoch once the checkpoint at B is stable. Why B and
// not s + 1: replicas prepare up to L sequence numbers ahead of the last stable checkpoint, so
// numbers after s may already be in flight under the old set. A replica only works on n ≤ h + L
// (h = its stable checkpoint); for n > B that forces h ≥ ⌈s/K⌉·K ≥ s, so every replica that
// touches n has executed s (or fetched the state after it) and knows which set orders n. The
// primary fills the gap to B with empty batches so a change never waits for traffic.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import type { NodeId } from '../types.ts';
import {
  logTailEntries,
  maxClientRecordChars,
  maxClientRecords,
  maxKvEntries,
  maxKvKeyChars,
  maxOpsPerRequestOnWire,
  maxReplicasCeiling,
  type PbftParams,
} from './constants.ts';
import { canonicalBytes, checkJson, type JsonValue } from './json.ts';
import type { Batch, Digest } from './messages.ts';
import { nodeIdSchema, opResultSchema, opSchema, type Op, type OpResult } from './ops.ts';
import { faultsTolerated } from './quorum.ts';
import { AppMachines, appMachinesSchema, type AppMachineState } from './app-machines.ts';
import { DecisionLogMachine, KvMachine } from './builtin-machines.ts';

export interface ScheduledChange {
  /** The change applies after executing this sequence number (a checkpoint). */
  atSeq: number;
  change: 'add' | 'remove';
  node: NodeId;
}

export interface ClientRecord {
  ts: number;
  seq: number;
  result: OpResult;
  /** Results of the request's packed operations after the first (absent for a single one). */
  more?: OpResult[];
}

export interface LogEntry {
  seq: number;
  digest: Digest;
  client: NodeId;
  ts: number;
  op: Op;
}

/** The state in canonical form (sorted arrays instead of maps): what is digested and transferred. */
export interface StateSnapshot {
  v: 1;
  /** Last executed sequence number. */
  seq: number;
  /** Epoch of `replicas`, the set that orders the sequence numbers after `seq`. */
  epoch: number;
  replicas: NodeId[];
  scheduled: ScheduledChange[];
  removeVotes: Array<[NodeId, NodeId[]]>;
  kv: Array<[string, JsonValue]>;
  clients: Array<[NodeId, ClientRecord]>;
  /** Requests of clients with no record must be numbered above this (see evictClient). */
  floorTs: number;
  tail: LogEntry[];
  /** The apps' own state machines (app-machines.ts); absent while there are none. */
  apps?: AppMachineState[];
}

export interface Executed {
  client: NodeId;
  ts: number;
  op: Op;
  result: OpResult;
  /** The request's packed operations after `op`, with their results, in execution order. */
  more: Array<{ op: Op; result: OpResult }>;
  /** False when the request had already been executed (a duplicate or an older request). */
  fresh: boolean;
  /** Whether the client should get a reply (fresh, or a re-send of the last reply). */
  reply: boolean;
}

/** The last sequence number ordered by the old replica set when a change commits at `seq`. */
export function membershipBoundary(seq: number, params: PbftParams): number {
  const k = params.checkpointIntervalSeqs;
  return Math.ceil(seq / k) * k + params.logWindowSeqs - k;
}

export class ReplicatedState {
  seq = 0;
  epoch = 0;
  replicas: NodeId[];
  private scheduled: ScheduledChange[] = [];
  private readonly removeVotes = new Map<NodeId, NodeId[]>();
  private readonly decisions = new DecisionLogMachine();
  private readonly kv = new KvMachine();
  private apps = new AppMachines();
  private readonly clients = new Map<NodeId, ClientRecord>();
  /** Characters of the client records' results together (bounded by maxClientRecordChars). */
  private clientChars = 0;
  private floorTs = 0;
  private tail: LogEntry[] = [];

  constructor(
    genesis: readonly NodeId[],
    private readonly params: PbftParams,
  ) {
    this.replicas = [...genesis];
  }

  static fromSnapshot(s: StateSnapshot, params: PbftParams): ReplicatedState {
    const state = new ReplicatedState(s.replicas, params);
    state.seq = s.seq;
    state.epoch = s.epoch;
    state.scheduled = s.scheduled.map((c) => ({ ...c }));
    for (const [node, voters] of s.removeVotes) state.removeVotes.set(node, [...voters]);
    state.kv.restore(s.kv);
    if (s.apps) state.apps = AppMachines.fromSnapshot(s.apps);
    for (const [client, record] of s.clients) state.setClient(client, record);
    state.floorTs = s.floorTs;
    state.tail = s.tail.map((e) => ({ ...e }));
    return state;
  }

  snapshot(): StateSnapshot {
    const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    return {
      v: 1,
      seq: this.seq,
      epoch: this.epoch,
      replicas: [...this.replicas],
      scheduled: this.scheduled.map((c) => ({ ...c })),
      removeVotes: [...this.removeVotes.entries()].map(([n, vs]): [NodeId, NodeId[]] => [n, [...vs]]).sort(byKey),
      kv: this.kv.snapshot(),
      clients: [...this.clients.entries()].sort(byKey),
      floorTs: this.floorTs,
      tail: this.tail.map((e) => ({ ...e })),
      // Left out while empty, so a room without app machines digests the state as before.
      ...(this.apps.size > 0 ? { apps: this.apps.snapshot() } : {}),
    };
  }

  /** The canonical text of the state: checkpoints digest it and state transfer sends it. */
  text(): string {
    return canonicalBytes(this.snapshot());
  }

  /** The replica set that orders the sequence numbers after `seq`, in canonical form for digests. */
  configText(): string {
    return configText(this.epoch, this.replicas);
  }

  /** The last sequence number of the current replica set, if a change is scheduled. */
  epochEnd(): number | undefined {
    let end: number | undefined;
    for (const c of this.scheduled) if (end === undefined || c.atSeq < end) end = c.atSeq;
    return end;
  }

  get(key: string): JsonValue | undefined {
    return this.kv.get(key);
  }

  kvSize(): number {
    return this.kv.size;
  }

  /** An app state machine as ordered here (read only: not a copy), or undefined before its first operation. */
  appMachine(name: string): Readonly<AppMachineState> | undefined {
    return this.apps.get(name);
  }

  lastReply(client: NodeId): ClientRecord | undefined {
    return this.clients.get(client);
  }

  logTail(): readonly LogEntry[] {
    return this.tail;
  }

  /** Whether a request has been executed (or is older than the client's last executed one). */
  isExecuted(client: NodeId, ts: number): boolean {
    const record = this.clients.get(client);
    return record !== undefined ? ts <= record.ts : ts <= this.floorTs;
  }

  /** Executes the batch committed at `seq` (must be the next sequence number). */
  execute(seq: number, digest: Digest, batch: Batch): Executed[] {
    if (seq !== this.seq + 1) throw new Error(`execute(${seq}) after ${this.seq}: execution must be in order`);
    const out: Executed[] = [];
    for (const request of batch) {
      const { client, ts, op } = request.body;
      const ops = [op, ...(request.body.more ?? [])];
      const record = this.clients.get(client);
      if (record && ts <= record.ts) {
        // A duplicate: nothing runs again; the last request's reply is re-sent as it was.
        const more = ops.slice(1).map((o, i) => ({ op: o, result: record.more?.[i] ?? record.result }));
        out.push({ client, ts, op, result: record.result, more, fresh: false, reply: ts === record.ts });
        continue;
      }
      // The operations of one request run in order, as one step: nothing else runs between them.
      const tooOld: OpResult | null =
        !record && ts <= this.floorTs ? { ok: false, note: `request number ${ts} is too old: number requests above ${this.floorTs}` } : null;
      const results = ops.map((o) => tooOld ?? this.apply(seq, client, o));
      const [result, ...moreResults] = results as [OpResult, ...OpResult[]];
      this.setClient(client, moreResults.length > 0 ? { ts, seq, result, more: moreResults } : { ts, seq, result });
      while (this.clients.size > maxClientRecords || this.clientChars > maxClientRecordChars) this.evictClient();
      // Snapshot votes stay out of the tail: it is for people to read, and they are large.
      for (const o of ops) if (o.kind !== 'app-checkpoint') this.tail.push({ seq, digest, client, ts, op: o });
      if (this.tail.length > logTailEntries) this.tail.splice(0, this.tail.length - logTailEntries);
      const more = ops.slice(1).map((o, i) => ({ op: o, result: moreResults[i] as OpResult }));
      out.push({ client, ts, op, result, more, fresh: true, reply: true });
    }
    this.seq = seq;
    this.applyScheduled(seq);
    return out;
  }

  private apply(seq: number, client: NodeId, op: Op): OpResult {
    switch (op.kind) {
      case 'decision':
        return this.decisions.apply(op);
      case 'kv-set':
      case 'kv-del':
        return this.kv.apply(op);
      case 'app':
      case 'app-checkpoint':
        return this.apps.apply(seq, client, op, this.replicas, faultsTolerated(this.replicas.length));
      case 'join':
      case 'leave':
      case 'remove':
        return this.applyMembership(seq, client, op);
    }
  }

  /** The replica set once every scheduled change has applied. */
  private projected(): NodeId[] {
    let set = [...this.replicas];
    for (const c of this.scheduled) {
      set = set.filter((id) => id !== c.node);
      if (c.change === 'add') set.push(c.node);
    }
    return set;
  }

  private applyMembership(seq: number, client: NodeId, op: Extract<Op, { node: NodeId }>): OpResult {
    const projected = this.projected();
    const at = membershipBoundary(seq, this.params);
    const member = projected.includes(op.node);
    switch (op.kind) {
      case 'join':
        if (client !== op.node) return { ok: false, note: 'a node can only ask to join for itself' };
        if (member) return { ok: false, note: 'already a replica (or joining)' };
        if (projected.length >= this.params.maxReplicas) {
          return { ok: false, note: `the replica set is full (maxReplicas = ${this.params.maxReplicas}); staying an observer` };
        }
        this.scheduled.push({ atSeq: at, change: 'add', node: op.node });
        return { ok: true, effectiveAfterSeq: at };
      case 'leave':
        if (client !== op.node) return { ok: false, note: 'a node can only leave for itself; use remove' };
        if (!member) return { ok: false, note: 'not a replica' };
        if (projected.length <= 1) return { ok: false, note: 'the last replica cannot leave' };
        this.scheduled.push({ atSeq: at, change: 'remove', node: op.node });
        return { ok: true, effectiveAfterSeq: at };
      case 'remove': {
        if (!this.replicas.includes(client)) return { ok: false, note: 'only a replica may vote to remove a node' };
        if (!member) return { ok: false, note: 'not a replica' };
        if (projected.length <= 1) return { ok: false, note: 'the last replica cannot be removed' };
        const needed = faultsTolerated(this.replicas.length) + 1;
        const voters = this.removeVotes.get(op.node) ?? [];
        if (!voters.includes(client)) voters.push(client);
        if (voters.length < needed) {
          this.removeVotes.set(op.node, voters);
          return { ok: true, votes: voters.length, needed, note: 'vote recorded' };
        }
        this.removeVotes.delete(op.node);
        this.scheduled.push({ atSeq: at, change: 'remove', node: op.node });
        return { ok: true, votes: voters.length, needed, effectiveAfterSeq: at };
      }
    }
  }

  private applyScheduled(seq: number): void {
    const due = this.scheduled.filter((c) => c.atSeq === seq);
    if (due.length === 0) return;
    this.scheduled = this.scheduled.filter((c) => c.atSeq !== seq);
    for (const c of due) {
      this.replicas = this.replicas.filter((id) => id !== c.node);
      if (c.change === 'add') this.replicas.push(c.node);
    }
    this.epoch++;
    // Votes were counted against the old set's f; a new epoch starts the count afresh.
    this.removeVotes.clear();
  }

  /**
   * Forgets the least recently served client. A later request of that client must then be
   * numbered above every forgotten number, or a replay of its old request could run twice.
   */
  private evictClient(): void {
    let oldest: [NodeId, ClientRecord] | undefined;
    for (const entry of this.clients) {
      if (!oldest || entry[1].seq < oldest[1].seq || (entry[1].seq === oldest[1].seq && entry[0] < oldest[0])) oldest = entry;
    }
    if (!oldest) return;
    this.deleteClient(oldest[0]);
    this.floorTs = Math.max(this.floorTs, oldest[1].ts);
  }

  private setClient(client: NodeId, record: ClientRecord): void {
    this.deleteClient(client);
    this.clients.set(client, record);
    this.clientChars += recordChars(record);
  }

  private deleteClient(client: NodeId): void {
    const old = this.clients.get(client);
    if (!old) return;
    this.clients.delete(client);
    this.clientChars -= recordChars(old);
  }
}

/** What a client record counts against maxClientRecordChars: its results (the rest is small and fixed). */
function recordChars(record: ClientRecord): number {
  let chars = canonicalBytes(record.result).length;
  for (const r of record.more ?? []) chars += canonicalBytes(r).length;
  return chars;
}

export function configText(epoch: number, replicas: readonly NodeId[]): string {
  return canonicalBytes({ epoch, replicas });
}

// ── decoding a snapshot (state transfer, storage) ────────────────────────────────────────

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const snapshotSchema = v.strictObject({
  v: v.literal(1),
  seq: count,
  epoch: count,
  replicas: v.pipe(v.array(nodeIdSchema), v.minLength(1), v.maxLength(maxReplicasCeiling)),
  scheduled: v.pipe(v.array(v.strictObject({ atSeq: count, change: v.picklist(['add', 'remove']), node: nodeIdSchema })), v.maxLength(maxReplicasCeiling * 4)),
  removeVotes: v.pipe(v.array(v.tuple([nodeIdSchema, v.pipe(v.array(nodeIdSchema), v.maxLength(maxReplicasCeiling))])), v.maxLength(maxReplicasCeiling)),
  kv: v.pipe(
    v.array(
      v.tuple([
        v.pipe(v.string(), v.minLength(1), v.maxLength(maxKvKeyChars)),
        v.custom<JsonValue>((x) => checkJson(x, 4096) === null, 'a value is not plain JSON'),
      ]),
    ),
    v.maxLength(maxKvEntries),
  ),
  clients: v.pipe(
    v.array(
      v.tuple([
        nodeIdSchema,
        v.strictObject({
          ts: count,
          seq: count,
          result: opResultSchema,
          more: v.optional(v.pipe(v.array(opResultSchema), v.minLength(1), v.maxLength(maxOpsPerRequestOnWire - 1))),
        }),
      ]),
    ),
    v.maxLength(maxClientRecords),
  ),
  floorTs: count,
  tail: v.pipe(
    v.array(v.strictObject({ seq: count, digest: v.pipe(v.string(), v.maxLength(256)), client: nodeIdSchema, ts: count, op: opSchema })),
    v.maxLength(logTailEntries),
  ),
  apps: v.optional(appMachinesSchema),
}) as unknown as v.GenericSchema<unknown, StateSnapshot>;

/** Checks a snapshot read from a peer or from storage. */
export function decodeSnapshot(raw: unknown): Decoded<StateSnapshot> {
  return decodeWith(snapshotSchema, raw);
}
