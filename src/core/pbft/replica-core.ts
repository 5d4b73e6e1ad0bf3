// The shared part of PbftReplica (replica.ts explains the whole and how a runtime drives it):
// its state, the constructor, signing and sending, the embedded client, admitting messages, and
// the normal case — requests, pre-prepare, prepare, commit, execution, checkpoints, epochs.
// View change (view-change.ts) and catching up (state-transfer.ts) extend it; PbftReplica
// (replica.ts) adds the runtime's entry points, timers and restart. The parts are layers of one
// class, split by job; their members are protected so each layer reaches the state it needs.
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { ByzantineOutbox, wrongDigest, type ByzantineMode, type Outgoing } from './byzantine.ts';
import { batchDigest, checkBatch, type DigestFn, type NewViewPlan } from './certificates.ts';
import { CheckpointVotes } from './checkpoints.ts';
import { PbftClient, type ClientEffect } from './client.ts';
import {
  defaultPbftParams,
  defaultPbftTiming,
  maxEpochHistory,
  maxFutureMessages,
  maxPendingRequests,
  maxPendingSignatures,
  maxViewsAhead,
  type PbftParams,
  type PbftTiming,
} from './constants.ts';
import { checkPbftParams } from './size-bounds.ts';
import { canonicalUtf8Length } from './utf8.ts';
import { isCommittedNow, isPreparedNow, matchingCommits, matchingPrepares, newSlot, type CommitCert, type Slot } from './log.ts';
import type {
  Batch,
  CheckpointBody,
  CommitBody,
  Digest,
  EpochRecord,
  EpochsBody,
  FetchViewChangesBody,
  NewViewBody,
  PbftBody,
  PbftMessage,
  PrepareBody,
  PrePrepareBody,
  ProofBody,
  ReplyBody,
  RequestBody,
  Signed,
  SignedRequest,
  StateBody,
  StatusBody,
  SuspectBody,
  ViewChangeBody,
} from './messages.ts';
import { canonicalBytes } from './json.ts';
import { Counters, LatencyRing } from './metrics.ts';
import { GroupProgress } from './progress.ts';
import { epochKey, metaKey, newViewKey, slotKey, stableKey, viewChangeKey, type MetaRecord, type SlotRecord, type StableRecord } from './persistence.ts';
import { isReplica, makeConfig, primaryOf, type ReplicaConfig } from './quorum.ts';
import { ReplicatedState } from './state-machine.ts';
import type { PbftEffect, PbftOptions, PbftPhase, PbftUiEvent } from './types.ts';

export type Purpose =
  | { kind: 'pre-prepare'; batch: Batch; to: NodeId[]; store: boolean }
  | { kind: 'prepare' }
  | { kind: 'commit' }
  | { kind: 'checkpoint'; to: NodeId[] }
  | { kind: 'suspect'; reason: string }
  | { kind: 'view-change'; batches: Batch[] }
  | { kind: 'new-view'; vcs: Array<PbftMessage<ViewChangeBody>>; plan: NewViewPlan }
  | { kind: 'send'; to: NodeId[]; batch?: Batch; chunk?: string };

export type PendingSign =
  | { body: PbftBody; signer: NodeId; purpose: Purpose }
  /** The embedded client's request: the client holds its body, so only its own id comes back to it. */
  | { clientSignId: number };

export interface StableState {
  seq: number;
  stateDigest: Digest;
  configDigest: Digest;
  proofEpoch: number;
  proof: Signed<CheckpointBody>[];
  text: string;
}

export interface Transfer {
  seq: number;
  stateDigest: Digest;
  configDigest: Digest;
  proofEpoch: number;
  proof: Signed<CheckpointBody>[];
  total: number;
  parts: Map<number, string>;
}

/** Consecutive fruitless view changes after which the node reports itself stalled. */
export const stalledAfterViewChanges = 3;
/** Doubling stops here (2^12 × the base is far beyond the ceiling anyway). */
export const maxBackoff = 12;

export const reqKey = (client: NodeId, ts: number): string => `${client}\u0000${ts}`;
export const stripAttachments = <B extends PbftBody>(m: Signed<B>): Signed<B> => ({ body: m.body, signer: m.signer, sig: m.sig });

export abstract class ReplicaCore {
  readonly id: NodeId;
  protected params: PbftParams;
  protected readonly timing: PbftTiming;
  protected readonly digest: DigestFn;
  protected readonly genesis: ReplicaConfig;
  protected readonly nullDigest: Digest;
  protected readonly phaseEvents: boolean;
  protected readonly byz: ByzantineOutbox;

  // epoch and view
  protected config: ReplicaConfig;
  protected epochStartSeq = 0;
  protected history: EpochRecord[] = [];
  protected viewNo = 0;
  protected mode: 'normal' | 'view-change' = 'normal';
  protected backoff = 0;

  // state and log
  protected state: ReplicatedState;
  protected stable: StableState;
  protected readonly checkpointsMade = new Map<number, { text: string; digest: Digest; configDigest: Digest }>();
  protected readonly votes = new CheckpointVotes();
  protected readonly slots = new Map<number, Slot>();
  protected nextSeq = 1;
  protected boundaryExecuted: number | undefined;

  // requests
  protected readonly pending = new Map<string, { req: SignedRequest; since: Millis; forwardedAt?: Millis }>();
  protected readonly inFlight = new Map<string, number>();
  protected timerStart: Millis | null = null;
  protected nvDeadline: Millis | null = null;
  /** Whether nvDeadline is the paper's timer (q view changes seen) or the fallback one. */
  protected nvFromQuorum = false;

  // view change
  protected myVc: PbftMessage<ViewChangeBody> | undefined;
  protected readonly vcs = new Map<NodeId, { msg: PbftMessage<ViewChangeBody>; digest: Digest }>();
  protected acceptedNv: { msg: PbftMessage<NewViewBody>; vcs: Array<PbftMessage<ViewChangeBody>> } | undefined;
  protected pendingNv: { msg: PbftMessage<NewViewBody>; from: NodeId; askedAt: Millis } | undefined;
  protected readonly nvCandidates = new Map<Digest, PbftMessage<ViewChangeBody>>();
  protected sentNvForView = -1;
  /** What the accepted new-view assigned to each number of (min-s, max-s] in the current view. */
  protected viewOrder = new Map<number, Digest>();
  /** New-view order entries the new primary could not pre-prepare yet (beyond its window while it caught up). */
  protected nvBacklog: Array<{ seq: number; batch: Batch }> = [];
  protected viewChangeStartedAt: Millis = 0;
  protected stalledReported = false;

  // suspicion: a replica leaves its view only once f+1 want a later one (view-change.ts)
  /** Each replica's latest suspect message for a view after ours, and when it last arrived. */
  protected readonly suspects = new Map<NodeId, { msg: PbftMessage<SuspectBody>; at: Millis; reason?: string }>();
  /** This replica's own standing suspicion: sent again with every retransmission while it lasts. */
  protected mySuspect: PbftMessage<SuspectBody> | undefined;
  /** The f+1 messages (suspects, view changes) that took this replica into its view change: relayed so every honest replica follows. */
  protected viewEvidence: PbftMessage[] = [];
  protected evidenceRelayedAt: Millis = 0;

  // catching up
  protected future: PbftMessage[] = [];
  protected readonly heldProofs = new Map<number, CommitCert>();
  protected transfer: Transfer | undefined;
  protected nextStatusAt: Millis = 0;
  protected nextRetransmitAt: Millis = 0;
  protected behindUntil: Millis = 0;
  protected askHint: NodeId | undefined;
  protected askIndex = 0;
  protected readonly statusAnswered = new Map<NodeId, Millis>();
  /** When each peer last got our status because it was behind us (echoStatus). */
  protected readonly statusEchoed = new Map<NodeId, Millis>();
  protected knownPeers: NodeId[] = [];

  // signing, client, output
  protected nextSignId = 1;
  protected readonly pendingSigns = new Map<number, PendingSign>();
  protected client: PbftClient;
  protected out: PbftEffect[] = [];
  /** Effects produced while restoring (e.g. checkpoint votes to sign), handed out by start(). */
  protected startEffects: PbftEffect[] = [];
  /** Held messages are replayed at the end of the step, after the persists that precede them. */
  protected releasePending = false;
  protected now: Millis = 0;
  protected quiet = false;

  // metrics
  protected readonly rejected = new Counters();
  protected readonly latency = new LatencyRing();
  protected diverged: string | null = null;
  /** Messages kept for a later view or epoch (not refusals: they are used once we get there). */
  protected readonly heldCount = { view: 0, epoch: 0 };
  protected readonly stats = {
    executedRequests: 0,
    executedBatches: 0,
    viewChangesStarted: 0,
    /** Request timeouts that did not start a view change because the group was ahead of this node. */
    viewChangesDeferred: 0,
    suspicions: 0,
    viewChanges: 0,
    stateTransfers: 0,
    stableCheckpoints: 0,
  };
  protected readonly progress = new GroupProgress();
  /** When start() ran: a (re)started replica first learns where the group is (replica.ts justStarted). */
  protected startedAt: Millis = 0;

  constructor(options: PbftOptions) {
    this.id = options.id;
    this.params = { ...defaultPbftParams, ...options.params };
    const problem = checkPbftParams(this.params);
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
      maxRequestBytes: this.params.maxBatchBytes,
    });
    if (options.persisted) {
      this.out = [];
      this.restore(options.persisted);
      this.startEffects = this.out;
      this.out = [];
    }
  }

  // ── implemented by the layers above (view-change.ts, state-transfer.ts, replica.ts) ───────

  protected abstract restore(entries: Iterable<readonly [string, unknown]>): void;
  protected abstract ownSuspectSigned(signed: Signed<SuspectBody>, reason: string): void;
  protected abstract onSuspect(msg: PbftMessage<SuspectBody>): void;
  protected abstract ownViewChangeSigned(signed: Signed<ViewChangeBody>, batches: Batch[]): void;
  protected abstract ownNewViewSigned(signed: Signed<NewViewBody>, vcs: Array<PbftMessage<ViewChangeBody>>, plan: NewViewPlan): void;
  protected abstract onViewChange(msg: PbftMessage<ViewChangeBody>): void;
  protected abstract onNewView(msg: PbftMessage<NewViewBody>, from: NodeId): void;
  protected abstract onFetchViewChanges(msg: PbftMessage<FetchViewChangesBody>): void;
  protected abstract onStatus(msg: PbftMessage<StatusBody>): void;
  protected abstract onProof(msg: PbftMessage<ProofBody>): void;
  protected abstract onState(msg: PbftMessage<StateBody>): void;
  protected abstract onEpochs(msg: PbftMessage<EpochsBody>): void;
  protected abstract markAnswered(peer: NodeId): void;
  protected abstract reportStall(): void;

  // ── small helpers ───────────────────────────────────────────────────────────────────────

  protected begin(now: Millis): void {
    this.now = now;
    this.out = [];
  }

  protected end(): PbftEffect[] {
    while (this.releasePending) {
      this.releasePending = false;
      this.releaseHeld();
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /**
   * Whether this node acts as a replica now. Not while it holds a (verified) epoch record newer
   * than its own epoch: that epoch has ended, and a node in it is behind — typically one whose
   * stored consensus state was lost or set aside, which would otherwise take up an old replica
   * set (the founder alone, at worst) and commit without the room. It catches up as an observer.
   */
  protected amReplica(): boolean {
    return isReplica(this.config, this.id) && (this.history[this.history.length - 1]?.epoch ?? 0) <= this.config.epoch;
  }

  protected isPrimary(): boolean {
    return primaryOf(this.config, this.viewNo) === this.id;
  }

  protected otherReplicas(): NodeId[] {
    return this.config.replicas.filter((r) => r !== this.id);
  }

  /**
   * The view-change timeout: T for the request timer and the first view change, doubling with
   * every further view change that brings no execution (the paper's 2T, 4T, …).
   */
  protected timeoutMs(): Millis {
    return Math.min(this.timing.maxViewChangeTimeoutMs, this.timing.viewChangeTimeoutMs * 2 ** Math.max(0, this.backoff - 1));
  }

  protected reject(reason: string): void {
    this.rejected.add(reason);
  }

  protected ui(event: PbftUiEvent): void {
    this.out.push({ type: 'ui', event });
  }

  protected phase(seq: number, replica: NodeId, phase: PbftPhase): void {
    if (this.phaseEvents && !this.quiet) this.ui({ type: 'phase', seq, view: this.viewNo, replica, phase });
  }

  /** The highest sequence number this replica may work on now. */
  protected highWatermark(): number {
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

  protected inWindow(seq: number): boolean {
    return seq > this.stable.seq && seq <= this.highWatermark();
  }

  protected slot(seq: number): Slot {
    let slot = this.slots.get(seq);
    if (!slot) {
      // Every caller checks the window first; a slot outside it would be unbounded memory.
      if (!this.inWindow(seq)) throw new Error(`pBFT invariant: slot ${seq} outside the window (${this.stable.seq}, ${this.highWatermark()}]`);
      slot = newSlot(seq, this.viewNo, this.now);
      this.slots.set(seq, slot);
    }
    return slot;
  }

  protected waiting(): boolean {
    if (this.pending.size > 0) return true;
    const end = this.state.epochEnd();
    return end !== undefined && this.state.seq < end;
  }

  protected refreshTimer(): void {
    if (this.mode !== 'normal') return;
    if (!this.waiting()) {
      this.timerStart = null;
      this.withdrawSuspicion(); // nothing waits any more: nothing to suspect the primary of
    } else if (this.timerStart === null) this.timerStart = this.now;
  }

  /** This replica no longer suspects the primary of its view (it saw progress, or has nothing waiting). */
  protected withdrawSuspicion(): void {
    if (!this.mySuspect) return;
    this.mySuspect = undefined;
    this.suspects.delete(this.id);
  }

  protected behind(): void {
    this.behindUntil = this.now + this.timing.idleStatusIntervalMs;
    this.nextStatusAt = Math.min(this.nextStatusAt, this.now + Math.floor(this.timing.statusIntervalMs / 4));
  }

  // ── signing and sending ─────────────────────────────────────────────────────────────────

  protected requestSign(body: PbftBody, purpose: Purpose, signer: NodeId = this.id): void {
    this.askSignature(canonicalBytes(body), signer, { body, signer, purpose });
    if (this.byz.mode === 'forge' && signer === this.id) this.forge(body);
  }

  /** Emits a `sign` for `text` under a fresh id, remembering what its signature is for. */
  protected askSignature(text: string, signer: NodeId, pending: PendingSign): void {
    const id = this.nextSignId++;
    this.pendingSigns.set(id, pending);
    if (this.pendingSigns.size > maxPendingSignatures) {
      const oldest = this.pendingSigns.keys().next().value as number;
      this.pendingSigns.delete(oldest);
    }
    this.out.push({ type: 'sign', id, text, signer });
  }

  /** 'forge': the same vote, for a digest nobody proposed, in the name of other replicas. */
  protected forge(body: PbftBody): void {
    if (body.type !== 'prepare' && body.type !== 'commit' && body.type !== 'checkpoint') return;
    const victims = this.otherReplicas().slice(0, 2);
    for (const victim of victims) {
      const forged: PbftBody =
        body.type === 'checkpoint' ? { ...body, stateDigest: wrongDigest(body.stateDigest) } : { ...body, digest: wrongDigest(body.digest) };
      this.askSignature(canonicalBytes(forged), victim, { body: forged, signer: victim, purpose: { kind: 'send', to: this.otherReplicas() } });
    }
  }

  protected emit(to: readonly NodeId[], msg: PbftMessage): void {
    const targets = to.filter((t) => t !== this.id);
    if (targets.length === 0) return;
    for (const o of this.byz.send(this.now, { to: targets, msg })) this.emitOutgoing(o);
  }

  protected emitOutgoing(o: Outgoing): void {
    // This node's own client request depends on no write (its number comes from the clock,
    // client.ts), so it may leave at once: waiting would make each proposal wait for the previous
    // one's commit record (docs/benchmarks.md, "Consensus latency, where the time goes").
    if (o.msg.body.type === 'request' && o.msg.signer === this.id) for (const to of o.to) this.out.push({ type: 'send', to, msg: o.msg, unordered: true });
    else if (o.to.length === 1) this.out.push({ type: 'send', to: o.to[0] as NodeId, msg: o.msg });
    else this.out.push({ type: 'broadcast', to: o.to, msg: o.msg });
  }

  protected persist(writes: Array<[string, unknown]>, deletes: string[] = []): void {
    if (writes.length === 0 && deletes.length === 0) return;
    this.out.push({ type: 'persist', writes, deletes });
  }

  protected slotRecord(slot: Slot): SlotRecord {
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

  protected persistSlot(slot: Slot): void {
    this.persist([[slotKey(slot.seq), this.slotRecord(slot)]]);
  }

  protected metaRecord(): MetaRecord {
    return {
      v: 1,
      epoch: this.config.epoch,
      view: this.viewNo,
      mode: this.mode,
      backoff: this.backoff,
      clientTs: this.client.lastRequestNumber,
    };
  }

  protected stableRecord(): StableRecord {
    return {
      v: 1,
      seq: this.stable.seq,
      stateDigest: this.stable.stateDigest,
      configDigest: this.stable.configDigest,
      proofEpoch: this.stable.proofEpoch,
      proof: this.stable.proof,
      text: this.stable.text,
      epochStartSeq: this.epochStartSeq,
    };
  }

  protected onSigned(id: number, sig: string): void {
    const pending = this.pendingSigns.get(id);
    if (!pending) {
      this.reject('unknown-signature-id');
      return;
    }
    this.pendingSigns.delete(id);
    if ('clientSignId' in pending) return this.clientStep({ type: 'signed', id: pending.clientSignId, sig });
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
      case 'suspect':
        return this.ownSuspectSigned(signed as Signed<SuspectBody>, p.reason);
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
    }
  }

  // ── the embedded client ─────────────────────────────────────────────────────────────────

  protected clientStep(input: Parameters<PbftClient['step']>[1]): void {
    for (const e of this.client.step(this.now, input)) this.clientEffect(e);
  }

  /**
   * The client's signature requests get an id of this core's (the driver answers this core, which
   * hands the signature back under the client's id); its request goes through this core's own
   * sending (the byzantine modes, the unordered rule of emitOutgoing), and to this replica
   * directly when it is one of the targets; its results are this core's `client-result` events.
   */
  protected clientEffect(e: ClientEffect): void {
    switch (e.type) {
      case 'sign':
        this.askSignature(e.text, e.signer, { clientSignId: e.id });
        return;
      case 'broadcast':
        if (e.to.includes(this.id)) this.onRequest(e.msg);
        this.emit(e.to, e.msg);
        return;
      case 'client-result':
        this.out.push(e);
        return;
    }
  }

  protected updateClientConfig(): void {
    this.clientStep({ type: 'config', epoch: this.config.epoch, replicas: this.config.replicas, primary: primaryOf(this.config, this.viewNo) });
  }

  protected setByzantine(mode: ByzantineMode | null): void {
    for (const o of this.byz.set(mode, this.now)) this.emitOutgoing(o);
    this.ui({ type: 'byzantine', mode });
  }

  // ── incoming messages ───────────────────────────────────────────────────────────────────

  protected onMessage(msg: PbftMessage, from: NodeId): void {
    this.byz.observe(msg);
    switch (msg.body.type) {
      case 'request':
        return this.onRequest(msg as PbftMessage<RequestBody>);
      case 'reply':
        // Unsigned: only its author may hand it over (a link, or a route its author signed).
        if (from !== msg.signer) return this.reject('relayed-unsigned');
        return this.onReply(msg as PbftMessage<ReplyBody>);
      case 'pre-prepare':
        return this.onPrePrepare(msg as PbftMessage<PrePrepareBody>);
      case 'prepare':
      case 'commit':
        return this.onVote(msg as PbftMessage<PrepareBody> | PbftMessage<CommitBody>);
      case 'checkpoint':
        return this.onCheckpoint(msg as PbftMessage<CheckpointBody>);
      case 'suspect':
        return this.onSuspect(msg as PbftMessage<SuspectBody>);
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
      case 'epochs':
        return this.onEpochs(msg as PbftMessage<EpochsBody>);
      case 'fetch-vc':
        return this.onFetchViewChanges(msg as PbftMessage<FetchViewChangesBody>);
    }
  }

  /**
   * The checks every message of the replica protocol passes first: right epoch, sent by a
   * replica, and received by one. Messages for the next epoch wait until we get there.
   */
  protected admit(msg: PbftMessage & { body: { epoch: number } }, needReplicaHere: boolean): boolean {
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
  protected hold(msg: PbftMessage, reason: string): void {
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
  protected releaseHeld(): void {
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

  protected onRequest(msg: PbftMessage<RequestBody>): void {
    const { client, ts } = msg.body;
    if (msg.signer !== client) return this.reject('forged-request');
    if (!this.amReplica()) return this.reject('not-for-me');
    // A request no batch can hold would block the primary's queue (takeBatch goes in order).
    if (canonicalUtf8Length(stripAttachments(msg)) + 2 > this.params.maxBatchBytes) return this.reject('oversized-request');
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
  protected forwardWaiting(only?: string): void {
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

  protected onReply(msg: PbftMessage<ReplyBody>): void {
    if (msg.body.to !== this.id) return this.reject('not-for-me');
    this.clientStep({ type: 'reply', msg });
  }

  protected sendReply(client: NodeId, ts: number, seq: number, result: ReplyBody['result'], more?: ReplyBody['more']): void {
    if (this.quiet || !this.amReplica()) return;
    const body: ReplyBody = { type: 'reply', to: client, epoch: this.config.epoch, view: this.viewNo, ts, seq, result };
    if (more && more.length > 0) body.more = more;
    const reply = { body, signer: this.id, sig: '' };
    // Our own client trusts its own replica (and, as a replica, alone: client.ts). Another client
    // gets the reply unsigned: it is authenticated by the link it arrives on (messages.ts,
    // linkAuthenticatedTypes) and is never part of a certificate that travels.
    if (client === this.id) this.clientStep({ type: 'reply', msg: reply, own: true });
    else this.emit([client], reply);
  }

  // ── normal case: primary ────────────────────────────────────────────────────────────────

  protected tryPropose(): void {
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

  protected takeBatch(): Batch {
    const batch: Batch = [];
    let bytes = 2;
    for (const [key, p] of this.pending) {
      if (this.inFlight.has(key)) continue;
      if (this.state.isExecuted(p.req.body.client, p.req.body.ts)) {
        this.pending.delete(key);
        continue;
      }
      const size = canonicalUtf8Length(p.req) + 1;
      if (batch.length >= this.params.maxBatchRequests || bytes + size > this.params.maxBatchBytes) break;
      batch.push(p.req);
      bytes += size;
    }
    return batch;
  }

  /** Orders `batch` at `seq` in the current view (also used for the new-view order). */
  protected propose(seq: number, batch: Batch): void {
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

  protected ownPrePrepareSigned(signed: Signed<PrePrepareBody>, batch: Batch, to: NodeId[], store: boolean): void {
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

  protected onPrePrepare(msg: PbftMessage<PrePrepareBody>): void {
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

  protected onVote(msg: PbftMessage<PrepareBody> | PbftMessage<CommitBody>): void {
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

  protected ownVoteSigned(signed: Signed<PrepareBody> | Signed<CommitBody>): void {
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

  protected checkPrepared(slot: Slot): void {
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

  protected checkCommitted(slot: Slot): void {
    if (slot.committed || !slot.pp || !slot.batch) return;
    if (!isCommittedNow(slot, this.config)) return;
    slot.committed = { pp: slot.pp, commits: matchingCommits(slot, this.config).slice(0, this.config.q), batch: slot.batch };
    this.phase(slot.seq, this.id, 'committed');
    // Executed (and its results out) before the certificate is written: what a result waits for
    // is this replica's own commit vote, written before it left, not this record, which only
    // spares a restarted replica fetching the certificate again. A commit certificate at an
    // honest replica is final whether or not it is on this disk (q replicas voted, each wrote its
    // vote first). A record written after a checkpoint dropped the slot is ignored on restart.
    this.executeReady();
    if (this.slots.get(slot.seq) === slot) this.persistSlot(slot);
  }

  // ── execution and checkpoints ───────────────────────────────────────────────────────────

  protected executeReady(): void {
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
      this.withdrawSuspicion();
      this.refreshTimer();
    }
    this.tryPropose();
  }

  protected execute(seq: number, cert: CommitCert): void {
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
      if (r.reply)
        this.sendReply(
          r.client,
          r.ts,
          seq,
          r.result,
          r.more.map((m) => m.result),
        );
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
      this.out.push({ type: 'committed', seq, digest, entries });
      this.ui({ type: 'executed', seq, digest, requests: entries.length });
    }
    if (seq % this.params.checkpointIntervalSeqs === 0) this.makeCheckpoint(seq);
  }

  protected makeCheckpoint(seq: number): void {
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

  protected ownCheckpointSigned(signed: Signed<CheckpointBody>, to: NodeId[]): void {
    if (signed.body.epoch !== this.config.epoch || signed.body.seq <= this.stable.seq) return;
    this.votes.add(signed);
    this.emit(to, signed);
    this.checkStable(signed.body.seq);
  }

  protected onCheckpoint(msg: PbftMessage<CheckpointBody>): void {
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

  protected checkStable(seq: number): void {
    const cert = this.votes.certificate(seq, this.config);
    if (!cert) return;
    const first = (cert[0] as Signed<CheckpointBody>).body;
    this.onStableCert({ seq, stateDigest: first.stateDigest, configDigest: first.configDigest, proofEpoch: this.config.epoch, proof: cert });
  }

  /** A checked stable certificate of the current epoch for `seq`. */
  protected onStableCert(cert: Omit<StableState, 'text'>): void {
    if (cert.seq <= this.stable.seq) return;
    if (this.state.seq < cert.seq) {
      // We lag behind a quorum: fetch the state (or the certificates) from one of them.
      this.progress.certifiedThrough(cert.seq);
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

  protected adoptStable(stable: StableState): void {
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
    this.persist(
      [
        [stableKey, this.stableRecord()],
        [metaKey, this.metaRecord()],
      ],
      deletes,
    );
    if (!this.quiet) this.ui({ type: 'checkpoint-stable', seq: stable.seq });
    this.tryPropose();
  }

  /** The boundary checkpoint is stable: the replica set of the executed state takes over. */
  protected enterEpoch(startSeq: number, proof: Signed<CheckpointBody>[]): void {
    this.addEpochRecords([{ epoch: this.state.epoch, startSeq, replicas: [...this.state.replicas], proof }]);
    this.switchConfig(makeConfig(this.state.epoch, this.state.replicas), startSeq);
  }

  /**
   * Keeps verified epoch records (of the epochs this node went through, or learnt ahead of its
   * own epoch while catching up), in epoch order, each stored under its own key once. A record
   * for an epoch already held is not replaced: two different ones would need conflicting quorum
   * certificates. The oldest go beyond maxEpochHistory.
   */
  protected addEpochRecords(records: readonly EpochRecord[]): void {
    const sets: Array<[string, unknown]> = [];
    for (const record of records) {
      if (this.history.some((r) => r.epoch === record.epoch)) continue;
      const at = this.history.findIndex((r) => r.epoch > record.epoch);
      this.history.splice(at === -1 ? this.history.length : at, 0, record);
      sets.push([epochKey(record.epoch), record]);
    }
    if (sets.length === 0) return;
    const dropped = this.history.length > maxEpochHistory ? this.history.splice(0, this.history.length - maxEpochHistory) : [];
    this.persist(
      sets,
      dropped.map((r) => epochKey(r.epoch)),
    );
  }

  /** The newest replica set this node can verify: its own, or a later one from the records it holds. */
  protected newestKnownConfig(): ReplicaConfig {
    const last = this.history[this.history.length - 1];
    return last && last.epoch > this.config.epoch ? makeConfig(last.epoch, last.replicas) : this.config;
  }

  protected switchConfig(config: ReplicaConfig, startSeq: number): void {
    this.config = config;
    this.epochStartSeq = startSeq;
    this.viewNo = 0;
    this.mode = 'normal';
    this.backoff = 0;
    this.myVc = undefined;
    this.vcs.clear();
    this.suspects.clear();
    this.mySuspect = undefined;
    this.viewEvidence = [];
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
    this.progress.resetReports();
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
}
