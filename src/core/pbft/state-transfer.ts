// Catching up: a lagging, restarted or new node says where it is (status); peers answer with
// commit certificates for what it missed, or with the latest stable checkpoint's state in
// chunks, which it checks against the checkpoint certificate before installing. To know who may
// sign that certificate, a node far behind first gets the epoch records it lacks (pages of the
// chain from the replica set it knows, each checked against the set before it). A layer of
// PbftReplica (see replica.ts and replica-core.ts).
import type { Millis, NodeId } from '../types.ts';
import { checkCheckpointProof, checkCommitCert, followEpochRecords } from './certificates.ts';
import { maxFrameBytes } from '../envelope.ts';
import { maxEpochPagesPerAnswer, maxEpochRecordsPerMessage, maxHeldProofs, maxProofsPerStatus, maxStateChunkBytes, maxStatusPeers } from './constants.ts';
import { splitByJsonBytes, utf8Length } from './utf8.ts';
import type { CommitCert } from './log.ts';
import type { EpochRecord, EpochsBody, PbftMessage, ProofBody, StateBody, StatusBody } from './messages.ts';
import { isReplica, makeConfig, type ReplicaConfig } from './quorum.ts';
import { configText, decodeSnapshot, ReplicatedState } from './state-machine.ts';
import { ViewChangeReplica } from './view-change.ts';
import type { StableState, Transfer } from './replica-core.ts';

export abstract class StateTransferReplica extends ViewChangeReplica {
  // ── catching up: status, proofs, state transfer ─────────────────────────────────────────

  protected sendStatus(): void {
    const replicas = this.otherReplicas();
    // An observer also asks the newest replica set it knows of (it may be epochs behind) and the
    // other nodes of the mesh: the replicas it knows may all be gone.
    const newest = this.newestKnownConfig().replicas.filter((r) => r !== this.id);
    const peers = this.amReplica() ? replicas : [...new Set([...replicas, ...newest, ...this.knownPeers])];
    if (peers.length === 0) return;
    let ask = this.askHint && peers.includes(this.askHint) ? this.askHint : peers[this.askIndex++ % peers.length];
    this.askHint = undefined;
    if (ask === undefined) ask = peers[0] as NodeId;
    this.requestSign(this.statusBody(ask), { kind: 'send', to: this.amReplica() ? replicas : [ask] });
  }

  protected statusBody(ask: NodeId | null): StatusBody {
    return {
      type: 'status',
      epoch: this.config.epoch,
      view: this.viewNo,
      stable: this.stable.seq,
      executed: this.state.seq,
      ask,
      known: this.newestKnownConfig().epoch,
    };
  }

  protected onStatus(msg: PbftMessage<StatusBody>): void {
    const b = msg.body;
    const from = msg.signer;
    if (from === this.id) return;
    if (b.epoch > this.config.epoch || (b.epoch === this.config.epoch && (b.view > this.viewNo || b.executed > this.state.seq))) {
      this.askHint = from;
      this.behind();
    }
    if (!this.amReplica()) return;
    const fellowReplica = b.epoch === this.config.epoch && isReplica(this.config, from);
    if (fellowReplica) {
      this.progress.report(from, b.executed, this.now);
      // A replica behind us learns at once that the group is ahead (instead of at our next idle
      // status), so its request timer does not take it alone into a view change (progress.ts).
      if (b.executed < this.state.seq) this.echoStatus(from);
    }
    if (fellowReplica && b.view < this.viewNo && this.mode === 'normal') this.sendNewViewTo(from);
    if (b.ask !== this.id) return;
    const last = this.statusAnswered.get(from);
    if (last !== undefined && this.now - last < this.timing.statusIntervalMs / 2) return;
    this.markAnswered(from);
    if (b.epoch < this.config.epoch || b.executed < this.stable.seq) {
      this.sendState(from, Math.max(b.epoch, b.known), b.executed < this.stable.seq);
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

  protected echoStatus(peer: NodeId): void {
    const last = this.statusEchoed.get(peer);
    if (last !== undefined && this.now - last < this.timing.statusIntervalMs) return;
    rememberRecent(this.statusEchoed, peer, this.now);
    this.requestSign(this.statusBody(null), { kind: 'send', to: [peer] });
  }

  protected markAnswered(peer: NodeId): void {
    rememberRecent(this.statusAnswered, peer, this.now);
  }

  /** `theirKnown`: the newest epoch whose replica set the asker can verify. */
  protected sendState(to: NodeId, theirKnown: number, withState: boolean): void {
    if (this.stable.seq === 0) return; // the genesis state needs no transfer
    if (this.stable.proof.length === 0) return; // not provable by us: the asker will ask someone else
    // The records it lacks go first, so that it can tell who signed the checkpoint. Far behind,
    // it gets a few pages now and the rest (then the state) when it next asks.
    // (Only what one answer can carry is paged: an asker far behind, or lying, costs no more.)
    const lacking = this.history.filter((r) => r.epoch > theirKnown).slice(0, maxEpochPagesPerAnswer * maxEpochRecordsPerMessage + 1);
    const pages = pageEpochRecords(lacking);
    for (const records of pages.slice(0, maxEpochPagesPerAnswer)) {
      const body: EpochsBody = { type: 'epochs', to, records };
      this.requestSign(body, { kind: 'send', to: [to] });
    }
    if (pages.length > maxEpochPagesPerAnswer) return;
    const base: Omit<StateBody, 'part' | 'parts'> = {
      type: 'state',
      to,
      epoch: this.stable.proofEpoch,
      seq: this.stable.seq,
      stateDigest: this.stable.stateDigest,
      configDigest: this.stable.configDigest,
      proof: this.stable.proof,
    };
    if (!withState) {
      this.requestSign({ ...base, part: 0, parts: 0 }, { kind: 'send', to: [to] });
      return;
    }
    const chunks = splitByJsonBytes(this.stable.text, maxStateChunkBytes, maxStateChunkBytes);
    for (let part = 0; part < chunks.length; part++) {
      this.requestSign({ ...base, part, parts: chunks.length }, { kind: 'send', to: [to], chunk: chunks[part] as string });
    }
  }

  /** A page of epoch records that extends what this node can verify; others are refused. */
  protected onEpochs(msg: PbftMessage<EpochsBody>): void {
    const b = msg.body;
    if (b.to !== this.id) return this.reject('not-for-me');
    const known = this.newestKnownConfig();
    const fresh = b.records.filter((r) => r.epoch > known.epoch);
    if (fresh.length === 0) return this.reject('stale');
    // A page that starts further on (an earlier one was lost or overtaken) is asked for again.
    if ((fresh[0] as EpochRecord).epoch !== known.epoch + 1) return this.reject('unverifiable');
    const chain = followEpochRecords(known, fresh, this.digest);
    if (!chain.ok) return this.reject('bad-certificate');
    this.addEpochRecords(fresh);
    this.askHint = msg.signer;
    this.behind();
  }

  /** The replica set of `epoch`, if this node knows it. */
  protected configOf(epoch: number): ReplicaConfig | undefined {
    if (epoch === this.config.epoch) return this.config;
    if (epoch === 0) return this.genesis;
    const record = this.history.find((r) => r.epoch === epoch);
    return record ? makeConfig(record.epoch, record.replicas) : undefined;
  }

  protected onProof(msg: PbftMessage<ProofBody>): void {
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

  protected onState(msg: PbftMessage<StateBody>): void {
    const b = msg.body;
    if (b.to !== this.id) return this.reject('not-for-me');
    if (b.seq <= this.stable.seq) return this.reject('stale');
    // Which replicas signed the proof: this node's own set, or one it holds the epoch record of.
    const proofConfig = this.configOf(b.epoch);
    if (!proofConfig) {
      // The records sent before it are still to come, or were lost: ask again (saying how far we got).
      this.askHint = msg.signer;
      this.behind();
      return this.reject('unverifiable');
    }
    if (checkCheckpointProof(b.proof, proofConfig, { seq: b.seq, stateDigest: b.stateDigest, configDigest: b.configDigest })) {
      return this.reject('bad-certificate');
    }
    const cert = { seq: b.seq, stateDigest: b.stateDigest, configDigest: b.configDigest, proofEpoch: b.epoch, proof: b.proof };
    this.progress.certifiedThrough(b.seq);
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
      this.transfer = { ...cert, total: b.parts, parts: new Map() };
    }
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
    this.installState(snapshot.value, text, transfer);
  }

  protected installState(snapshot: Parameters<typeof ReplicatedState.fromSnapshot>[0], text: string, transfer: Transfer): void {
    this.state = ReplicatedState.fromSnapshot(snapshot, this.params);
    this.checkpointsMade.clear();
    this.checkpointsMade.set(transfer.seq, { text, digest: transfer.stateDigest, configDigest: transfer.configDigest });
    this.heldProofs.clear();
    this.boundaryExecuted = undefined;
    this.stats.stateTransfers++;
    const stable: StableState = { ...transfer, text };
    if (snapshot.epoch !== this.config.epoch) {
      // The state lies in a later epoch: take its replica set. If the checkpoint is the
      // boundary itself, the epoch starts here; otherwise its record says where.
      const record =
        snapshot.epoch === transfer.proofEpoch + 1
          ? { epoch: snapshot.epoch, startSeq: transfer.seq, replicas: [...snapshot.replicas], proof: transfer.proof }
          : this.history.find((r) => r.epoch === snapshot.epoch);
      if (record) this.addEpochRecords([record]);
      this.switchConfig(makeConfig(snapshot.epoch, snapshot.replicas), record?.startSeq ?? transfer.seq);
    }
    this.adoptStable(stable);
    if (!this.quiet) this.ui({ type: 'state-transferred', seq: transfer.seq, epoch: this.config.epoch });
    for (const [key, p] of this.pending) if (this.state.isExecuted(p.req.body.client, p.req.body.ts)) this.pending.delete(key);
    this.refreshTimer();
    this.executeReady();
  }
}

/**
 * Splits epoch records into pages of at most maxEpochRecordsPerMessage records and, with the
 * message around them, within the frame limit (a record is about 2 KiB at n = 7, at most
 * ~13 KiB with maxReplicasCeiling replicas).
 */
export function pageEpochRecords(records: readonly EpochRecord[]): EpochRecord[][] {
  const budget = maxFrameBytes - epochsFrameReserveBytes;
  const pages: EpochRecord[][] = [];
  let page: EpochRecord[] = [];
  let used = 0;
  for (const record of records) {
    const bytes = utf8Length(JSON.stringify(record)) + 1;
    if (page.length > 0 && (page.length === maxEpochRecordsPerMessage || used + bytes > budget)) {
      pages.push(page);
      page = [];
      used = 0;
    }
    page.push(record);
    used += bytes;
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

/** What an `epochs` frame holds besides its records: the signed body and the frame's wrapping. */
const epochsFrameReserveBytes = 4 * 1024;

/** Notes when `peer` was last served, keeping the maxStatusPeers most recent (the oldest goes). */
function rememberRecent(served: Map<NodeId, Millis>, peer: NodeId, now: Millis): void {
  served.delete(peer);
  served.set(peer, now);
  if (served.size > maxStatusPeers) served.delete(served.keys().next().value as NodeId);
}
