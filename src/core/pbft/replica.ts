// PbftReplica: one node's pBFT core (Castro & Liskov, "Practical Byzantine Fault Tolerance",
// OSDI'99, with signatures). Pure and deterministic: no clock, timers, randomness, crypto or
// I/O; time, messages and commands come in through `step`, and everything it wants done comes
// out as effects. The same class is a replica while its id is in the current replica set and
// an observer otherwise (an observer follows the committed log, checking commit certificates,
// and can submit operations like anyone). Import it from ./index.ts.
//
// One class in layers, one file per job: replica-core.ts (state, signing and sending, the
// normal case, execution, checkpoints, epochs) ← view-change.ts ← state-transfer.ts (status,
// proofs, state transfer) ← this file (entry points, timers, reporting, restart).
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
//   user commands:     { type: 'submit', op, tag } → later a 'client-result' event with the
//                      same tag (ok with seq and result once f+1 replicas agree, or a reason);
//                      { type: 'set-byzantine', mode | null }
//   snapshots:         core.view() (PbftView), core.kvGet(key), core.footprint()
//
//   apply(effects) MUST handle them in array order, each finished before the next. They are the
//   shared vocabulary (src/core/effects.ts; src/worker/effect-driver.ts carries them out):
//     persist    → storage.setMany(writes) + del(deletes) as ONE transaction, awaited. It always
//                  comes before the sends that depend on it (a vote, a view change), exactly as
//                  raft's Ready: never send before the write that makes it durable.
//     sign       → sig = sign(text) with this node's key (text = canonicalBytes of the body), then
//                  apply(core.step(now, { type: 'signed', id, sig })) before the next effect.
//                  The core keeps signed copies of its own messages because certificates nest
//                  them. (Only a 'forge' replica names another `signer`: sign with your own key
//                  anyway and label it as asked; honest receivers will refuse it.)
//     send / broadcast → wrap as a 'pbft' frame and send; `to` never includes this node.
//                  Replies to clients are sends too; its own client's replies stay inside. Its
//                  own client's requests are `unordered` sends: they need not wait for writes.
//   and the core's own events (PbftEvent):
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
import type { Millis } from '../types.ts';
import type { AppMachineState } from './app-machines.ts';
import { wrongDigest } from './byzantine.ts';
import { PbftClient } from './client.ts';
import { maxEpochHistory, maxKnownPeers } from './constants.ts';
import { checkPbftParams } from './size-bounds.ts';
import { canonicalBytes } from './json.ts';
import { newSlot } from './log.ts';
import { isLinkAuthenticated, type CheckpointBody } from './messages.ts';
import {
  decodeMeta,
  decodeNewViewRecord,
  decodeEpochRecord,
  decodeSlot,
  decodeStable,
  decodeViewChangeRecord,
  epochKey,
  isEpochKey,
  isSlotKey,
  metaKey,
  newViewKey,
  stableKey,
  viewChangeKey,
  type SlotRecord,
} from './persistence.ts';
import { makeConfig, primaryOf } from './quorum.ts';
import { decodeSnapshot, ReplicatedState } from './state-machine.ts';
import type { PbftEffect, PbftInput, PbftSlotView, PbftView } from './types.ts';
import { StateTransferReplica } from './state-transfer.ts';
import { reqKey, stalledAfterViewChanges } from './replica-core.ts';

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

export class PbftReplica extends StateTransferReplica {
  // ── the runtime's entry points ──────────────────────────────────────────────────────────

  /** First call after construction: tells the client where the replicas are and asks peers for news. */
  start(now: Millis): PbftEffect[] {
    this.begin(now);
    this.out.push(...this.startEffects);
    this.startEffects = [];
    this.updateClientConfig();
    this.behindUntil = now + this.timing.idleStatusIntervalMs;
    this.nextStatusAt = now;
    this.startedAt = now;
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
        // An unsigned type needs the sender the link vouches for (messages.ts, linkAuthenticatedTypes).
        if (input.from === undefined && isLinkAuthenticated(input.msg)) this.reject('relayed-unsigned');
        else this.onMessage(input.msg, input.from ?? input.msg.signer);
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
    const problem = checkPbftParams(params);
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

  /** An app state machine's ordered operations and certified snapshot here (app-machines.ts; read only: not a copy). */
  appMachine(name: string): Readonly<AppMachineState> | undefined {
    return this.state.appMachine(name);
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
        viewChangesDeferred: this.stats.viewChangesDeferred,
        suspicions: this.stats.suspicions,
        stateTransfers: this.stats.stateTransfers,
        stableCheckpoints: this.stats.stableCheckpoints,
      },
    };
  }

  // ── time ────────────────────────────────────────────────────────────────────────────────

  protected onTick(): void {
    const now = this.now;
    if (this.amReplica()) {
      if (this.mode === 'normal' && this.timerStart !== null && now >= this.timerStart + this.timeoutMs()) {
        if (this.groupIsAhead() || this.justStarted()) {
          // Catching up, not let down by the primary: wait again (see progress.ts).
          this.timerStart = now;
          this.stats.viewChangesDeferred++;
          this.behind();
        } else {
          // Say so, and keep working in this view until f+1 replicas want a later one (view-change.ts).
          const why = `no progress on waiting requests for ${this.timeoutMs()} ms`;
          this.timerStart = now;
          this.suspect(this.viewNo + 1, why);
        }
      } else if (this.mode === 'view-change' && this.nvDeadline !== null && now >= this.nvDeadline) {
        const why = this.nvFromQuorum
          ? `no new-view for view ${this.viewNo} in time`
          : `fewer than ${this.config.q} replicas joined the change to view ${this.viewNo}`;
        this.nvDeadline = now + this.timeoutMs();
        this.suspect(this.viewNo + 1, why);
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

  /** Whether the group has certainly executed beyond this node (progress.ts). */
  protected groupIsAhead(): boolean {
    const freshMs = 2 * this.timing.idleStatusIntervalMs;
    return this.progress.executedAtLeast(this.config.replicas, this.config.f, this.now, freshMs) > this.state.seq;
  }

  /**
   * Whether this node (re)started so recently that it may be far behind without knowing yet:
   * for its first idleStatusIntervalMs (by then every replica has told it where it is) it does
   * not start a view change on its own. It still joins one that f+1 others start.
   */
  protected justStarted(): boolean {
    return this.now - this.startedAt < this.timing.idleStatusIntervalMs;
  }

  /** Sends our own messages again for what has not completed: the network may have lost them. */
  protected retransmit(): void {
    if (!this.amReplica()) return;
    const others = this.otherReplicas();
    // A standing suspicion is said again: receivers count it only while it is fresh.
    if (this.mySuspect) this.emit(others, this.mySuspect);
    if (this.mode === 'view-change') {
      if (this.myVc) this.emit(others, this.myVc);
      this.relayEvidence();
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

  protected stallReason(): string | null {
    if (this.diverged) return this.diverged;
    const { f, q, n } = this.config;
    const halted = `more than f = ${f} of ${n} replicas may be faulty or cut off (nothing unagreed is committed, but nothing new will be until enough of them are back)`;
    const have = [...this.vcs.values()].filter((v) => v.msg.body.view === this.viewNo).length;
    const where =
      this.mode === 'view-change' ? `changing to view ${this.viewNo} with ${have} of the ${q} view-change messages needed` : `in view ${this.viewNo}`;
    if (this.backoff >= stalledAfterViewChanges) return `${this.backoff} view changes in a row brought no progress (now ${where}); ${halted}`;
    if (this.mode === 'view-change') {
      if (this.now - this.viewChangeStartedAt < this.timeoutMs()) return null;
      return have < q ? `${where}; ${halted}` : `${where}: waiting for the new primary ${primaryOf(this.config, this.viewNo)} to send new-view`;
    }
    if (this.mySuspect) {
      const wanted = this.mySuspect.body.view;
      return `${this.pending.size} request(s) not ordered in view ${this.viewNo}: this replica wants view ${wanted}; ${this.suspectingAtLeast(wanted)} of the ${f + 1} replicas needed to change view want it`;
    }
    if (this.timerStart !== null && this.now - this.timerStart > this.timeoutMs()) {
      return `${this.pending.size} request(s) waiting for ${this.now - this.timerStart} ms without being ordered`;
    }
    return null;
  }

  /** Tells the UI once per episode that this node stopped making progress, and why. */
  protected reportStall(): void {
    if (this.stalledReported || this.quiet) return;
    const reason = this.stallReason();
    if (reason === null) return;
    this.stalledReported = true;
    this.ui({ type: 'stalled', reason });
  }

  // ── restart from storage ────────────────────────────────────────────────────────────────

  protected restore(entries: Iterable<readonly [string, unknown]>): void {
    const all = new Map<string, unknown>();
    for (const [key, value] of entries) all.set(key, value);
    this.quiet = true;
    try {
      this.restoreStable(all.get(stableKey));
      this.restoreEpochRecords(all);
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
      const stale: string[] = [];
      for (const key of slotKeys) {
        const rec = decodeSlot(all.get(key));
        if (!rec.ok) {
          this.reject('bad-persisted');
          continue;
        }
        if (rec.value.seq <= this.stable.seq) stale.push(key);
        else this.restoreSlot(rec.value);
      }
      // Slots below the stable checkpoint whose delete did not land before a stop (deletes wait
      // for an idle disk, src/worker/group-commit.ts, and a committed record may be written after one).
      this.persist([], stale);
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

  protected restoreStable(raw: unknown): void {
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
    // Records an older version kept in this record move to their own keys (restoreEpochRecords).
    this.history = s.history ?? [];
    this.stable = { seq: s.seq, stateDigest: s.stateDigest, configDigest: s.configDigest, proofEpoch: s.proofEpoch, proof: s.proof, text: s.text };
    this.checkpointsMade.set(s.seq, { text: s.text, digest: s.stateDigest, configDigest: s.configDigest });
    this.nextSeq = s.seq + 1;
  }

  protected restoreEpochRecords(all: ReadonlyMap<string, unknown>): void {
    const legacy = this.history;
    this.history = [];
    for (const key of [...all.keys()].filter(isEpochKey).sort()) {
      const rec = decodeEpochRecord(all.get(key));
      if (!rec.ok || epochKey(rec.value.epoch) !== key) {
        this.reject('bad-persisted');
        continue;
      }
      this.history.push(rec.value);
    }
    if (this.history.length > maxEpochHistory) this.history.splice(0, this.history.length - maxEpochHistory);
    this.addEpochRecords(legacy);
  }

  protected restoreSlot(rec: SlotRecord): void {
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
