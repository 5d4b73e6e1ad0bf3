// View change (Castro & Liskov §4.4): a backup that times out on a request starts a view
// change; the new primary collects a quorum of view-change messages and sends new-view with the
// order for the sequence numbers still in doubt; backups check it by recomputing and enter the
// view. A layer of PbftReplica (see replica.ts and replica-core.ts).
import type { NodeId } from '../types.ts';
import { batchesByDigest, checkViewChange, planNewView, sameOrder, type NewViewPlan } from './certificates.ts';
import { maxViewsAhead } from './constants.ts';
import { canonicalBytes } from './json.ts';
import { resetSlotForView } from './log.ts';
import type { Batch, Digest, FetchViewChangesBody, NewViewBody, PbftMessage, PreparedCert, Signed, StableCert, ViewChangeBody } from './messages.ts';
import { metaKey, newViewKey, viewChangeKey } from './persistence.ts';
import { isReplica, primaryOf } from './quorum.ts';
import { ReplicaCore, maxBackoff, stalledAfterViewChanges, stripAttachments } from './replica-core.ts';

export abstract class ViewChangeReplica extends ReplicaCore {
  // ── view change ─────────────────────────────────────────────────────────────────────────

  protected startViewChange(toView: number, reason: string): void {
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

  protected composeNewView(all: Array<PbftMessage<ViewChangeBody>>): void {
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
    const plan = planNewView(found.map((m) => m.body), this.nullDigest);
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

}
