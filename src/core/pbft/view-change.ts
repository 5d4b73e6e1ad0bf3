// View change (Castro & Liskov §4.4): a backup that times out on a request starts a view
// change; the new primary collects a quorum of view-change messages and sends new-view with the
// order for the sequence numbers still in doubt; backups check it by recomputing and enter the
// view. A layer of PbftReplica (see replica.ts and replica-core.ts).
//
// One change to the paper's trigger (docs/security.md, "A replica never leaves its view
// alone"): a timeout does not send view-change at once but `suspect`, which commits the
// replica to nothing, so it keeps working in its view. It sends view-change for the latest
// view that f+1 replicas want (suspects and view changes both count; f+1 include an honest
// one), and relays those f+1 messages, so every honest replica that gets them follows. A
// replica whose timer alone ran out (a flood delayed what it receives, while the primary
// serves the others) thus stays in the group's view instead of going alone into a view that
// never forms: a view change cannot be taken back, and alone it would be out of every quorum
// for as long as the primary works.
import type { NodeId } from '../types.ts';
import { batchesByDigest, checkViewChange, planNewView, sameOrder, type NewViewPlan } from './certificates.ts';
import { maxViewsAhead } from './constants.ts';
import { canonicalBytes } from './json.ts';
import { resetSlotForView } from './log.ts';
import type {
  Batch,
  Digest,
  FetchViewChangesBody,
  NewViewBody,
  PbftMessage,
  PreparedCert,
  Signed,
  StableCert,
  SuspectBody,
  ViewChangeBody,
} from './messages.ts';
import { metaKey, newViewKey, viewChangeKey } from './persistence.ts';
import { isReplica, primaryOf } from './quorum.ts';
import { ReplicaCore, maxBackoff, stalledAfterViewChanges, stripAttachments } from './replica-core.ts';

/**
 * How long a suspect message counts after it last arrived: this many base view-change timeouts,
 * or the current (doubled) timeout if longer. Its author sends it again with every
 * retransmission while it still suspects (and a replica that went on the strength of it relays
 * it), so suspicions that last meet, while lone ones of different moments do not add up. After
 * view changes that brought nothing, timeouts (and so the replicas' timers) are longer and
 * further apart: suspicions then count for as long.
 */
export const suspicionTtlMultiple = 3;

export abstract class ViewChangeReplica extends ReplicaCore {
  // ── suspicion: who wants a later view ───────────────────────────────────────────────────

  /** This replica's timer ran out: say that it wants `toView`, and go there once f+1 do. */
  protected suspect(toView: number, reason: string): void {
    if (!this.amReplica() || toView <= this.viewNo) return;
    this.stats.suspicions++;
    if (this.mySuspect && this.mySuspect.body.view >= toView) {
      this.suspects.set(this.id, { msg: this.mySuspect, at: this.now, reason });
      this.emit(this.otherReplicas(), this.mySuspect);
      this.viewChangeProgress();
      return;
    }
    const body: SuspectBody = { type: 'suspect', epoch: this.config.epoch, view: toView };
    this.requestSign(body, { kind: 'suspect', reason });
  }

  protected ownSuspectSigned(signed: Signed<SuspectBody>, reason: string): void {
    if (signed.body.epoch !== this.config.epoch || signed.body.view <= this.viewNo) return;
    this.mySuspect = signed;
    this.suspects.set(this.id, { msg: signed, at: this.now, reason });
    this.emit(this.otherReplicas(), signed);
    this.viewChangeProgress();
  }

  protected onSuspect(msg: PbftMessage<SuspectBody>): void {
    if (!this.admit(msg, true)) return;
    const b = msg.body;
    // The view it wants came, or one after it: nothing to count (a race, not an attack).
    if (b.view <= this.viewNo) return;
    if (b.view > this.viewNo + maxViewsAhead) return this.reject('too-far-ahead');
    const held = this.suspects.get(msg.signer);
    if (held && held.msg.body.view > b.view) return this.reject('stale');
    // Our own, relayed back by a replica that went on it, counts again like any other.
    this.suspects.set(msg.signer, { msg: stripAttachments(msg), at: this.now });
    this.viewChangeProgress();
  }

  /**
   * The latest view that at least f+1 replicas want — by a view change, or by a suspect message
   * that is still fresh — with those f+1 messages (the evidence relayed to the others).
   */
  protected viewWanted(): { view: number; evidence: PbftMessage[]; mine: boolean } | undefined {
    const ttl = this.suspicionTtl();
    const wants = new Map<NodeId, { view: number; msg: PbftMessage }>();
    for (const [signer, vc] of this.vcs) if (vc.msg.body.view > this.viewNo) wants.set(signer, { view: vc.msg.body.view, msg: vc.msg });
    for (const [signer, s] of this.suspects) {
      if (s.msg.body.view <= this.viewNo || this.now - s.at > ttl) continue;
      const had = wants.get(signer);
      if (!had || s.msg.body.view > had.view) wants.set(signer, { view: s.msg.body.view, msg: s.msg });
    }
    const ahead = [...wants.entries()].sort((a, b) => b[1].view - a[1].view);
    const pick = ahead[this.config.f];
    if (!pick) return undefined;
    const chosen = ahead.slice(0, this.config.f + 1);
    return { view: pick[1].view, evidence: chosen.map(([, w]) => w.msg), mine: chosen.some(([signer]) => signer === this.id) };
  }

  /** How long a suspect message counts after it last arrived (see suspicionTtlMultiple). */
  protected suspicionTtl(): number {
    return Math.max(suspicionTtlMultiple * Math.max(this.timing.viewChangeTimeoutMs, this.timing.retransmitIntervalMs), this.timeoutMs());
  }

  /** Replicas with a fresh suspect message for `view` or later (this one included). */
  protected suspectingAtLeast(view: number): number {
    const ttl = this.suspicionTtl();
    return [...this.suspects.values()].filter((s) => s.msg.body.view >= view && this.now - s.at <= ttl).length;
  }

  /**
   * Sends the evidence that took this replica into its view change to the others again, while
   * that view has fewer than q view changes here (lost frames, or replicas that were cut off).
   */
  protected relayEvidence(): void {
    if (this.viewEvidence.length === 0 || this.now - this.evidenceRelayedAt < this.timing.viewChangeTimeoutMs) return;
    const forView = [...this.vcs.values()].filter((v) => v.msg.body.view === this.viewNo).length;
    if (forView >= this.config.q) return;
    this.evidenceRelayedAt = this.now;
    for (const msg of this.viewEvidence) if (msg.signer !== this.id) this.emit(this.otherReplicas(), msg);
  }

  // ── view change ─────────────────────────────────────────────────────────────────────────

  protected startViewChange(toView: number, reason: string, evidence: PbftMessage[] = []): void {
    if (!this.amReplica() || toView <= this.viewNo) return;
    const from = this.viewNo;
    this.mode = 'view-change';
    this.viewNo = toView;
    // Relayed first, signed by their authors: every honest replica that gets them follows.
    this.viewEvidence = evidence;
    this.evidenceRelayedAt = this.now;
    for (const msg of evidence) if (msg.signer !== this.id) this.emit(this.otherReplicas(), msg);
    if (this.mySuspect && this.mySuspect.body.view <= toView) this.mySuspect = undefined;
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

  protected ownViewChangeSigned(signed: Signed<ViewChangeBody>, batches: Batch[]): void {
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

  protected onViewChange(msg: PbftMessage<ViewChangeBody>): void {
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

  protected vcContext() {
    return { config: this.config, params: this.params, epochStartSeq: this.epochStartSeq, digest: this.digest };
  }

  protected viewChangeProgress(): void {
    // The paper's f+1 rule, with suspects counted too: that many replicas asking for later
    // views include an honest one, so join the latest view at least f+1 of them ask for.
    const wanted = this.viewWanted();
    if (wanted) {
      const own = this.suspects.get(this.id)?.reason;
      const why =
        this.config.f === 0 && own ? own : `${this.config.f + 1} replicas want view ${wanted.view} or later${wanted.mine && own ? ` (here: ${own})` : ''}`;
      this.startViewChange(wanted.view, why, wanted.evidence);
    }
    if (this.mode !== 'view-change') return;
    const forView = [...this.vcs.values()].filter((v) => v.msg.body.view === this.viewNo);
    if (forView.length >= this.config.q && !this.nvFromQuorum) {
      // The paper's new-view timer: started once q replicas want this view.
      this.nvFromQuorum = true;
      this.nvDeadline = this.now + this.timeoutMs();
    } else if (forView.length >= this.config.f + 1 && this.nvDeadline === null) {
      // Fewer than q may never come (the rest moved on while cut off or faulty). With f + 1
      // (an honest one among them) the group moves on after a longer wait, again through
      // suspect messages and the f + 1 rule, so faulty ones cannot drag honest ones through
      // views and no honest replica goes on alone.
      this.nvDeadline = this.viewChangeStartedAt + 2 * this.timeoutMs();
    }
    if (this.isPrimary() && this.myVc && this.sentNvForView !== this.viewNo && forView.length >= this.config.q) {
      this.composeNewView(forView.map((v) => v.msg));
    }
  }

  protected composeNewView(all: Array<PbftMessage<ViewChangeBody>>): void {
    const mine = all.filter((m) => m.signer === this.id);
    const others = all.filter((m) => m.signer !== this.id).sort((a, b) => (a.signer < b.signer ? -1 : 1));
    const chosen = [...mine, ...others].slice(0, this.config.q);
    const plan = planNewView(
      chosen.map((m) => m.body),
      this.nullDigest,
    );
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

  protected ownNewViewSigned(signed: Signed<NewViewBody>, vcs: Array<PbftMessage<ViewChangeBody>>, plan: NewViewPlan): void {
    if (signed.body.epoch !== this.config.epoch || signed.body.view !== this.viewNo || this.mode !== 'view-change') return;
    this.enterView(signed, vcs, plan, true);
  }

  protected onNewView(msg: PbftMessage<NewViewBody>, from: NodeId): void {
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
    const plan = planNewView(
      found.map((m) => m.body),
      this.nullDigest,
    );
    if (!sameOrder(plan.order, b.order)) {
      this.pendingNv = undefined;
      return this.reject('bad-new-view');
    }
    this.pendingNv = undefined;
    this.nvCandidates.clear();
    this.enterView(stripAttachments(msg), found, plan, false);
  }

  protected askForViewChanges(from: NodeId, view: number, signers: NodeId[]): void {
    const to = from !== this.id ? from : primaryOf(this.config, view);
    const body: FetchViewChangesBody = { type: 'fetch-vc', to, epoch: this.config.epoch, view, signers };
    this.requestSign(body, { kind: 'send', to: [to] });
  }

  protected onFetchViewChanges(msg: PbftMessage<FetchViewChangesBody>): void {
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

  protected sendNewViewTo(to: NodeId): void {
    const last = this.statusAnswered.get(to);
    if (!this.acceptedNv || (last !== undefined && this.now - last < this.timing.statusIntervalMs / 2)) return;
    this.markAnswered(to);
    this.emit([to], this.acceptedNv.msg);
  }

  /** Enters the new view: adopt its stable checkpoint, reset the log, and (as primary) re-propose the order. */
  protected enterView(nv: Signed<NewViewBody>, vcs: Array<PbftMessage<ViewChangeBody>>, plan: NewViewPlan, asPrimary: boolean): void {
    const b = nv.body;
    this.viewNo = b.view;
    this.mode = 'normal';
    this.nvDeadline = null;
    this.acceptedNv = { msg: nv, vcs };
    this.myVc = undefined;
    this.viewEvidence = [];
    // Suspicions were of the primaries before this one (a suspect for view b.view + 1 sent while
    // the new-view was on its way, too): the new primary starts with a clean slate, and whoever
    // suspects it later says so again.
    this.suspects.clear();
    this.mySuspect = undefined;
    for (const [signer, v] of [...this.vcs]) if (v.msg.body.view <= b.view) this.vcs.delete(signer);
    this.stats.viewChanges++;
    // Durable before anything of the new view leaves (the primary's new-view itself included).
    this.persist(
      [
        [metaKey, this.metaRecord()],
        [newViewKey, nv],
      ],
      [viewChangeKey],
    );
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
    for (const entry of b.order)
      if (entry.seq > this.stable.seq && entry.seq <= this.stable.seq + this.params.logWindowSeqs) this.slot(entry.seq).expected = entry.digest;
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
}
