// PbftReplica: one node's pBFT core (Castro & Liskov, "Practical Byzantine Fault Tolerance",
// OSDI'99, with signatures). Pure and deterministic: no clock, timers, randomness, crypto or
// I/O; time, messages and commands come in through `step`, and everything it wants done comes
// out as effects. The same class is a replica while its id is in the current replica set and
// an observer otherwise (an observer follows the committed log, checking commit certificates,
// and can submit operations like anyone). Import it from ./index.ts.
//
// ── How a runtime drives it ────────────────────────────────────────────────────────────────
//
//   const core = new PbftReplica({ id, genesis: [firstNodeId], digest: sha256Hex, rng,
//                                  persisted: entriesUnder('pbft/') });   // [key, value][]
//   apply(core.start(now));
//   on a peer frame:   raw → decode(raw) (messages.ts) → verify every signaturesToVerify(msg)
//                      (Ed25519 over `bytes` with the key of `signer`; caching is fine)
//                      → apply(core.step(now, { type: 'message', msg, from }))
//                      A refused frame: apply(core.step(now, { type: 'refused', reason })), so
//                      view().rejected counts it with the core's own refusals.
//   on a timer:        apply(core.step(now, { type: 'tick' })) at core.nextWakeAt()
//   user commands:     { type: 'submit', op, tag } → later a 'client-result' effect with the
//                      same tag (ok with seq and result once f+1 replicas agree, or a reason);
//                      { type: 'set-byzantine', mode | null }
//   snapshots:         core.view() (PbftView), core.kvGet(key), core.footprint()
//
//   apply(effects) MUST handle them in array order, each finished before the next:
//     persist    → storage.setMany(writes) + del(deletes) as ONE transaction, awaited. It always
//                  comes before the sends that depend on it (a vote, a view change), exactly as
//                  raft's Ready: never send before the write that makes it durable.
//     sign       → sig = sign(canonicalBytes(body)) with this node's key, then
//                  apply(core.step(now, { type: 'signed', id, sig })) before the next effect.
//                  The core keeps signed copies of its own messages because certificates nest
//                  them. (Only a 'forge' replica names another `signer`: sign with your own key
//                  anyway and label it as asked; honest receivers will refuse it.)
//     send / broadcast → wrap as a 'pbft' frame and send; `to` never includes this node.
//                  Replies to clients are sends too; its own client's replies stay inside.
//     committed  → the application's view of executed operations (not re-emitted on restart).
//     client-result, ui → the UI.
//   Feed one input at a time (including the 'signed' answers) — the core is not re-entrant.
//
// Digest: the constructor takes `digest(canonicalText) → string`, which must be synchronous
// and collision-resistant in real use (SHA-256 hex; the simulator may pass a fast hash).
//
// ── Protocol summary ───────────────────────────────────────────────────────────────────────
// Normal case: the primary of view v (replicas[v mod n]) orders batches of client requests by
// pre-prepare; backups prepare; pre-prepare + q−1 prepares = prepared → commit; q commits =
// committed → executed in sequence order, replies to clients. Up to `maxInFlightBatches`
// batches are in flight (pipelining); requests arriving meanwhile form the next batch.
// Checkpoints every K numbers; q matching checkpoint messages make one stable, which moves the
// window (h, h+L] and discards the log below. View change: a backup whose oldest waiting
// request is not executed within the timeout sends view-change(v+1) with its stable
// certificate and prepared certificates; the new primary collects q, computes the order for
// (min-s, max-s] and sends new-view; backups check it by recomputing. Timeouts double after
// each view change that brings no progress. A lagging or restarted replica asks peers with
// `status` and gets commit certificates or the checkpointed state. Membership changes are
// operations (state-machine.ts explains the sequence number at which they take effect); the
// new replica set starts a new epoch, with views counted from 0, once the boundary checkpoint
// is stable. Quorums are ⌈(n+f+1)/2⌉ (= 2f+1 for n = 3f+1, see quorum.ts).
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { ByzantineOutbox, wrongDigest, type ByzantineMode, type Outgoing } from './byzantine.ts';
import {
  batchDigest,
  batchesByDigest,
  checkBatch,
  checkCheckpointProof,
  checkCommitCert,
  checkViewChange,
  followEpochRecords,
  planNewView,
  sameOrder,
  type DigestFn,
  type NewViewPlan,
} from './certificates.ts';
import { CheckpointVotes } from './checkpoints.ts';
import { PbftClient, type ClientEffect } from './client.ts';
import {
  checkParams,
  defaultPbftParams,
  defaultPbftTiming,
  maxEpochHistory,
  maxFutureMessages,
  maxHeldProofs,
  maxKnownPeers,
  maxPendingRequests,
  maxPendingSignatures,
  maxProofsPerStatus,
  maxStateChunkChars,
  maxStatusPeers,
  maxViewsAhead,
  type PbftParams,
  type PbftTiming,
} from './constants.ts';
import { canonicalBytes } from './json.ts';
import {
  isCommittedNow,
  isPreparedNow,
  matchingCommits,
  matchingPrepares,
  newSlot,
  resetSlotForView,
  type CommitCert,
  type Slot,
} from './log.ts';
import type {
  Batch,
  CheckpointBody,
  CommitBody,
  Digest,
  EpochRecord,
  FetchViewChangesBody,
  NewViewBody,
  PbftBody,
  PbftMessage,
  PreparedCert,
  PrepareBody,
  PrePrepareBody,
  ProofBody,
  ReplyBody,
  RequestBody,
  Signed,
  SignedRequest,
  StableCert,
  StateBody,
  StatusBody,
  ViewChangeBody,
} from './messages.ts';
import { Counters, LatencyRing } from './metrics.ts';
import {
  decodeMeta,
  decodeNewViewRecord,
  decodeSlot,
  decodeStable,
  decodeViewChangeRecord,
  isSlotKey,
  metaKey,
  newViewKey,
  slotKey,
  stableKey,
  viewChangeKey,
  type MetaRecord,
  type SlotRecord,
  type StableRecord,
} from './persistence.ts';
import { isReplica, makeConfig, primaryOf, type ReplicaConfig } from './quorum.ts';
import { configText, decodeSnapshot, ReplicatedState } from './state-machine.ts';
import type { PbftEffect, PbftInput, PbftOptions, PbftPhase, PbftSlotView, PbftUiEvent, PbftView } from './types.ts';

/** Sizes of the core's bounded structures (see footprint()). */
export interface PbftFootprint {
  slots: number;
  pending: number;
  inFlight: number;
  future: number;
  checkpointVotes: number;
  checkpointsMade: number;
  viewChanges: number;
  newViewCandidates: number;
  heldProofs: number;
  pendingSignatures: number;
  statusPeers: number;
  transferParts: number;
  history: number;
  delayed: number;
}

type Purpose =
  | { kind: 'pre-prepare'; batch: Batch; to: NodeId[]; store: boolean }
  | { kind: 'prepare' }
  | { kind: 'commit' }
  | { kind: 'checkpoint'; to: NodeId[] }
  | { kind: 'view-change'; batches: Batch[] }
  | { kind: 'new-view'; vcs: Array<PbftMessage<ViewChangeBody>>; plan: NewViewPlan }
  | { kind: 'send'; to: NodeId[]; batch?: Batch; chunk?: string }
  | { kind: 'client'; clientSignId: number };

interface PendingSign {
  body: PbftBody;
  signer: NodeId;
  purpose: Purpose;
}

interface StableState {
  seq: number;
  stateDigest: Digest;
  configDigest: Digest;
  proofEpoch: number;
  proof: Signed<CheckpointBody>[];
  text: string;
}

interface Transfer {
  /** Replica sets learnt from the epoch records of part 0 (verified). */
  learnt: Map<number, { config: ReplicaConfig; startSeq: number; record: EpochRecord }>;
  seq: number;
  stateDigest: Digest;
  configDigest: Digest;
  proofEpoch: number;
  proof: Signed<CheckpointBody>[];
  history: EpochRecord[];
  total: number;
  parts: Map<number, string>;
}

/** Consecutive fruitless view changes after which the node reports itself stalled. */
const stalledAfterViewChanges = 3;
/** Doubling stops here (2^12 × the base is far beyond the ceiling anyway). */
const maxBackoff = 12;

const reqKey = (client: NodeId, ts: number): string => `${client}\u0000${ts}`;
const stripAttachments = <B extends PbftBody>(m: Signed<B>): Signed<B> => ({ body: m.body, signer: m.signer, sig: m.sig });

export class PbftReplica {
  readonly id: NodeId;
  private params: PbftParams;
  private readonly timing: PbftTiming;
  private readonly digest: DigestFn;
  private readonly genesis: ReplicaConfig;
  private readonly nullDigest: Digest;
  private readonly phaseEvents: boolean;
  private readonly byz: ByzantineOutbox;

  // epoch and view
  private config: ReplicaConfig;
  private epochStartSeq = 0;
  private history: EpochRecord[] = [];
  private viewNo = 0;
  private mode: 'normal' | 'view-change' = 'normal';
  private backoff = 0;

  // state and log
  private state: ReplicatedState;
  private stable: StableState;
  private readonly checkpointsMade = new Map<number, { text: string; digest: Digest; configDigest: Digest }>();
  private readonly votes = new CheckpointVotes();
  private readonly slots = new Map<number, Slot>();
  private nextSeq = 1;
  private boundaryExecuted: number | undefined;

  // requests
  private readonly pending = new Map<string, { req: SignedRequest; since: Millis; forwardedAt?: Millis }>();
  private readonly inFlight = new Map<string, number>();
  private timerStart: Millis | null = null;
  private nvDeadline: Millis | null = null;
  /** Whether nvDeadline is the paper's timer (q view changes seen) or the fallback one. */
  private nvFromQuorum = false;

  // view change
  private myVc: PbftMessage<ViewChangeBody> | undefined;
  private readonly vcs = new Map<NodeId, { msg: PbftMessage<ViewChangeBody>; digest: Digest }>();
  private acceptedNv: { msg: PbftMessage<NewViewBody>; vcs: Array<PbftMessage<ViewChangeBody>> } | undefined;
  private pendingNv: { msg: PbftMessage<NewViewBody>; from: NodeId; askedAt: Millis } | undefined;
  private readonly nvCandidates = new Map<Digest, PbftMessage<ViewChangeBody>>();
  private sentNvForView = -1;
  /** What the accepted new-view assigned to each number of (min-s, max-s] in the current view. */
  private viewOrder = new Map<number, Digest>();
  /** New-view order entries the new primary could not pre-prepare yet (beyond its window while it caught up). */
  private nvBacklog: Array<{ seq: number; batch: Batch }> = [];
  private viewChangeStartedAt: Millis = 0;
  private stalledReported = false;

  // catching up
  private future: PbftMessage[] = [];
  private readonly heldProofs = new Map<number, CommitCert>();
  private transfer: Transfer | undefined;
  private nextStatusAt: Millis = 0;
  private nextRetransmitAt: Millis = 0;
  private behindUntil: Millis = 0;
  private askHint: NodeId | undefined;
  private askIndex = 0;
  private readonly statusAnswered = new Map<NodeId, Millis>();
  private knownPeers: NodeId[] = [];

  // signing, client, output
  private nextSignId = 1;
  private readonly pendingSigns = new Map<number, PendingSign>();
  private client: PbftClient;
  private out: PbftEffect[] = [];
  /** Effects produced while restoring (e.g. checkpoint votes to sign), handed out by start(). */
  private startEffects: PbftEffect[] = [];
  /** Held messages are replayed at the end of the step, after the persists that precede them. */
  private releasePending = false;
  private now: Millis = 0;
  private quiet = false;

  // metrics
  private readonly rejected = new Counters();
  private readonly latency = new LatencyRing();
  private diverged: string | null = null;
  /** Messages kept for a later view or epoch (not refusals: they are used once we get there). */
  private readonly heldCount = { view: 0, epoch: 0 };
  private readonly stats = { executedRequests: 0, executedBatches: 0, viewChangesStarted: 0, viewChanges: 0, stateTransfers: 0, stableCheckpoints: 0 };

  constructor(options: PbftOptions) {
    this.id = options.id;
    this.params = { ...defaultPbftParams, ...options.params };
    const problem = checkParams(this.params);
    if (problem) throw new Error(`pBFT parameters: ${problem}`);
    this.timing = { ...defaultPbftTiming, ...options.timing };
    this.digest = options.digest;
    if (options.genesis.length === 0) throw new Error('pBFT genesis: the first replica set needs at least one node');
    this.genesis = makeConfig(0, [...options.genesis]);
    this.nullDigest = batchDigest(this.digest, []);
    this.phaseEvents = options.phaseEvents ?? true;
    this.byz = new ByzantineOutbox((options.rng as Rng).fork('byzantine'));
    this.byz.mode = options.byzantine ?? null;
    this.config = this.genesis;
    this.state = new ReplicatedState(this.genesis.replicas, this.params);
    const text = this.state.text();
    this.stable = {
      seq: 0,
      stateDigest: this.digest(text),
      configDigest: this.digest(this.state.configText()),
      proofEpoch: 0,
      proof: [],
      text,
    };
    this.client = new PbftClient(this.id, {
      retransmitMs: this.timing.clientRetransmitMs,
      timeoutMs: this.timing.clientTimeoutMs,
      maxOpsPerRequest: this.timing.maxOpsPerRequest,
      maxRequestChars: this.params.maxBatchChars,
    });
    if (options.persisted) {
      this.out = [];
      this.restore(options.persisted);
      this.startEffects = this.out;
      this.out = [];
    }
  }

  // ── the runtime's entry points ──────────────────────────────────────────────────────────

  /** First call after construction: tells the client where the replicas are and asks peers for news. */
  start(now: Millis): PbftEffect[] {
    this.begin(now);
    this.out.push(...this.startEffects);
    this.startEffects = [];
    this.updateClientConfig();
    this.behindUntil = now + this.timing.idleStatusIntervalMs;
    this.nextStatusAt = now;
    this.nextRetransmitAt = now + this.timing.retransmitIntervalMs;
    this.refreshTimer();
    this.tryPropose();
    this.onTick();
    return this.end();
  }

  step(now: Millis, input: PbftInput): PbftEffect[] {
    this.begin(now);
    switch (input.type) {
      case 'message':
        this.onMessage(input.msg, input.from ?? input.msg.signer);
        break;
      case 'signed':
        this.onSigned(input.id, input.sig);
        break;
      case 'tick':
        this.onTick();
        break;
      case 'submit':
        this.clientStep({ type: 'submit', op: input.op, tag: input.tag });
        break;
      case 'set-byzantine':
        this.setByzantine(input.mode);
        break;
      case 'refused':
        this.reject(`runtime: ${input.reason}`.slice(0, 60));
        break;
      case 'peers':
        this.knownPeers = [...new Set(input.peers)].filter((p) => p !== this.id).slice(0, maxKnownPeers);
        break;
    }
    return this.end();
  }

  nextWakeAt(): Millis | undefined {
    let next = Math.min(this.nextStatusAt, this.nextRetransmitAt);
    const timeout = this.timeoutMs();
    if (this.mode === 'normal' && this.timerStart !== null && this.amReplica()) next = Math.min(next, this.timerStart + timeout);
    if (this.mode === 'view-change' && this.nvDeadline !== null) next = Math.min(next, this.nvDeadline);
    const c = this.client.nextWakeAt();
    if (c !== undefined) next = Math.min(next, c);
    const b = this.byz.nextWakeAt();
    if (b !== undefined) next = Math.min(next, b);
    return next;
  }

  /** Sizes of everything a peer could try to grow (all capped); for diagnostics and tests. */
  footprint(): PbftFootprint {
    return {
      slots: this.slots.size,
      pending: this.pending.size,
      inFlight: this.inFlight.size,
      future: this.future.length,
      checkpointVotes: this.votes.size(),
      checkpointsMade: this.checkpointsMade.size,
      viewChanges: this.vcs.size,
      newViewCandidates: this.nvCandidates.size,
      heldProofs: this.heldProofs.size,
      pendingSignatures: this.pendingSigns.size,
      statusPeers: this.statusAnswered.size,
      transferParts: this.transfer?.parts.size ?? 0,
      history: this.history.length,
      delayed: this.byz.heldCount(),
    };
  }

  /**
   * Changes how many requests this node puts in one pre-prepare when it is primary (a local
   * choice: receivers accept any count up to the wire ceiling). Takes effect with the next batch.
   */
  setMaxBatchRequests(n: number): void {
    const params = { ...this.params, maxBatchRequests: n };
    const problem = checkParams(params);
    if (problem) throw new Error(`batch size: ${problem}`);
    this.params = params;
  }

  get maxBatchRequests(): number {
    return this.params.maxBatchRequests;
  }

  /** The key–value store as committed here. */
  kvGet(key: string): unknown {
    return this.state.get(key);
  }

  view(): PbftView {
    const phases: PbftSlotView[] = [...this.slots.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((s) => ({
        seq: s.seq,
        view: s.view,
        digest: s.pp?.body.digest ?? s.committed?.pp.body.digest ?? null,
        requests: (s.batch ?? s.committed?.batch ?? []).length,
        prePrepared: s.pp !== undefined,
        prepares: [...s.prepares.keys()],
        commits: [...s.commits.keys()],
        prepared: s.prepared !== undefined && s.prepared.cert.pp.body.view === s.view,
        committed: s.committed !== undefined,
        executed: s.seq <= this.state.seq,
      }));
    return {
      id: this.id,
      role: this.amReplica() ? 'replica' : 'observer',
      epoch: this.config.epoch,
      view: this.viewNo,
      mode: this.mode,
      primary: primaryOf(this.config, this.viewNo),
      replicas: [...this.config.replicas],
      n: this.config.n,
      f: this.config.f,
      quorum: this.config.q,
      lastCommitted: this.state.seq,
      stableCheckpoint: this.stable.seq,
      log: this.state.logTail().map((e) => ({ seq: e.seq, digest: e.digest, op: e.op, client: e.client, ts: e.ts })),
      viewChanges: this.stats.viewChanges,
      latencyMs: { p50: this.latency.percentile(50), p99: this.latency.percentile(99) },
      phases,
      rejected: this.rejected.toRecord(),
      byzantine: this.byz.mode,
      pendingRequests: this.pending.size,
      stalled: this.stallReason(),
      kvSize: this.state.kvSize(),
      stats: {
        executedRequests: this.stats.executedRequests,
        executedBatches: this.stats.executedBatches,
        viewChangesStarted: this.stats.viewChangesStarted,
        stateTransfers: this.stats.stateTransfers,
        stableCheckpoints: this.stats.stableCheckpoints,
      },
    };
  }

  // ── small helpers ───────────────────────────────────────────────────────────────────────

  private begin(now: Millis): void {
    this.now = now;
    this.out = [];
  }

  private end(): PbftEffect[] {
    while (this.releasePending) {
      this.releasePending = false;
      this.releaseHeld();
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  private amReplica(): boolean {
    return isReplica(this.config, this.id);
  }

  private isPrimary(): boolean {
    return primaryOf(this.config, this.viewNo) === this.id;
  }

  private otherReplicas(): NodeId[] {
    return this.config.replicas.filter((r) => r !== this.id);
  }

  /**
   * The view-change timeout: T for the request timer and the first view change, doubling with
   * every further view change that brings no execution (the paper's 2T, 4T, …).
   */
  private timeoutMs(): Millis {
    return Math.min(this.timing.maxViewChangeTimeoutMs, this.timing.viewChangeTimeoutMs * 2 ** Math.max(0, this.backoff - 1));
  }

  private reject(reason: string): void {
    this.rejected.add(reason);
  }

  private ui(event: PbftUiEvent): void {
    this.out.push({ kind: 'ui', event });
  }

  private phase(seq: number, replica: NodeId, phase: PbftPhase): void {
    if (this.phaseEvents && !this.quiet) this.ui({ type: 'phase', seq, view: this.viewNo, replica, phase });
  }

  /** The highest sequence number this replica may work on now. */
  private highWatermark(): number {
    const k = this.params.checkpointIntervalSeqs;
    const L = this.params.logWindowSeqs;
    let high = this.stable.seq + L;
    // Only numbers whose replica set is known from what was executed (state-machine.ts).
    high = Math.min(high, Math.ceil((this.state.seq + 1) / k) * k + L - k);
    if (this.state.epoch > this.config.epoch && this.boundaryExecuted !== undefined) high = Math.min(high, this.boundaryExecuted);
    const end = this.state.epochEnd();
    if (end !== undefined) high = Math.min(high, end);
    return high;
  }

  private inWindow(seq: number): boolean {
    return seq > this.stable.seq && seq <= this.highWatermark();
  }

  private slot(seq: number): Slot {
    let slot = this.slots.get(seq);
    if (!slot) {
      // Every caller checks the window first; a slot outside it would be unbounded memory.
      if (!this.inWindow(seq)) throw new Error(`pBFT invariant: slot ${seq} outside the window (${this.stable.seq}, ${this.highWatermark()}]`);
      slot = newSlot(seq, this.viewNo, this.now);
      this.slots.set(seq, slot);
    }
    return slot;
  }

  private waiting(): boolean {
    if (this.pending.size > 0) return true;
    const end = this.state.epochEnd();
    return end !== undefined && this.state.seq < end;
  }

  private refreshTimer(): void {
    if (this.mode !== 'normal') return;
    if (!this.waiting()) this.timerStart = null;
    else if (this.timerStart === null) this.timerStart = this.now;
  }

  private behind(): void {
    this.behindUntil = this.now + this.timing.idleStatusIntervalMs;
    this.nextStatusAt = Math.min(this.nextStatusAt, this.now + Math.floor(this.timing.statusIntervalMs / 4));
  }

  // ── signing and sending ─────────────────────────────────────────────────────────────────

  private requestSign(body: PbftBody, purpose: Purpose, signer: NodeId = this.id): void {
    const id = this.nextSignId++;
    this.pendingSigns.set(id, { body, signer, purpose });
    if (this.pendingSigns.size > maxPendingSignatures) {
      const oldest = this.pendingSigns.keys().next().value as number;
      this.pendingSigns.delete(oldest);
    }
    this.out.push({ kind: 'sign', id, body, signer });
    if (this.byz.mode === 'forge' && signer === this.id) this.forge(body);
  }

  /** 'forge': the same vote, for a digest nobody proposed, in the name of other replicas. */
  private forge(body: PbftBody): void {
    if (body.type !== 'prepare' && body.type !== 'commit' && body.type !== 'checkpoint') return;
    const victims = this.otherReplicas().slice(0, 2);
    for (const victim of victims) {
      const forged: PbftBody =
        body.type === 'checkpoint' ? { ...body, stateDigest: wrongDigest(body.stateDigest) } : { ...body, digest: wrongDigest(body.digest) };
      const id = this.nextSignId++;
      this.pendingSigns.set(id, { body: forged, signer: victim, purpose: { kind: 'send', to: this.otherReplicas() } });
      this.out.push({ kind: 'sign', id, body: forged, signer: victim });
    }
  }

  private emit(to: readonly NodeId[], msg: PbftMessage): void {
    const targets = to.filter((t) => t !== this.id);
    if (targets.length === 0) return;
    for (const o of this.byz.send(this.now, { to: targets, msg })) this.emitOutgoing(o);
  }

  private emitOutgoing(o: Outgoing): void {
    if (o.to.length === 1) this.out.push({ kind: 'send', to: o.to[0] as NodeId, msg: o.msg });
    else this.out.push({ kind: 'broadcast', to: o.to, msg: o.msg });
  }

  private persist(writes: Array<[string, unknown]>, deletes: string[] = []): void {
    if (writes.length === 0 && deletes.length === 0) return;
    this.out.push({ kind: 'persist', writes, deletes });
  }

  private slotRecord(slot: Slot): SlotRecord {
    const own = (m: Map<NodeId, Signed<PrepareBody>> | Map<NodeId, Signed<CommitBody>>) => m.get(this.id);
    return {
      v: 1,
      seq: slot.seq,
      view: slot.view,
      pp: slot.pp,
      batch: slot.batch,
      ownPrepare: own(slot.prepares) as Signed<PrepareBody> | undefined,
      ownCommit: own(slot.commits) as Signed<CommitBody> | undefined,
      prepared: slot.prepared,
      committed: slot.committed,
    };
  }

  private persistSlot(slot: Slot): void {
    this.persist([[slotKey(slot.seq), this.slotRecord(slot)]]);
  }

  private metaRecord(): MetaRecord {
    return {
      v: 1,
      epoch: this.config.epoch,
      view: this.viewNo,
      mode: this.mode,
      backoff: this.backoff,
      clientTs: this.client.lastRequestNumber,
    };
  }

  private stableRecord(): StableRecord {
    return {
      v: 1,
      seq: this.stable.seq,
      stateDigest: this.stable.stateDigest,
      configDigest: this.stable.configDigest,
      proofEpoch: this.stable.proofEpoch,
      proof: this.stable.proof,
      text: this.stable.text,
      history: this.history,
      epochStartSeq: this.epochStartSeq,
    };
  }

  private onSigned(id: number, sig: string): void {
    const pending = this.pendingSigns.get(id);
    if (!pending) {
      this.reject('unknown-signature-id');
      return;
    }
    this.pendingSigns.delete(id);
    const signed = { body: pending.body, signer: pending.signer, sig };
    const p = pending.purpose;
    switch (p.kind) {
      case 'pre-prepare':
        return this.ownPrePrepareSigned(signed as Signed<PrePrepareBody>, p.batch, p.to, p.store);
      case 'prepare':
        return this.ownVoteSigned(signed as Signed<PrepareBody>);
      case 'commit':
        return this.ownVoteSigned(signed as Signed<CommitBody>);
      case 'checkpoint':
        return this.ownCheckpointSigned(signed as Signed<CheckpointBody>, p.to);
      case 'view-change':
        return this.ownViewChangeSigned(signed as Signed<ViewChangeBody>, p.batches);
      case 'new-view':
        return this.ownNewViewSigned(signed as Signed<NewViewBody>, p.vcs, p.plan);
      case 'send': {
        const msg: PbftMessage = { ...signed };
        if (p.batch) msg.batch = p.batch;
        if (p.chunk !== undefined) msg.chunk = p.chunk;
        return this.emit(p.to, msg);
      }
      case 'client':
        return this.clientStep({ type: 'signed', id: p.clientSignId, sig });
    }
  }

  // ── the embedded client ─────────────────────────────────────────────────────────────────

  private clientStep(input: Parameters<PbftClient['step']>[1]): void {
    for (const e of this.client.step(this.now, input)) this.clientEffect(e);
  }

  private clientEffect(e: ClientEffect): void {
    switch (e.kind) {
      case 'sign':
        this.requestSign(e.body, { kind: 'client', clientSignId: e.id }, e.signer);
        return;
      case 'send': {
        if (e.to.includes(this.id)) this.onRequest(e.msg);
        this.emit(e.to, e.msg);
        return;
      }
      case 'result': {
        const { kind: _kind, ...rest } = e;
        this.out.push({ kind: 'client-result', ...rest });
        return;
      }
    }
  }

  private updateClientConfig(): void {
    this.clientStep({ type: 'config', epoch: this.config.epoch, replicas: this.config.replicas, primary: primaryOf(this.config, this.viewNo) });
  }

  private setByzantine(mode: ByzantineMode | null): void {
    for (const o of this.byz.set(mode, this.now)) this.emitOutgoing(o);
    this.ui({ type: 'byzantine', mode });
  }

  // ── incoming messages ───────────────────────────────────────────────────────────────────

  private onMessage(msg: PbftMessage, from: NodeId): void {
    this.byz.observe(msg);
    switch (msg.body.type) {
      case 'request':
        return this.onRequest(msg as PbftMessage<RequestBody>);
      case 'reply':
        return this.onReply(msg as PbftMessage<ReplyBody>);
      case 'pre-prepare':
        return this.onPrePrepare(msg as PbftMessage<PrePrepareBody>);
      case 'prepare':
      case 'commit':
        return this.onVote(msg as PbftMessage<PrepareBody> | PbftMessage<CommitBody>);
      case 'checkpoint':
        return this.onCheckpoint(msg as PbftMessage<CheckpointBody>);
      case 'view-change':
        return this.onViewChange(msg as PbftMessage<ViewChangeBody>);
      case 'new-view':
        return this.onNewView(msg as PbftMessage<NewViewBody>, from);
      case 'status':
        return this.onStatus(msg as PbftMessage<StatusBody>);
      case 'proof':
        return this.onProof(msg as PbftMessage<ProofBody>);
      case 'state':
        return this.onState(msg as PbftMessage<StateBody>);
      case 'fetch-vc':
        return this.onFetchViewChanges(msg as PbftMessage<FetchViewChangesBody>);
    }
  }

  /**
   * The checks every message of the replica protocol passes first: right epoch, sent by a
   * replica, and received by one. Messages for the next epoch wait until we get there.
   */
  private admit(msg: PbftMessage & { body: { epoch: number } }, needReplicaHere: boolean): boolean {
    if (msg.body.epoch < this.config.epoch) {
      this.reject('old-epoch');
      return false;
    }
    if (msg.body.epoch > this.config.epoch) {
      this.hold(msg, 'future-epoch');
      return false;
    }
    if (!isReplica(this.config, msg.signer)) {
      this.reject('not-a-replica');
      return false;
    }
    if (needReplicaHere && !this.amReplica()) {
      this.reject('not-for-me');
      return false;
    }
    return true;
  }

  /** Keeps a message for a later view or epoch (bounded; the oldest goes first). */
  private hold(msg: PbftMessage, reason: string): void {
    const body = msg.body as { epoch?: number; view?: number };
    const farView = body.epoch === this.config.epoch && body.view !== undefined && body.view > this.viewNo + maxViewsAhead;
    if ((body.epoch !== undefined && body.epoch > this.config.epoch + 1) || farView) {
      this.reject('too-far-ahead');
      this.behind();
      return;
    }
    this.heldCount[reason === 'future-epoch' ? 'epoch' : 'view']++;
    this.future.push(msg);
    if (this.future.length > maxFutureMessages) this.future.shift();
    this.behind();
  }

  /** Replays held messages that may now apply. */
  private releaseHeld(): void {
    const held = this.future;
    this.future = [];
    for (const msg of held) {
      const b = msg.body as { epoch?: number; view?: number };
      if (b.epoch !== undefined && b.epoch > this.config.epoch) {
        this.future.push(msg);
        continue;
      }
      if (b.epoch !== undefined && b.epoch < this.config.epoch) continue;
      if (b.view !== undefined && b.view > this.viewNo && msg.body.type !== 'view-change' && msg.body.type !== 'new-view') {
        this.future.push(msg);
        continue;
      }
      this.onMessage(msg, msg.signer);
    }
  }

  // ── requests and replies ────────────────────────────────────────────────────────────────

  private onRequest(msg: PbftMessage<RequestBody>): void {
    const { client, ts } = msg.body;
    if (msg.signer !== client) return this.reject('forged-request');
    if (!this.amReplica()) return this.reject('not-for-me');
    // A request no batch can hold would block the primary's queue (takeBatch goes in order).
    if (canonicalBytes(stripAttachments(msg)).length + 2 > this.params.maxBatchChars) return this.reject('oversized-request');
    if (this.state.isExecuted(client, ts)) {
      const last = this.state.lastReply(client);
      if (last && last.ts === ts) this.sendReply(client, ts, last.seq, last.result, last.more);
      else this.reject('stale-request');
      return;
    }
    const key = reqKey(client, ts);
    if (this.inFlight.has(key)) return this.reject('duplicate');
    const known = this.pending.get(key);
    if (!known) {
      // One outstanding request per client: a newer one replaces older ones still waiting.
      for (const [k, p] of this.pending) if (p.req.body.client === client && p.req.body.ts < ts && !this.inFlight.has(k)) this.pending.delete(k);
      if (this.pending.size >= maxPendingRequests) return this.reject('capacity');
      this.pending.set(key, { req: stripAttachments(msg), since: this.now });
    }
    if (this.isPrimary()) {
      this.tryPropose();
    } else {
      // As in the paper: relay to the primary and start the timer that replaces a primary
      // that never orders it.
      this.forwardWaiting(key);
    }
    this.refreshTimer();
  }

  /**
   * Relays waiting requests (one, or all not yet ordered) to the primary of the current view,
   * at most once per client retransmission interval each: the primary may never have got them
   * (lost, or sent to an earlier primary by a client that has since given up).
   */
  private forwardWaiting(only?: string): void {
    if (this.mode !== 'normal' || this.isPrimary() || !this.amReplica()) return;
    const primary = primaryOf(this.config, this.viewNo);
    const entries = only !== undefined ? [[only, this.pending.get(only)] as const] : [...this.pending.entries()];
    for (const [key, entry] of entries) {
      if (!entry || this.inFlight.has(key)) continue;
      if (entry.forwardedAt !== undefined && this.now - entry.forwardedAt < this.timing.clientRetransmitMs) continue;
      entry.forwardedAt = this.now;
      this.emit([primary], entry.req);
    }
  }

  private onReply(msg: PbftMessage<ReplyBody>): void {
    if (msg.body.to !== this.id) return this.reject('not-for-me');
    this.clientStep({ type: 'reply', msg });
  }

  private sendReply(client: NodeId, ts: number, seq: number, result: ReplyBody['result'], more?: ReplyBody['more']): void {
    if (this.quiet || !this.amReplica()) return;
    const body: ReplyBody = { type: 'reply', to: client, epoch: this.config.epoch, view: this.viewNo, ts, seq, result };
    if (more && more.length > 0) body.more = more;
    // Our own client trusts its own replica without a signature (and, as a replica, alone: client.ts).
    if (client === this.id) this.clientStep({ type: 'reply', msg: { body, signer: this.id, sig: '' }, own: true });
    else this.requestSign(body, { kind: 'send', to: [client] });
  }

  // ── normal case: primary ────────────────────────────────────────────────────────────────

  private tryPropose(): void {
    if (!this.amReplica() || this.mode !== 'normal' || !this.isPrimary()) return;
    // First what the new-view order assigned, as far as the window allows.
    while (this.nvBacklog.length > 0) {
      const next = this.nvBacklog[0] as { seq: number; batch: Batch };
      if (next.seq <= this.stable.seq) {
        this.nvBacklog.shift();
        continue;
      }
      if (!this.inWindow(next.seq)) return;
      this.nvBacklog.shift();
      this.propose(next.seq, next.batch);
    }
    const high = this.highWatermark();
    const fillTo = this.state.epochEnd();
    while (this.nextSeq <= high && this.nextSeq - 1 - this.state.seq < this.timing.maxInFlightBatches) {
      if (this.nextSeq <= this.stable.seq) {
        this.nextSeq = this.stable.seq + 1;
        continue;
      }
      const batch = this.takeBatch();
      // Empty batches carry the sequence numbers to a pending membership boundary.
      if (batch.length === 0 && (fillTo === undefined || this.nextSeq > fillTo)) break;
      this.propose(this.nextSeq, batch);
      this.nextSeq++;
    }
  }

  private takeBatch(): Batch {
    const batch: Batch = [];
    let chars = 2;
    for (const [key, p] of this.pending) {
      if (this.inFlight.has(key)) continue;
      if (this.state.isExecuted(p.req.body.client, p.req.body.ts)) {
        this.pending.delete(key);
        continue;
      }
      const size = canonicalBytes(p.req).length + 1;
      if (batch.length >= this.params.maxBatchRequests || chars + size > this.params.maxBatchChars) break;
      batch.push(p.req);
      chars += size;
    }
    return batch;
  }

  /** Orders `batch` at `seq` in the current view (also used for the new-view order). */
  private propose(seq: number, batch: Batch): void {
    const digest = batchDigest(this.digest, batch);
    const slot = this.slot(seq);
    if (slot.votedPrepare !== undefined || slot.pp) return;
    slot.votedPrepare = digest;
    for (const r of batch) this.inFlight.set(reqKey(r.body.client, r.body.ts), seq);
    const body: PrePrepareBody = { type: 'pre-prepare', epoch: this.config.epoch, view: this.viewNo, seq, digest };
    const others = this.otherReplicas();
    if (this.byz.mode === 'equivocate' && others.length >= 2) {
      const half = Math.ceil(others.length / 2);
      const alt: Batch = batch.length >= 2 ? [...batch].reverse() : [];
      const altBody: PrePrepareBody = { ...body, digest: batchDigest(this.digest, alt) };
      // It backs neither version with its own commit: were it to commit the first, that half
      // and the primary would make a quorum whenever the halves are unequal (n = 4: 2 + 1), the
      // equivocation would go unnoticed and no view change would ever be needed.
      this.requestSign(body, { kind: 'pre-prepare', batch, to: others.slice(0, half), store: false });
      this.requestSign(altBody, { kind: 'pre-prepare', batch: alt, to: others.slice(half), store: false });
      return;
    }
    this.requestSign(body, { kind: 'pre-prepare', batch, to: others, store: true });
  }

  private ownPrePrepareSigned(signed: Signed<PrePrepareBody>, batch: Batch, to: NodeId[], store: boolean): void {
    const b = signed.body;
    if (b.epoch !== this.config.epoch || b.view !== this.viewNo || this.mode !== 'normal' || !this.inWindow(b.seq)) return;
    if (store) {
      const slot = this.slot(b.seq);
      if (slot.pp) return;
      slot.pp = signed;
      slot.batch = batch;
      this.persistSlot(slot);
      this.phase(b.seq, this.id, 'pre-prepare');
    }
    this.emit(to, { ...signed, batch });
    if (store) this.checkPrepared(this.slot(b.seq));
  }

  // ── normal case: backups ────────────────────────────────────────────────────────────────

  private onPrePrepare(msg: PbftMessage<PrePrepareBody>): void {
    if (!this.admit(msg, true)) return;
    const b = msg.body;
    if (b.view < this.viewNo) return this.reject('old-view');
    if (b.view > this.viewNo || this.mode !== 'normal') {
      if (b.view >= this.viewNo) this.hold(msg, 'future-view');
      else this.reject('old-view');
      return;
    }
    if (msg.signer !== primaryOf(this.config, this.viewNo)) return this.reject('wrong-primary');
    if (msg.signer === this.id) return this.reject('duplicate');
    if (!this.inWindow(b.seq)) {
      if (b.seq > this.stable.seq) this.behind();
      return this.reject('outside-watermarks');
    }
    const batch = msg.batch;
    if (!batch) return this.reject('malformed');
    if (checkBatch(batch, this.params)) return this.reject('bad-batch');
    if (batchDigest(this.digest, batch) !== b.digest) return this.reject('wrong-digest');
    const slot = this.slot(b.seq);
    if (slot.pp) return this.reject(slot.pp.body.digest === b.digest ? 'duplicate' : 'conflict');
    const expected = slot.expected ?? this.viewOrder.get(b.seq);
    if (expected !== undefined && expected !== b.digest) return this.reject('not-in-new-view');
    if (slot.committed && slot.committed.pp.body.digest !== b.digest) return this.reject('conflict');
    slot.pp = stripAttachments(msg);
    slot.batch = batch;
    for (const r of batch) {
      const key = reqKey(r.body.client, r.body.ts);
      this.inFlight.set(key, b.seq);
      if (!this.pending.has(key) && !this.state.isExecuted(r.body.client, r.body.ts) && this.pending.size < maxPendingRequests) {
        this.pending.set(key, { req: r, since: this.now });
      }
    }
    this.refreshTimer();
    this.phase(b.seq, msg.signer, 'pre-prepare');
    if (slot.votedPrepare === undefined) {
      slot.votedPrepare = b.digest;
      const digest = this.byz.mode === 'wrong-digest' ? wrongDigest(b.digest) : b.digest;
      this.requestSign({ type: 'prepare', epoch: b.epoch, view: b.view, seq: b.seq, digest }, { kind: 'prepare' });
    }
    this.checkPrepared(slot);
  }

  private onVote(msg: PbftMessage<PrepareBody> | PbftMessage<CommitBody>): void {
    if (!this.admit(msg, true)) return;
    const b = msg.body;
    if (b.view < this.viewNo) return this.reject('old-view');
    if (b.view > this.viewNo || this.mode !== 'normal') {
      if (b.view >= this.viewNo) this.hold(msg, 'future-view');
      else this.reject('old-view');
      return;
    }
    if (b.type === 'prepare' && msg.signer === primaryOf(this.config, this.viewNo)) return this.reject('wrong-primary');
    if (msg.signer === this.id) return this.reject('duplicate');
    if (!this.inWindow(b.seq)) {
      if (b.seq > this.stable.seq) this.behind();
      return this.reject('outside-watermarks');
    }
    const slot = this.slot(b.seq);
    const map = (b.type === 'prepare' ? slot.prepares : slot.commits) as Map<NodeId, typeof msg>;
    const existing = map.get(msg.signer);
    if (existing) return this.reject(existing.body.digest === b.digest ? 'duplicate' : 'conflict');
    if (slot.pp && slot.pp.body.digest !== b.digest) this.reject('wrong-digest');
    map.set(msg.signer, stripAttachments<PbftBody>(msg) as typeof msg);
    this.phase(b.seq, msg.signer, b.type);
    if (b.type === 'prepare') this.checkPrepared(slot);
    else this.checkCommitted(slot);
  }

  private ownVoteSigned(signed: Signed<PrepareBody> | Signed<CommitBody>): void {
    const b = signed.body;
    if (b.epoch !== this.config.epoch || b.view !== this.viewNo || this.mode !== 'normal' || !this.inWindow(b.seq)) return;
    const slot = this.slot(b.seq);
    const map = (b.type === 'prepare' ? slot.prepares : slot.commits) as Map<NodeId, typeof signed>;
    if (map.has(this.id)) return;
    map.set(this.id, signed);
    // Durable before it leaves: after a crash this replica must not vote differently.
    this.persistSlot(slot);
    this.emit(this.otherReplicas(), signed);
    this.phase(b.seq, this.id, b.type);
    if (b.type === 'prepare') this.checkPrepared(slot);
    else this.checkCommitted(slot);
  }

  private checkPrepared(slot: Slot): void {
    if (!slot.pp || !slot.batch) return;
    const preparedHere = slot.prepared !== undefined && slot.prepared.cert.pp.body.view === slot.view;
    if (!preparedHere) {
      if (!isPreparedNow(slot, this.config)) return;
      const prepares = matchingPrepares(slot, this.config).slice(0, this.config.q - 1);
      slot.prepared = { cert: { pp: slot.pp, prepares }, batch: slot.batch };
      this.phase(slot.seq, this.id, 'prepared');
    }
    if (slot.votedCommit === undefined) {
      slot.votedCommit = slot.pp.body.digest;
      const b = slot.pp.body;
      const digest = this.byz.mode === 'wrong-digest' ? wrongDigest(b.digest) : b.digest;
      this.requestSign({ type: 'commit', epoch: b.epoch, view: b.view, seq: b.seq, digest }, { kind: 'commit' });
    }
    this.checkCommitted(slot);
  }

  private checkCommitted(slot: Slot): void {
    if (slot.committed || !slot.pp || !slot.batch) return;
    if (!isCommittedNow(slot, this.config)) return;
    slot.committed = { pp: slot.pp, commits: matchingCommits(slot, this.config).slice(0, this.config.q), batch: slot.batch };
    this.persistSlot(slot);
    this.phase(slot.seq, this.id, 'committed');
    this.executeReady();
  }

  // ── execution and checkpoints ───────────────────────────────────────────────────────────

  private executeReady(): void {
    let progressed = false;
    for (;;) {
      const seq = this.state.seq + 1;
      if (this.state.epoch > this.config.epoch && this.amReplica()) break; // boundary done: wait for it to be stable
      const cert = this.slots.get(seq)?.committed ?? this.heldProofs.get(seq);
      if (!cert) break;
      this.heldProofs.delete(seq);
      this.execute(seq, cert);
      progressed = true;
    }
    if (!progressed) return;
    if (this.mode === 'normal') {
      this.backoff = 0;
      this.stalledReported = false;
      this.timerStart = null;
      this.refreshTimer();
    }
    this.tryPropose();
  }

  private execute(seq: number, cert: CommitCert): void {
    const digest = cert.pp.body.digest;
    const epochBefore = this.state.epoch;
    const results = this.state.execute(seq, digest, cert.batch);
    const entries = [];
    for (const r of results) {
      const key = reqKey(r.client, r.ts);
      const waited = this.pending.get(key);
      if (waited && !this.quiet) this.latency.add(this.now - waited.since);
      this.pending.delete(key);
      this.inFlight.delete(key);
      if (r.reply) this.sendReply(r.client, r.ts, seq, r.result, r.more.map((m) => m.result));
      if (r.fresh) {
        entries.push({ client: r.client, ts: r.ts, op: r.op, result: r.result });
        for (const m of r.more) entries.push({ client: r.client, ts: r.ts, op: m.op, result: m.result });
      }
    }
    // Requests of a client older than the one just executed will never run: stop waiting for them.
    for (const [key, p] of this.pending) if (this.state.isExecuted(p.req.body.client, p.req.body.ts)) this.pending.delete(key);
    this.stats.executedBatches++;
    this.stats.executedRequests += entries.length;
    if (this.state.epoch !== epochBefore) this.boundaryExecuted = seq;
    if (!this.quiet) {
      this.out.push({ kind: 'committed', seq, digest, entries });
      this.ui({ type: 'executed', seq, digest, requests: entries.length });
    }
    if (seq % this.params.checkpointIntervalSeqs === 0) this.makeCheckpoint(seq);
  }

  private makeCheckpoint(seq: number): void {
    const text = this.state.text();
    const digest = this.digest(text);
    const configDigest = this.digest(this.state.configText());
    this.checkpointsMade.set(seq, { text, digest, configDigest });
    if (!this.amReplica()) {
      // An observer trusts its own execution: every batch it ran came with a commit certificate.
      this.adoptStable({ seq, stateDigest: digest, configDigest, proofEpoch: this.config.epoch, proof: [], text });
      return;
    }
    const stateDigest = this.byz.mode === 'wrong-digest' ? wrongDigest(digest) : digest;
    const body: CheckpointBody = { type: 'checkpoint', epoch: this.config.epoch, seq, stateDigest, configDigest };
    // The checkpoint that ends an epoch also goes to the nodes that join with it.
    const to = [...new Set([...this.config.replicas, ...this.state.replicas])];
    this.requestSign(body, { kind: 'checkpoint', to });
  }

  private ownCheckpointSigned(signed: Signed<CheckpointBody>, to: NodeId[]): void {
    if (signed.body.epoch !== this.config.epoch || signed.body.seq <= this.stable.seq) return;
    this.votes.add(signed);
    this.emit(to, signed);
    this.checkStable(signed.body.seq);
  }

  private onCheckpoint(msg: PbftMessage<CheckpointBody>): void {
    if (!this.admit(msg, false)) return;
    const b = msg.body;
    if (b.seq <= this.stable.seq) return this.reject('stale');
    if (b.seq % this.params.checkpointIntervalSeqs !== 0) return this.reject('malformed');
    if (msg.signer === this.id) return this.reject('duplicate');
    const added = this.votes.add(stripAttachments(msg));
    if (added !== 'added') return this.reject(added);
    if (b.seq > this.state.seq) this.behind();
    this.checkStable(b.seq);
  }

  private checkStable(seq: number): void {
    const cert = this.votes.certificate(seq, this.config);
    if (!cert) return;
    const first = (cert[0] as Signed<CheckpointBody>).body;
    this.onStableCert({ seq, stateDigest: first.stateDigest, configDigest: first.configDigest, proofEpoch: this.config.epoch, proof: cert });
  }

  /** A checked stable certificate of the current epoch for `seq`. */
  private onStableCert(cert: Omit<StableState, 'text'>): void {
    if (cert.seq <= this.stable.seq) return;
    if (this.state.seq < cert.seq) {
      // We lag behind a quorum: fetch the state (or the certificates) from one of them.
      const helper = cert.proof.find((c) => c.signer !== this.id)?.signer;
      if (helper) this.askHint = helper;
      this.behind();
      return;
    }
    const made = this.checkpointsMade.get(cert.seq);
    if (!made) return;
    if (made.digest !== cert.stateDigest) {
      if (!this.diverged) this.ui({ type: 'diverged', seq: cert.seq, mine: made.digest, quorum: cert.stateDigest });
      this.diverged = `a quorum certified checkpoint ${cert.seq} with state ${cert.stateDigest}, but this node computed ${made.digest}`;
      this.reject('diverged');
      return;
    }
    this.adoptStable({ ...cert, text: made.text });
  }

  private adoptStable(stable: StableState): void {
    if (stable.seq <= this.stable.seq) return;
    this.stable = stable;
    this.stats.stableCheckpoints++;
    const deletes: string[] = [];
    for (const seq of [...this.slots.keys()]) {
      if (seq <= stable.seq) {
        this.slots.delete(seq);
        deletes.push(slotKey(seq));
      }
    }
    for (const seq of [...this.checkpointsMade.keys()]) if (seq < stable.seq) this.checkpointsMade.delete(seq);
    for (const seq of [...this.heldProofs.keys()]) if (seq <= stable.seq) this.heldProofs.delete(seq);
    this.votes.discardThrough(stable.seq);
    if (this.state.epoch > this.config.epoch && this.state.seq === stable.seq) this.enterEpoch(stable.seq, stable.proof);
    this.persist([[stableKey, this.stableRecord()], [metaKey, this.metaRecord()]], deletes);
    if (!this.quiet) this.ui({ type: 'checkpoint-stable', seq: stable.seq });
    this.tryPropose();
  }

  /** The boundary checkpoint is stable: the replica set of the executed state takes over. */
  private enterEpoch(startSeq: number, proof: Signed<CheckpointBody>[]): void {
    const record: EpochRecord = { epoch: this.state.epoch, startSeq, replicas: [...this.state.replicas], proof };
    this.history.push(record);
    if (this.history.length > maxEpochHistory) this.history.splice(0, this.history.length - maxEpochHistory);
    this.switchConfig(makeConfig(this.state.epoch, this.state.replicas), startSeq);
  }

  private switchConfig(config: ReplicaConfig, startSeq: number): void {
    this.config = config;
    this.epochStartSeq = startSeq;
    this.viewNo = 0;
    this.mode = 'normal';
    this.backoff = 0;
    this.myVc = undefined;
    this.vcs.clear();
    this.acceptedNv = undefined;
    this.pendingNv = undefined;
    this.nvCandidates.clear();
    this.sentNvForView = -1;
    this.nvBacklog = [];
    this.viewOrder = new Map();
    this.nvDeadline = null;
    this.boundaryExecuted = undefined;
    for (const seq of [...this.slots.keys()]) if (seq > startSeq) this.slots.delete(seq);
    this.votes.clear(); // votes of the old epoch can never count again
    this.inFlight.clear();
    this.nextSeq = startSeq + 1;
    this.timerStart = null;
    this.refreshTimer();
    const role = this.amReplica() ? 'replica' : 'observer';
    if (!this.quiet) this.ui({ type: 'epoch-changed', epoch: config.epoch, startSeq, replicas: [...config.replicas], role });
    this.updateClientConfig();
    this.persist([[metaKey, this.metaRecord()]], [viewChangeKey, newViewKey]);
    this.releasePending = true;
  }

  // ── view change ─────────────────────────────────────────────────────────────────────────

  private startViewChange(toView: number, reason: string): void {
    if (!this.amReplica() || toView <= this.viewNo) return;
    const from = this.viewNo;
    this.mode = 'view-change';
    this.viewNo = toView;
    this.nvBacklog = [];
    this.viewOrder = new Map();
    this.viewChangeStartedAt = this.now;
    this.timerStart = null;
    this.backoff = Math.min(maxBackoff, this.backoff + 1);
    this.nvDeadline = null;
    this.nvFromQuorum = false;
    this.inFlight.clear();
    this.stats.viewChangesStarted++;
    const stable: StableCert = {
      seq: this.stable.seq,
      stateDigest: this.stable.stateDigest,
      proof: this.stable.seq === this.epochStartSeq ? [] : this.stable.proof,
    };
    const prepared: PreparedCert[] = [];
    const batches = new Map<Digest, Batch>();
    for (const slot of [...this.slots.values()].sort((a, b) => a.seq - b.seq)) {
      if (slot.seq <= this.stable.seq || !slot.prepared) continue;
      prepared.push(slot.prepared.cert);
      batches.set(slot.prepared.cert.pp.body.digest, slot.prepared.batch);
    }
    const body: ViewChangeBody = { type: 'view-change', epoch: this.config.epoch, view: toView, stable, prepared };
    this.requestSign(body, { kind: 'view-change', batches: [...batches.values()] });
    if (!this.quiet) this.ui({ type: 'view-change-started', epoch: this.config.epoch, from, to: toView, reason });
    if (this.backoff >= stalledAfterViewChanges) this.reportStall();
  }

  private ownViewChangeSigned(signed: Signed<ViewChangeBody>, batches: Batch[]): void {
    if (signed.body.epoch !== this.config.epoch || signed.body.view !== this.viewNo || this.mode !== 'view-change') return;
    const msg: PbftMessage<ViewChangeBody> = { ...signed, batches };
    this.myVc = msg;
    this.vcs.set(this.id, { msg, digest: this.digest(canonicalBytes(signed.body)) });
    this.persist([
      [metaKey, this.metaRecord()],
      [viewChangeKey, msg],
    ]);
    this.emit(this.otherReplicas(), msg);
    this.viewChangeProgress();
  }

  private onViewChange(msg: PbftMessage<ViewChangeBody>): void {
    if (!this.admit(msg, true)) return;
    const b = msg.body;
    if (msg.signer === this.id) return this.reject('duplicate');
    const waitingForThis = this.mode === 'view-change' && b.view === this.viewNo;
    if (b.view < this.viewNo || (b.view === this.viewNo && !waitingForThis)) {
      // A replica still asking for a view we already entered missed the new-view: resend it.
      if (b.view === this.viewNo && this.acceptedNv) this.sendNewViewTo(msg.signer);
      return this.reject('old-view');
    }
    if (b.view > this.viewNo + maxViewsAhead) return this.reject('too-far-ahead');
    const problem = checkViewChange(msg, this.vcContext());
    if (problem) return this.reject('bad-view-change');
    const digest = this.digest(canonicalBytes(b));
    const pendingRef = this.pendingNv?.msg.body.viewChanges.some((r) => r.signer === msg.signer && r.digest === digest);
    if (pendingRef) {
      if (this.nvCandidates.size >= this.config.n) this.nvCandidates.clear();
      this.nvCandidates.set(digest, msg);
    }
    const existing = this.vcs.get(msg.signer);
    if (existing && existing.msg.body.view >= b.view) {
      if (!pendingRef) this.reject(existing.digest === digest ? 'duplicate' : 'stale');
    } else {
      this.vcs.set(msg.signer, { msg, digest });
    }
    this.viewChangeProgress();
    if (this.pendingNv) this.onNewView(this.pendingNv.msg, this.pendingNv.from);
  }

  private vcContext() {
    return { config: this.config, params: this.params, epochStartSeq: this.epochStartSeq, digest: this.digest };
  }

  private viewChangeProgress(): void {
    // The paper's f+1 rule: that many replicas asking for later views include an honest one,
    // so join the latest view at least f+1 of them ask for.
    const ahead = [...this.vcs.values()].map((v) => v.msg.body.view).filter((v) => v > this.viewNo).sort((a, b) => b - a);
    const join = ahead[this.config.f];
    if (join !== undefined) this.startViewChange(join, `${this.config.f + 1} replicas asked for view ${join} or later`);
    if (this.mode !== 'view-change') return;
    const forView = [...this.vcs.values()].filter((v) => v.msg.body.view === this.viewNo);
    if (forView.length >= this.config.q && !this.nvFromQuorum) {
      // The paper's new-view timer: started once q replicas want this view.
      this.nvFromQuorum = true;
      this.nvDeadline = this.now + this.timeoutMs();
    } else if (forView.length >= this.config.f + 1 && this.nvDeadline === null) {
      // Fewer than q may never come (the rest moved on while cut off or faulty). With f + 1
      // (an honest one among them) the group moves on after a longer wait; the replicas ahead
      // wait for it, and the f + 1 rule lets those behind catch up. A replica alone never
      // runs ahead, so faulty ones cannot drag honest ones through views.
      this.nvDeadline = this.viewChangeStartedAt + 2 * this.timeoutMs();
    }
    if (this.isPrimary() && this.myVc && this.sentNvForView !== this.viewNo && forView.length >= this.config.q) {
      this.composeNewView(forView.map((v) => v.msg));
    }
  }

  private composeNewView(all: Array<PbftMessage<ViewChangeBody>>): void {
    const mine = all.filter((m) => m.signer === this.id);
    const others = all.filter((m) => m.signer !== this.id).sort((a, b) => (a.signer < b.signer ? -1 : 1));
    const chosen = [...mine, ...others].slice(0, this.config.q);
    const plan = planNewView(chosen.map((m) => m.body), this.nullDigest);
    const body: NewViewBody = {
      type: 'new-view',
      epoch: this.config.epoch,
      view: this.viewNo,
      viewChanges: chosen.map((m) => ({ signer: m.signer, digest: this.digest(canonicalBytes(m.body)) })),
      order: plan.order,
    };
    this.sentNvForView = this.viewNo;
    this.requestSign(body, { kind: 'new-view', vcs: chosen, plan });
  }

  private ownNewViewSigned(signed: Signed<NewViewBody>, vcs: Array<PbftMessage<ViewChangeBody>>, plan: NewViewPlan): void {
    if (signed.body.epoch !== this.config.epoch || signed.body.view !== this.viewNo || this.mode !== 'view-change') return;
    this.enterView(signed, vcs, plan, true);
  }

  private onNewView(msg: PbftMessage<NewViewBody>, from: NodeId): void {
    if (!this.admit(msg, true)) return;
    const b = msg.body;
    if (b.view < this.viewNo || (b.view === this.viewNo && this.mode === 'normal')) return this.reject('stale');
    if (b.view > this.viewNo + maxViewsAhead) return this.reject('too-far-ahead');
    if (msg.signer !== primaryOf(this.config, b.view)) return this.reject('wrong-primary');
    const signers = new Set(b.viewChanges.map((r) => r.signer));
    if (signers.size !== b.viewChanges.length || b.viewChanges.length < this.config.q || [...signers].some((s) => !isReplica(this.config, s))) {
      return this.reject('bad-new-view');
    }
    const found: Array<PbftMessage<ViewChangeBody>> = [];
    const missing: NodeId[] = [];
    for (const ref of b.viewChanges) {
      const stored = this.vcs.get(ref.signer);
      const vc = stored && stored.digest === ref.digest ? stored.msg : this.nvCandidates.get(ref.digest);
      if (vc && vc.signer === ref.signer) found.push(vc);
      else missing.push(ref.signer);
    }
    if (missing.length > 0) {
      const fresh = this.pendingNv?.msg !== msg;
      if (fresh) {
        this.pendingNv = { msg, from, askedAt: this.now };
        this.askForViewChanges(from, b.view, missing);
      }
      return;
    }
    if (found.some((vc) => vc.body.view !== b.view)) return this.reject('bad-new-view');
    const plan = planNewView(found.map((m) => m.body), this.nullDigest);
    if (!sameOrder(plan.order, b.order)) {
      this.pendingNv = undefined;
      return this.reject('bad-new-view');
    }
    this.pendingNv = undefined;
    this.nvCandidates.clear();
    this.enterView(stripAttachments(msg), found, plan, false);
  }

  private askForViewChanges(from: NodeId, view: number, signers: NodeId[]): void {
    const to = from !== this.id ? from : primaryOf(this.config, view);
    const body: FetchViewChangesBody = { type: 'fetch-vc', to, epoch: this.config.epoch, view, signers };
    this.requestSign(body, { kind: 'send', to: [to] });
  }

  private onFetchViewChanges(msg: PbftMessage<FetchViewChangesBody>): void {
    const b = msg.body;
    if (b.to !== this.id) return this.reject('not-for-me');
    if (!this.admit(msg, true)) return;
    const pool = [...this.vcs.values()].map((v) => v.msg);
    if (this.acceptedNv) pool.push(...this.acceptedNv.vcs);
    for (const signer of new Set(b.signers)) {
      const vc = pool.find((m) => m.signer === signer && m.body.view === b.view);
      // Forwarded as signed by its author: the requester's runtime checks that signature.
      if (vc) this.emit([msg.signer], vc);
    }
  }

  private sendNewViewTo(to: NodeId): void {
    const last = this.statusAnswered.get(to);
    if (!this.acceptedNv || (last !== undefined && this.now - last < this.timing.statusIntervalMs / 2)) return;
    this.markAnswered(to);
    this.emit([to], this.acceptedNv.msg);
  }

  /** Enters the new view: adopt its stable checkpoint, reset the log, and (as primary) re-propose the order. */
  private enterView(nv: Signed<NewViewBody>, vcs: Array<PbftMessage<ViewChangeBody>>, plan: NewViewPlan, asPrimary: boolean): void {
    const b = nv.body;
    this.viewNo = b.view;
    this.mode = 'normal';
    this.nvDeadline = null;
    this.acceptedNv = { msg: nv, vcs };
    this.myVc = undefined;
    for (const [signer, v] of [...this.vcs]) if (v.msg.body.view <= b.view) this.vcs.delete(signer);
    this.stats.viewChanges++;
    // Durable before anything of the new view leaves (the primary's new-view itself included).
    this.persist([
      [metaKey, this.metaRecord()],
      [newViewKey, nv],
    ], [viewChangeKey]);
    if (asPrimary) this.emit(this.otherReplicas(), nv);
    if (plan.minS > this.stable.seq) {
      const proof = plan.stable.proof;
      const configDigest = proof[0]?.body.configDigest;
      if (configDigest !== undefined) {
        this.onStableCert({ seq: plan.minS, stateDigest: plan.stable.stateDigest, configDigest, proofEpoch: this.config.epoch, proof });
      }
    }
    for (const slot of this.slots.values()) resetSlotForView(slot, b.view);
    this.viewOrder = new Map(b.order.map((e) => [e.seq, e.digest]));
    for (const entry of b.order) if (entry.seq > this.stable.seq && entry.seq <= this.stable.seq + this.params.logWindowSeqs) this.slot(entry.seq).expected = entry.digest;
    this.nextSeq = Math.max(plan.maxS, this.stable.seq, this.state.seq) + 1;
    this.inFlight.clear();
    this.timerStart = null;
    this.refreshTimer();
    if (!this.quiet) this.ui({ type: 'view-change-finished', epoch: this.config.epoch, view: b.view, primary: primaryOf(this.config, b.view) });
    this.updateClientConfig();
    if (asPrimary) {
      const batches = new Map<Digest, Batch>();
      for (const vc of vcs) for (const [d, batch] of batchesByDigest(this.digest, vc.batches)) batches.set(d, batch);
      for (const slot of this.slots.values()) if (slot.prepared) batches.set(slot.prepared.cert.pp.body.digest, slot.prepared.batch);
      batches.set(this.nullDigest, []);
      this.nvBacklog = [];
      for (const entry of b.order) {
        if (entry.seq <= this.stable.seq) continue;
        const batch = batches.get(entry.digest);
        if (!batch) throw new Error(`new view ${b.view}: no batch for ${entry.digest} at ${entry.seq} (view changes were checked to carry it)`);
        this.nvBacklog.push({ seq: entry.seq, batch });
      }
    }
    for (const entry of this.pending.values()) entry.forwardedAt = undefined;
    this.forwardWaiting();
    this.releasePending = true;
    this.tryPropose();
  }

  // ── catching up: status, proofs, state transfer ─────────────────────────────────────────

  private sendStatus(): void {
    const replicas = this.otherReplicas();
    // An observer also asks other nodes of the mesh: the replicas it knows may all be gone.
    const peers = this.amReplica() ? replicas : [...new Set([...replicas, ...this.knownPeers])];
    if (peers.length === 0) return;
    let ask = this.askHint && peers.includes(this.askHint) ? this.askHint : peers[this.askIndex++ % peers.length];
    this.askHint = undefined;
    if (ask === undefined) ask = peers[0] as NodeId;
    const body: StatusBody = {
      type: 'status',
      epoch: this.config.epoch,
      view: this.viewNo,
      stable: this.stable.seq,
      executed: this.state.seq,
      ask,
    };
    this.requestSign(body, { kind: 'send', to: this.amReplica() ? replicas : [ask] });
  }

  private onStatus(msg: PbftMessage<StatusBody>): void {
    const b = msg.body;
    const from = msg.signer;
    if (from === this.id) return;
    if (b.epoch > this.config.epoch || (b.epoch === this.config.epoch && (b.view > this.viewNo || b.executed > this.state.seq))) {
      this.askHint = from;
      this.behind();
    }
    if (!this.amReplica()) return;
    if (b.epoch === this.config.epoch && b.view < this.viewNo && this.mode === 'normal' && isReplica(this.config, from)) this.sendNewViewTo(from);
    if (b.ask !== this.id) return;
    const last = this.statusAnswered.get(from);
    if (last !== undefined && this.now - last < this.timing.statusIntervalMs / 2) return;
    this.markAnswered(from);
    if (b.epoch < this.config.epoch || b.executed < this.stable.seq) {
      this.sendState(from, b.epoch, b.executed < this.stable.seq);
      return;
    }
    if (b.epoch !== this.config.epoch) return;
    if (b.stable < this.stable.seq && b.executed >= this.stable.seq) this.sendState(from, b.epoch, false);
    let sent = 0;
    for (let seq = b.executed + 1; seq <= this.state.seq && sent < maxProofsPerStatus; seq++) {
      const cert = this.slots.get(seq)?.committed;
      if (!cert) break;
      const body: ProofBody = { type: 'proof', to: from, pp: cert.pp, commits: cert.commits };
      this.requestSign(body, { kind: 'send', to: [from], batch: cert.batch });
      sent++;
    }
  }

  private markAnswered(peer: NodeId): void {
    this.statusAnswered.delete(peer);
    this.statusAnswered.set(peer, this.now);
    if (this.statusAnswered.size > maxStatusPeers) this.statusAnswered.delete(this.statusAnswered.keys().next().value as NodeId);
  }

  private sendState(to: NodeId, theirEpoch: number, withState: boolean): void {
    if (this.stable.seq === 0) return; // the genesis state needs no transfer
    if (this.stable.proof.length === 0) return; // not provable by us: the asker will ask someone else
    const history = this.history.filter((r) => r.epoch > theirEpoch);
    const text = this.stable.text;
    const parts = withState ? Math.max(1, Math.ceil(text.length / maxStateChunkChars)) : 0;
    const base: Omit<StateBody, 'part'> = {
      type: 'state',
      to,
      epoch: this.stable.proofEpoch,
      seq: this.stable.seq,
      stateDigest: this.stable.stateDigest,
      configDigest: this.stable.configDigest,
      proof: this.stable.proof,
      history,
      parts,
    };
    if (parts === 0) {
      this.requestSign({ ...base, part: 0 }, { kind: 'send', to: [to] });
      return;
    }
    for (let part = 0; part < parts; part++) {
      const chunk = text.slice(part * maxStateChunkChars, (part + 1) * maxStateChunkChars);
      // The epoch records travel once, in part 0, to keep every frame small.
      this.requestSign({ ...base, part, history: part === 0 ? history : [] }, { kind: 'send', to: [to], chunk });
    }
  }

  /** The replica set of `epoch`, if this node knows it. */
  private configOf(epoch: number): ReplicaConfig | undefined {
    if (epoch === this.config.epoch) return this.config;
    if (epoch === 0) return this.genesis;
    const record = this.history.find((r) => r.epoch === epoch);
    return record ? makeConfig(record.epoch, record.replicas) : undefined;
  }

  private onProof(msg: PbftMessage<ProofBody>): void {
    const b = msg.body;
    if (b.to !== this.id) return this.reject('not-for-me');
    const seq = b.pp.body.seq;
    if (seq <= this.state.seq) return this.reject('stale');
    if (b.pp.body.epoch !== this.config.epoch) {
      if (b.pp.body.epoch > this.config.epoch) this.behind();
      return this.reject(b.pp.body.epoch > this.config.epoch ? 'future-epoch' : 'old-epoch');
    }
    if (seq > this.state.seq + maxHeldProofs || seq > this.highWatermark()) return this.reject('outside-watermarks');
    if (!msg.batch) return this.reject('malformed');
    const cert: CommitCert = { pp: b.pp, commits: b.commits, batch: msg.batch };
    if (checkCommitCert(cert, this.config, this.params, this.digest)) return this.reject('bad-certificate');
    const slot = this.amReplica() && this.inWindow(seq) ? this.slot(seq) : undefined;
    if (slot) {
      if (slot.committed) return this.reject('duplicate');
      slot.committed = cert;
      this.persistSlot(slot);
    } else {
      if (this.heldProofs.has(seq)) return this.reject('duplicate');
      this.heldProofs.set(seq, cert);
    }
    this.behind();
    this.executeReady();
  }

  private onState(msg: PbftMessage<StateBody>): void {
    const b = msg.body;
    if (b.to !== this.id) return this.reject('not-for-me');
    if (b.seq <= this.stable.seq) return this.reject('stale');
    // Which replicas signed the proof: known to us, or learnt from the epoch records it carries.
    const chain = followEpochRecords(this.config, b.history, this.digest);
    if (!chain.ok) return this.reject('bad-certificate');
    const sameTransfer = this.transfer && this.transfer.seq === b.seq && this.transfer.stateDigest === b.stateDigest;
    const learnt = chain.configs.size > 0 ? chain.configs : sameTransfer ? (this.transfer as Transfer).learnt : chain.configs;
    const proofConfig = this.configOf(b.epoch) ?? learnt.get(b.epoch)?.config;
    if (!proofConfig) return this.reject('unverifiable');
    if (checkCheckpointProof(b.proof, proofConfig, { seq: b.seq, stateDigest: b.stateDigest, configDigest: b.configDigest })) {
      return this.reject('bad-certificate');
    }
    const cert = { seq: b.seq, stateDigest: b.stateDigest, configDigest: b.configDigest, proofEpoch: b.epoch, proof: b.proof };
    if (this.state.seq >= b.seq) {
      if (b.epoch === this.config.epoch) this.onStableCert(cert);
      return;
    }
    if (b.parts === 0 || msg.chunk === undefined) {
      this.askHint = msg.signer;
      this.behind();
      return;
    }
    if (!this.transfer || this.transfer.seq !== b.seq || this.transfer.stateDigest !== b.stateDigest || this.transfer.total !== b.parts) {
      this.transfer = { ...cert, learnt, history: b.history, total: b.parts, parts: new Map() };
    }
    if (learnt.size > this.transfer.learnt.size) this.transfer.learnt = learnt;
    this.transfer.parts.set(b.part, msg.chunk);
    if (this.transfer.parts.size < this.transfer.total) return;
    const transfer = this.transfer;
    this.transfer = undefined;
    let text = '';
    for (let i = 0; i < transfer.total; i++) text += transfer.parts.get(i) ?? '';
    if (this.digest(text) !== transfer.stateDigest) return this.reject('wrong-digest');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.reject('malformed');
    }
    const snapshot = decodeSnapshot(raw);
    if (!snapshot.ok || snapshot.value.seq !== transfer.seq) return this.reject('malformed');
    if (this.digest(configText(snapshot.value.epoch, snapshot.value.replicas)) !== transfer.configDigest) return this.reject('wrong-digest');
    this.installState(snapshot.value, text, transfer, transfer.learnt);
  }

  private installState(
    snapshot: Parameters<typeof ReplicatedState.fromSnapshot>[0],
    text: string,
    transfer: Transfer,
    learnt: Map<number, { config: ReplicaConfig; startSeq: number; record: EpochRecord }>,
  ): void {
    this.state = ReplicatedState.fromSnapshot(snapshot, this.params);
    this.checkpointsMade.clear();
    this.checkpointsMade.set(transfer.seq, { text, digest: transfer.stateDigest, configDigest: transfer.configDigest });
    this.heldProofs.clear();
    this.boundaryExecuted = undefined;
    for (const [, { record }] of [...learnt].sort(([a], [b]) => a - b)) {
      if (!this.history.some((r) => r.epoch === record.epoch)) this.history.push(record);
    }
    if (this.history.length > maxEpochHistory) this.history.splice(0, this.history.length - maxEpochHistory);
    this.stats.stateTransfers++;
    const stable: StableState = { ...transfer, text };
    if (snapshot.epoch !== this.config.epoch) {
      // The state lies in a later epoch: take its replica set. If the checkpoint is the
      // boundary itself, the epoch starts here; otherwise its record says where.
      const record =
        snapshot.epoch === transfer.proofEpoch + 1
          ? { epoch: snapshot.epoch, startSeq: transfer.seq, replicas: [...snapshot.replicas], proof: transfer.proof }
          : learnt.get(snapshot.epoch)?.record;
      if (record && !this.history.some((r) => r.epoch === record.epoch)) this.history.push(record);
      this.switchConfig(makeConfig(snapshot.epoch, snapshot.replicas), record?.startSeq ?? transfer.seq);
    }
    this.adoptStable(stable);
    if (!this.quiet) this.ui({ type: 'state-transferred', seq: transfer.seq, epoch: this.config.epoch });
    for (const [key, p] of this.pending) if (this.state.isExecuted(p.req.body.client, p.req.body.ts)) this.pending.delete(key);
    this.refreshTimer();
    this.executeReady();
  }

  // ── time ────────────────────────────────────────────────────────────────────────────────

  private onTick(): void {
    const now = this.now;
    if (this.amReplica()) {
      if (this.mode === 'normal' && this.timerStart !== null && now >= this.timerStart + this.timeoutMs()) {
        this.startViewChange(this.viewNo + 1, `no progress on waiting requests for ${this.timeoutMs()} ms`);
      } else if (this.mode === 'view-change' && this.nvDeadline !== null && now >= this.nvDeadline) {
        const why = this.nvFromQuorum ? `no new-view for view ${this.viewNo} in time` : `fewer than ${this.config.q} replicas joined the change to view ${this.viewNo}`;
        this.startViewChange(this.viewNo + 1, why);
      }
    }
    if (now >= this.nextRetransmitAt) {
      this.nextRetransmitAt = now + this.timing.retransmitIntervalMs;
      this.retransmit();
    }
    if (now >= this.nextStatusAt) {
      const behind = now < this.behindUntil || this.mode === 'view-change' || this.pending.size > 0 || !this.amReplica();
      this.nextStatusAt = now + (behind ? this.timing.statusIntervalMs : this.timing.idleStatusIntervalMs);
      this.sendStatus();
    }
    if (this.mode === 'view-change' && now - this.viewChangeStartedAt >= 2 * this.timeoutMs()) this.reportStall();
    this.clientStep({ type: 'tick' });
    for (const o of this.byz.tick(now, this.otherReplicas())) this.emitOutgoing(o);
  }

  /** Sends our own messages again for what has not completed: the network may have lost them. */
  private retransmit(): void {
    if (!this.amReplica()) return;
    const others = this.otherReplicas();
    if (this.mode === 'view-change') {
      if (this.myVc) this.emit(others, this.myVc);
      if (this.pendingNv && this.now - this.pendingNv.askedAt >= this.timing.retransmitIntervalMs) {
        const missing = this.pendingNv.msg.body.viewChanges
          .filter((r) => this.vcs.get(r.signer)?.digest !== r.digest && !this.nvCandidates.has(r.digest))
          .map((r) => r.signer);
        this.pendingNv.askedAt = this.now;
        if (missing.length > 0) this.askForViewChanges(this.pendingNv.from, this.pendingNv.msg.body.view, missing);
      }
      return;
    }
    for (const slot of this.slots.values()) {
      if (slot.committed || slot.seq <= this.stable.seq || this.now - slot.lastSentAt < this.timing.retransmitIntervalMs) continue;
      slot.lastSentAt = this.now;
      if (slot.pp && slot.pp.signer === this.id && slot.batch) this.emit(others, { ...slot.pp, batch: slot.batch });
      const prepare = slot.prepares.get(this.id);
      if (prepare) this.emit(others, prepare);
      const commit = slot.commits.get(this.id);
      if (commit) this.emit(others, commit);
    }
    this.forwardWaiting();
    // The newest own checkpoint that is not stable yet (others may have missed it).
    const unstable = [...this.checkpointsMade.keys()].filter((s) => s > this.stable.seq).sort((a, b) => b - a)[0];
    if (unstable !== undefined) {
      const made = this.checkpointsMade.get(unstable);
      if (made) {
        const stateDigest = this.byz.mode === 'wrong-digest' ? wrongDigest(made.digest) : made.digest;
        const body: CheckpointBody = { type: 'checkpoint', epoch: this.config.epoch, seq: unstable, stateDigest, configDigest: made.configDigest };
        const to = [...new Set([...this.config.replicas, ...this.state.replicas])];
        this.requestSign(body, { kind: 'send', to });
      }
    }
  }

  // ── reporting ───────────────────────────────────────────────────────────────────────────

  private stallReason(): string | null {
    if (this.diverged) return this.diverged;
    const { f, q, n } = this.config;
    const halted = `more than f = ${f} of ${n} replicas may be faulty or cut off (nothing unagreed is committed, but nothing new will be until enough of them are back)`;
    const have = [...this.vcs.values()].filter((v) => v.msg.body.view === this.viewNo).length;
    const where = this.mode === 'view-change' ? `changing to view ${this.viewNo} with ${have} of the ${q} view-change messages needed` : `in view ${this.viewNo}`;
    if (this.backoff >= stalledAfterViewChanges) return `${this.backoff} view changes in a row brought no progress (now ${where}); ${halted}`;
    if (this.mode === 'view-change') {
      if (this.now - this.viewChangeStartedAt < this.timeoutMs()) return null;
      return have < q ? `${where}; ${halted}` : `${where}: waiting for the new primary ${primaryOf(this.config, this.viewNo)} to send new-view`;
    }
    if (this.timerStart !== null && this.now - this.timerStart > this.timeoutMs()) {
      return `${this.pending.size} request(s) waiting for ${this.now - this.timerStart} ms without being ordered`;
    }
    return null;
  }

  /** Tells the UI once per episode that this node stopped making progress, and why. */
  private reportStall(): void {
    if (this.stalledReported || this.quiet) return;
    const reason = this.stallReason();
    if (reason === null) return;
    this.stalledReported = true;
    this.ui({ type: 'stalled', reason });
  }

  // ── restart from storage ────────────────────────────────────────────────────────────────

  private restore(entries: Iterable<readonly [string, unknown]>): void {
    const all = new Map<string, unknown>();
    for (const [key, value] of entries) all.set(key, value);
    this.quiet = true;
    try {
      this.restoreStable(all.get(stableKey));
      const meta = all.has(metaKey) ? decodeMeta(all.get(metaKey)) : undefined;
      if (meta && !meta.ok) this.reject('bad-persisted');
      if (meta?.ok && meta.value.epoch === this.config.epoch) {
        this.viewNo = meta.value.view;
        this.mode = meta.value.mode;
        this.backoff = meta.value.backoff;
      }
      const clientTs = meta?.ok ? meta.value.clientTs : 0;
      if (clientTs > 0) {
        this.client = new PbftClient(this.id, { retransmitMs: this.timing.clientRetransmitMs, timeoutMs: this.timing.clientTimeoutMs, lastTs: clientTs });
      }
      const slotKeys = [...all.keys()].filter(isSlotKey).sort();
      for (const key of slotKeys) {
        const rec = decodeSlot(all.get(key));
        if (!rec.ok) {
          this.reject('bad-persisted');
          continue;
        }
        this.restoreSlot(rec.value);
      }
      if (this.mode === 'view-change' && all.has(viewChangeKey)) {
        const vc = decodeViewChangeRecord(all.get(viewChangeKey));
        if (vc.ok && vc.value.body.epoch === this.config.epoch && vc.value.body.view === this.viewNo) {
          this.myVc = vc.value;
          this.vcs.set(this.id, { msg: vc.value, digest: this.digest(canonicalBytes(vc.value.body)) });
        }
      }
      if (this.mode === 'normal' && all.has(newViewKey)) {
        const nv = decodeNewViewRecord(all.get(newViewKey));
        if (nv.ok && nv.value.body.epoch === this.config.epoch && nv.value.body.view === this.viewNo) {
          this.acceptedNv = { msg: nv.value, vcs: [] };
          this.viewOrder = new Map(nv.value.body.order.map((e) => [e.seq, e.digest]));
          for (const e of nv.value.body.order) {
            const slot = this.slots.get(e.seq);
            if (slot && slot.view === this.viewNo && !slot.pp) slot.expected = e.digest;
            this.nextSeq = Math.max(this.nextSeq, e.seq + 1);
          }
        }
      }
      this.executeReady();
    } finally {
      this.quiet = false;
    }
  }

  private restoreStable(raw: unknown): void {
    if (raw === undefined) return;
    const rec = decodeStable(raw);
    if (!rec.ok) return this.reject('bad-persisted');
    const s = rec.value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(s.text);
    } catch {
      return this.reject('bad-persisted');
    }
    const snapshot = decodeSnapshot(parsed);
    if (!snapshot.ok || snapshot.value.seq !== s.seq || this.digest(s.text) !== s.stateDigest) return this.reject('bad-persisted');
    this.state = ReplicatedState.fromSnapshot(snapshot.value, this.params);
    this.config = makeConfig(snapshot.value.epoch, snapshot.value.replicas);
    this.epochStartSeq = s.epochStartSeq;
    this.history = s.history;
    this.stable = { seq: s.seq, stateDigest: s.stateDigest, configDigest: s.configDigest, proofEpoch: s.proofEpoch, proof: s.proof, text: s.text };
    this.checkpointsMade.set(s.seq, { text: s.text, digest: s.stateDigest, configDigest: s.configDigest });
    this.nextSeq = s.seq + 1;
  }

  private restoreSlot(rec: SlotRecord): void {
    if (rec.seq <= this.stable.seq) return;
    const slot = newSlot(rec.seq, rec.view, 0);
    if (rec.view === this.viewNo && rec.pp && rec.batch) {
      slot.pp = rec.pp;
      slot.batch = rec.batch;
      slot.votedPrepare = rec.pp.signer === this.id ? rec.pp.body.digest : undefined;
      for (const r of rec.batch) this.inFlight.set(reqKey(r.body.client, r.body.ts), rec.seq);
    }
    if (rec.view === this.viewNo && rec.ownPrepare) {
      slot.prepares.set(this.id, rec.ownPrepare);
      slot.votedPrepare = rec.ownPrepare.body.digest;
    }
    if (rec.view === this.viewNo && rec.ownCommit) {
      slot.commits.set(this.id, rec.ownCommit);
      slot.votedCommit = rec.ownCommit.body.digest;
    }
    if (rec.view !== this.viewNo) slot.view = this.viewNo;
    if (rec.prepared) slot.prepared = rec.prepared;
    if (rec.committed) slot.committed = rec.committed;
    if (rec.pp?.signer === this.id) this.nextSeq = Math.max(this.nextSeq, rec.seq + 1);
    this.slots.set(rec.seq, slot);
  }
}
