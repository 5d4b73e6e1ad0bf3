// The pBFT wire protocol (Castro & Liskov, OSDI'99, the signature variant) and the contract
// with the runtime that authenticates it.
//
// Every message is `Signed<Body>`: the runtime signs `canonicalBytes(body)` with the sender's
// Ed25519 key. Certificates nest messages signed by other replicas (prepared certificates in a
// view change, checkpoint proofs, commit certificates, epoch records), and batches nest client
// requests signed by their clients. Before the core sees a message, the runtime must check
// EVERY signature listed by `signaturesToVerify(msg)` (it may cache verifications); the core
// keeps signatures opaque and never checks them itself. A few messages carry unsigned
// attachments (`batch`, `batches`, `chunk`): the core checks them against digests that are
// signed.
//
// Replies are not signed (`linkAuthenticatedTypes`, sig ''): a reply is never part of a
// certificate and never relayed, so the link it arrives on authenticates it (a direct link's
// DTLS fingerprint is signed by its node's key; a routed message is signed by its origin and
// checked on arrival, src/worker/services/route.ts). The runtime must pass the authenticated
// sender as `from`; the core refuses such a message when `from` is not its signer
// (docs/security.md, "Which consensus messages are signed").
//
//   client ── request ─► primary (after a timeout: every replica; backups forward it)
//   primary ── pre-prepare {e,v,n,d} + batch ─► replicas
//   backup  ── prepare {e,v,n,d} ─► replicas        (prepared: pre-prepare + q−1 prepares)
//   replica ── commit {e,v,n,d} ─► replicas         (committed: q commits) → execute in order
//   replica ── reply {ts, seq, result} ─► client    (client takes f+1 matching)
//   replica ── checkpoint {e,n,state,config} ─► replicas every K (stable: q matching)
//   replica ── suspect {e,v'} ─► replicas           (its timer ran out; it still works in v)
//   replica ── view-change {e,v', stable, P} + batches ─► replicas (once f+1 want v' or later)
//   new primary ── new-view {e,v', V refs, order} ─► replicas, then pre-prepares for `order`
//   anyone ── status {e,v,stable,executed,ask} ─► peers; the asked peer answers with
//             proof (commit certificates) or state (checkpointed state in chunks)
//   replica ── fetch-vc ─► new-view sender, which forwards the view changes it referenced
//
// q is the quorum ⌈(n+f+1)/2⌉, which is 2f+1 when n = 3f+1 (see quorum.ts).
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import type { NodeId } from '../types.ts';
import {
  maxBatchBytesOnWire,
  maxBatchRequestsOnWire,
  maxOpsPerRequestOnWire,
  maxDigestChars,
  maxEpochRecordsPerMessage,
  maxLogWindowSeqs,
  maxReplicasCeiling,
  maxSigChars,
  maxStateChunkBytes,
  maxStateParts,
  maxViewNumber,
} from './constants.ts';
import { canonicalBytes } from './json.ts';
import { canonicalUtf8Length, jsonStringBytes } from './utf8.ts';
import { describeOp, nodeIdSchema, opResultSchema, opSchema, type Op, type OpResult } from './ops.ts';

export { canonicalBytes } from './json.ts';

export type Digest = string;

/** A body with its author's signature over `canonicalBytes(body)`. */
export interface Signed<T> {
  body: T;
  signer: NodeId;
  sig: string;
}

export interface RequestBody {
  type: 'request';
  client: NodeId;
  /** The client's request number: increasing per client (the paper's timestamp). */
  ts: number;
  op: Op;
  /**
   * Further operations packed into this request, executed right after `op`, in order, as one
   * request (one ts, one signature, one reply). Absent for a single operation.
   */
  more?: Op[];
}
export type SignedRequest = Signed<RequestBody>;
/** The requests one pre-prepare orders; its digest is `digest(canonicalBytes(batch))`. */
export type Batch = SignedRequest[];

export interface ReplyBody {
  type: 'reply';
  to: NodeId;
  epoch: number;
  view: number;
  ts: number;
  seq: number;
  result: OpResult;
  /** The results of the request's `more` operations, in order (absent for a single operation). */
  more?: OpResult[];
}

interface SlotVote<T extends string> {
  type: T;
  epoch: number;
  view: number;
  seq: number;
  digest: Digest;
}
export type PrePrepareBody = SlotVote<'pre-prepare'>;
export type PrepareBody = SlotVote<'prepare'>;
export type CommitBody = SlotVote<'commit'>;

export interface CheckpointBody {
  type: 'checkpoint';
  epoch: number;
  seq: number;
  /** Digest of the replicated state after executing `seq`. */
  stateDigest: Digest;
  /** Digest of the replica set that orders the sequence numbers after `seq` (epoch records use it). */
  configDigest: Digest;
}

/** A pre-prepare and q−1 matching prepares from other replicas: the request prepared. */
export interface PreparedCert {
  pp: Signed<PrePrepareBody>;
  prepares: Signed<PrepareBody>[];
}

/** The last stable checkpoint: q matching checkpoint messages (none for the start of an epoch). */
export interface StableCert {
  seq: number;
  stateDigest: Digest;
  proof: Signed<CheckpointBody>[];
}

/**
 * "I want view `view`": the request (or new-view) timer of the signer ran out. Unlike a view
 * change it commits the signer to nothing (it carries no log, and the signer keeps working in
 * its view), so it can be sent alone; a replica leaves its view only once f+1 replicas want a
 * later one (view-change.ts), and it relays those f+1 so that every honest replica follows.
 */
export interface SuspectBody {
  type: 'suspect';
  epoch: number;
  view: number;
}

export interface ViewChangeBody {
  type: 'view-change';
  epoch: number;
  /** The view being changed to. */
  view: number;
  stable: StableCert;
  /** For each sequence number above `stable.seq` that prepared here, the highest-view certificate. */
  prepared: PreparedCert[];
}

export interface NewViewBody {
  type: 'new-view';
  epoch: number;
  view: number;
  /** The q view changes it was computed from, by signer and digest of their body. */
  viewChanges: Array<{ signer: NodeId; digest: Digest }>;
  /** What every sequence number in (min-s, max-s] gets in the new view (empty batch if none prepared). */
  order: Array<{ seq: number; digest: Digest }>;
}

export interface StatusBody {
  type: 'status';
  epoch: number;
  view: number;
  stable: number;
  executed: number;
  /** The peer asked to answer with what the sender lacks (proofs or state). */
  ask: NodeId | null;
  /**
   * The newest epoch whose replica set the sender can verify (≥ epoch): it holds the epoch
   * records up to there, so an answer sends only the records after it.
   */
  known: number;
}

/** A commit certificate: the pre-prepare and q matching commits. The batch is attached. */
export interface ProofBody {
  type: 'proof';
  to: NodeId;
  pp: Signed<PrePrepareBody>;
  commits: Signed<CommitBody>[];
}

/**
 * How the replica set changed: epoch `epoch` started after `startSeq` with `replicas`, as
 * proved by q checkpoint messages of the previous epoch whose configDigest names this set.
 */
export interface EpochRecord {
  epoch: number;
  startSeq: number;
  replicas: NodeId[];
  proof: Signed<CheckpointBody>[];
}

/** One chunk of a checkpointed state (or, with parts = 0, just the stable certificate). */
export interface StateBody {
  type: 'state';
  to: NodeId;
  /** Epoch whose replicas signed `proof`. */
  epoch: number;
  seq: number;
  stateDigest: Digest;
  configDigest: Digest;
  proof: Signed<CheckpointBody>[];
  part: number;
  parts: number;
}

/**
 * A page of the chain of epoch records, oldest first, for a node that cannot yet verify who
 * signed a state it is catching up to. Sent before the state; each record is checked against
 * the replica set before it, so a page is only of use to a node that knows that set.
 */
export interface EpochsBody {
  type: 'epochs';
  to: NodeId;
  records: EpochRecord[];
}

export interface FetchViewChangesBody {
  type: 'fetch-vc';
  to: NodeId;
  epoch: number;
  view: number;
  signers: NodeId[];
}

export type PbftBody =
  | RequestBody
  | ReplyBody
  | PrePrepareBody
  | PrepareBody
  | CommitBody
  | CheckpointBody
  | SuspectBody
  | ViewChangeBody
  | NewViewBody
  | StatusBody
  | ProofBody
  | StateBody
  | EpochsBody
  | FetchViewChangesBody;

export type PbftBodyType = PbftBody['type'];

/** What travels between nodes: a signed body and, for some types, unsigned attachments. */
export interface PbftMessage<B extends PbftBody = PbftBody> extends Signed<B> {
  /** pre-prepare, proof: the batch named by the signed digest. */
  batch?: Batch;
  /** view-change: the batches of its prepared certificates. */
  batches?: Batch[];
  /** state: this part of the canonical state text. */
  chunk?: string;
}

// ── schemas ──────────────────────────────────────────────────────────────────────────────

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const viewNumber = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(maxViewNumber));
const digest = v.pipe(v.string(), v.minLength(1), v.maxLength(maxDigestChars));
const sig = v.pipe(v.string(), v.maxLength(maxSigChars));
const signedOf = <T>(body: v.GenericSchema<unknown, T>) => v.strictObject({ body, signer: nodeIdSchema, sig });
const nodeList = v.pipe(v.array(nodeIdSchema), v.maxLength(maxReplicasCeiling));

const requestBody = v.strictObject({
  type: v.literal('request'),
  client: nodeIdSchema,
  ts: count,
  op: opSchema,
  more: v.optional(v.pipe(v.array(opSchema), v.minLength(1), v.maxLength(maxOpsPerRequestOnWire - 1))),
});
const signedRequest = signedOf(requestBody);
const batchSchema = v.pipe(
  v.array(signedRequest),
  v.maxLength(maxBatchRequestsOnWire),
  v.check((b) => canonicalUtf8Length(b) <= maxBatchBytesOnWire, `a batch is at most ${maxBatchBytesOnWire} bytes`),
);

const slotVote = <T extends string>(type: T) => v.strictObject({ type: v.literal(type), epoch: viewNumber, view: viewNumber, seq: count, digest });
const prePrepareBody = slotVote('pre-prepare');
const prepareBody = slotVote('prepare');
const commitBody = slotVote('commit');
const checkpointBody = v.strictObject({
  type: v.literal('checkpoint'),
  epoch: viewNumber,
  seq: count,
  stateDigest: digest,
  configDigest: digest,
});
const signedCheckpoint = signedOf(checkpointBody);
const checkpointProof = v.pipe(v.array(signedCheckpoint), v.maxLength(maxReplicasCeiling));

const preparedCert = v.strictObject({
  pp: signedOf(prePrepareBody),
  prepares: v.pipe(v.array(signedOf(prepareBody)), v.maxLength(maxReplicasCeiling)),
});
const viewChangeBody = v.strictObject({
  type: v.literal('view-change'),
  epoch: viewNumber,
  view: viewNumber,
  stable: v.strictObject({ seq: count, stateDigest: digest, proof: checkpointProof }),
  prepared: v.pipe(v.array(preparedCert), v.maxLength(maxLogWindowSeqs)),
});
const newViewBody = v.strictObject({
  type: v.literal('new-view'),
  epoch: viewNumber,
  view: viewNumber,
  viewChanges: v.pipe(v.array(v.strictObject({ signer: nodeIdSchema, digest })), v.maxLength(maxReplicasCeiling)),
  order: v.pipe(v.array(v.strictObject({ seq: count, digest })), v.maxLength(maxLogWindowSeqs)),
});
const epochRecord = v.strictObject({ epoch: viewNumber, startSeq: count, replicas: nodeList, proof: checkpointProof });

const bodySchema = v.variant('type', [
  requestBody,
  v.strictObject({
    type: v.literal('reply'),
    to: nodeIdSchema,
    epoch: viewNumber,
    view: viewNumber,
    ts: count,
    seq: count,
    result: opResultSchema,
    more: v.optional(v.pipe(v.array(opResultSchema), v.minLength(1), v.maxLength(maxOpsPerRequestOnWire - 1))),
  }),
  prePrepareBody,
  prepareBody,
  commitBody,
  checkpointBody,
  v.strictObject({ type: v.literal('suspect'), epoch: viewNumber, view: viewNumber }),
  viewChangeBody,
  newViewBody,
  v.strictObject({
    type: v.literal('status'),
    epoch: viewNumber,
    view: viewNumber,
    stable: count,
    executed: count,
    ask: v.nullable(nodeIdSchema),
    known: viewNumber,
  }),
  v.strictObject({
    type: v.literal('proof'),
    to: nodeIdSchema,
    pp: signedOf(prePrepareBody),
    commits: v.pipe(v.array(signedOf(commitBody)), v.maxLength(maxReplicasCeiling)),
  }),
  v.strictObject({
    type: v.literal('state'),
    to: nodeIdSchema,
    epoch: viewNumber,
    seq: count,
    stateDigest: digest,
    configDigest: digest,
    proof: checkpointProof,
    part: v.pipe(count, v.maxValue(maxStateParts)),
    parts: v.pipe(count, v.maxValue(maxStateParts)),
  }),
  v.strictObject({
    type: v.literal('epochs'),
    to: nodeIdSchema,
    records: v.pipe(v.array(epochRecord), v.minLength(1), v.maxLength(maxEpochRecordsPerMessage)),
  }),
  v.strictObject({ type: v.literal('fetch-vc'), to: nodeIdSchema, epoch: viewNumber, view: viewNumber, signers: nodeList }),
]);

const messageSchema = v.pipe(
  v.strictObject({
    body: bodySchema,
    signer: nodeIdSchema,
    sig,
    batch: v.optional(batchSchema),
    batches: v.optional(v.pipe(v.array(batchSchema), v.maxLength(maxLogWindowSeqs))),
    chunk: v.optional(
      v.pipe(
        v.string(),
        v.maxLength(maxStateChunkBytes),
        v.check((c) => jsonStringBytes(c) <= maxStateChunkBytes, `a state chunk is at most ${maxStateChunkBytes} bytes`),
      ),
    ),
  }),
  v.check((m) => attachmentsFit(m as PbftMessage), 'attachments do not fit the message type'),
) as unknown as v.GenericSchema<unknown, PbftMessage>;

function attachmentsFit(m: PbftMessage): boolean {
  const t = m.body.type;
  if (m.batch !== undefined && t !== 'pre-prepare' && t !== 'proof') return false;
  if (m.batches !== undefined && t !== 'view-change') return false;
  if (m.chunk !== undefined && t !== 'state') return false;
  if ((t === 'pre-prepare' || t === 'proof') && m.batch === undefined) return false;
  if (t === 'request' && m.signer !== m.body.client) return false;
  if (t === 'state' && m.body.part >= Math.max(1, m.body.parts)) return false;
  if (t === 'state' && m.body.parts > 0 !== (m.chunk !== undefined)) return false;
  return true;
}

/** Checks a message from a peer (after JSON parsing): the message, or why it is refused. */
export function decodeMessage(raw: unknown): Decoded<PbftMessage> {
  return decodeWith(messageSchema, raw);
}

/** `decodeMessage` for callers that only need yes or no. */
export function decode(raw: unknown): PbftMessage | null {
  const d = decodeMessage(raw);
  return d.ok ? d.value : null;
}

// ── signatures ───────────────────────────────────────────────────────────────────────────

export interface SignatureCheck {
  signer: NodeId;
  /** The canonical text that was signed. */
  bytes: string;
  sig: string;
}

/**
 * Every signature the runtime must verify before handing `msg` to the core: the message's
 * own, those of nested certificates, and those of the client requests in its attachments.
 * Identical checks are listed once. Bounded by the decode caps (a view change with full
 * certificates lists at most a few thousand).
 */
export function signaturesToVerify(msg: PbftMessage): SignatureCheck[] {
  const out: SignatureCheck[] = [];
  const seen = new Set<string>();
  const add = (s: Signed<unknown>): void => {
    if (s === msg && isLinkAuthenticated(msg)) return;
    const bytes = canonicalBytes(s.body);
    const key = `${s.signer}\u0000${s.sig}\u0000${bytes}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ signer: s.signer, bytes, sig: s.sig });
  };
  add(msg);
  const body = msg.body;
  switch (body.type) {
    case 'view-change':
      body.stable.proof.forEach(add);
      for (const cert of body.prepared) {
        add(cert.pp);
        cert.prepares.forEach(add);
      }
      break;
    case 'proof':
      add(body.pp);
      body.commits.forEach(add);
      break;
    case 'state':
      body.proof.forEach(add);
      break;
    case 'epochs':
      for (const record of body.records) record.proof.forEach(add);
      break;
    default:
      break;
  }
  msg.batch?.forEach(add);
  for (const batch of msg.batches ?? []) batch.forEach(add);
  return out;
}

/**
 * Message types sent unsigned: authenticated by the link they arrive on, so the core takes one
 * only from its signer (`from`). None of them is ever nested in another message.
 */
export const linkAuthenticatedTypes: ReadonlySet<PbftBodyType> = new Set<PbftBodyType>(['reply']);

export const isLinkAuthenticated = (msg: Signed<PbftBody>): boolean => linkAuthenticatedTypes.has(msg.body.type);

// ── traces ───────────────────────────────────────────────────────────────────────────────

const short = (d: string): string => (d.length > 8 ? d.slice(0, 8) : d);

/** One line for traces and logs. */
export function describe(msg: PbftMessage): string {
  const b = msg.body;
  const by = `by ${msg.signer}`;
  switch (b.type) {
    case 'request':
      return `request ${b.client}#${b.ts} ${describeOp(b.op)}${b.more ? ` +${b.more.length} more` : ''}`;
    case 'reply':
      return `reply →${b.to} #${b.ts} seq ${b.seq} ${b.result.ok ? 'ok' : 'failed'} ${by}`;
    case 'pre-prepare':
      return `pre-prepare e${b.epoch} v${b.view} n${b.seq} d=${short(b.digest)} [${msg.batch?.length ?? 0} req] ${by}`;
    case 'prepare':
    case 'commit':
      return `${b.type} e${b.epoch} v${b.view} n${b.seq} d=${short(b.digest)} ${by}`;
    case 'checkpoint':
      return `checkpoint e${b.epoch} n${b.seq} s=${short(b.stateDigest)} ${by}`;
    case 'suspect':
      return `suspect e${b.epoch} →v${b.view} ${by}`;
    case 'view-change':
      return `view-change e${b.epoch} →v${b.view} stable ${b.stable.seq} prepared [${b.prepared.map((p) => p.pp.body.seq).join(',')}] ${by}`;
    case 'new-view':
      return `new-view e${b.epoch} v${b.view} from [${b.viewChanges.map((r) => r.signer).join(',')}] order ${b.order.length} ${by}`;
    case 'status':
      return `status e${b.epoch} v${b.view} stable ${b.stable} executed ${b.executed} knows e${b.known}${b.ask ? ` ask ${b.ask}` : ''} ${by}`;
    case 'proof':
      return `proof →${b.to} n${b.pp.body.seq} v${b.pp.body.view} (${b.commits.length} commits) ${by}`;
    case 'state':
      return `state →${b.to} e${b.epoch} n${b.seq} part ${b.part}/${b.parts} ${by}`;
    case 'epochs':
      return `epochs →${b.to} e${b.records[0]?.epoch}..e${b.records[b.records.length - 1]?.epoch} ${by}`;
    case 'fetch-vc':
      return `fetch-vc →${b.to} e${b.epoch} v${b.view} [${b.signers.join(',')}] ${by}`;
  }
}

/** Schemas of nested parts, for decoding what the core persisted (persistence.ts). */
export const partSchemas = {
  signedPrePrepare: signedOf(prePrepareBody) as unknown as v.GenericSchema<unknown, Signed<PrePrepareBody>>,
  signedPrepare: signedOf(prepareBody) as unknown as v.GenericSchema<unknown, Signed<PrepareBody>>,
  signedCommit: signedOf(commitBody) as unknown as v.GenericSchema<unknown, Signed<CommitBody>>,
  signedCheckpoint: signedCheckpoint as unknown as v.GenericSchema<unknown, Signed<CheckpointBody>>,
  batch: batchSchema as unknown as v.GenericSchema<unknown, Batch>,
  epochRecord: epochRecord as unknown as v.GenericSchema<unknown, EpochRecord>,
  message: messageSchema,
};
