// Catching up: a lagging, restarted or new node says where it is (status); peers answer with
// commit certificates for what it missed, or with the latest stable checkpoint's state in
// chunks, which it checks against the checkpoint certificate and the epoch records before
// installing. A layer of PbftReplica (see replica.ts and replica-core.ts).
import type { NodeId } from '../types.ts';
import { checkCheckpointProof, checkCommitCert, followEpochRecords } from './certificates.ts';
import { maxFrameBytes } from '../envelope.ts';
import { maxEpochHistory, maxHeldProofs, maxProofsPerStatus, maxStateChunkBytes, maxStatusPeers } from './constants.ts';
import { splitByJsonBytes, utf8Length } from './utf8.ts';

/**
 * Bytes of a state part besides its chunk and epoch records: the signed body with its checkpoint
 * proof (at most maxReplicasCeiling signed checkpoints of under 1 KiB each at their wire maxima:
 * 64 KiB is far more than a real proof of q ≤ 43 takes) and the frame's wrapping.
 */
const stateFrameReserveBytes = 64 * 1024;
import type { CommitCert } from './log.ts';
import type { EpochRecord, PbftMessage, ProofBody, StateBody, StatusBody } from './messages.ts';
import { isReplica, makeConfig, type ReplicaConfig } from './quorum.ts';
import { configText, decodeSnapshot, ReplicatedState } from './state-machine.ts';
import { ViewChangeReplica } from './view-change.ts';
import type { StableState, Transfer } from './replica-core.ts';

export abstract class StateTransferReplica extends ViewChangeReplica {
  // ── catching up: status, proofs, state transfer ─────────────────────────────────────────

  protected sendStatus(): void {
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

  protected onStatus(msg: PbftMessage<StatusBody>): void {
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

  protected markAnswered(peer: NodeId): void {
    this.statusAnswered.delete(peer);
    this.statusAnswered.set(peer, this.now);
    if (this.statusAnswered.size > maxStatusPeers) this.statusAnswered.delete(this.statusAnswered.keys().next().value as NodeId);
  }

  protected sendState(to: NodeId, theirEpoch: number, withState: boolean): void {
    if (this.stable.seq === 0) return; // the genesis state needs no transfer
    if (this.stable.proof.length === 0) return; // not provable by us: the asker will ask someone else
    const history = this.history.filter((r) => r.epoch > theirEpoch);
    const text = this.stable.text;
    const base: Omit<StateBody, 'part' | 'parts'> = {
      type: 'state',
      to,
      epoch: this.stable.proofEpoch,
      seq: this.stable.seq,
      stateDigest: this.stable.stateDigest,
      configDigest: this.stable.configDigest,
      proof: this.stable.proof,
      history,
    };
    if (!withState) {
      this.requestSign({ ...base, part: 0, parts: 0 }, { kind: 'send', to: [to] });
      return;
    }
    // The epoch records travel once, in part 0, to keep every frame small; part 0's chunk gives
    // up the bytes they take, so that part too stays within the frame limit.
    const recordsBytes = utf8Length(JSON.stringify(history));
    const chunks = splitByJsonBytes(text, Math.min(maxStateChunkBytes, maxFrameBytes - stateFrameReserveBytes - recordsBytes), maxStateChunkBytes);
    for (let part = 0; part < chunks.length; part++) {
      const chunk = chunks[part] as string;
      this.requestSign({ ...base, part, parts: chunks.length, history: part === 0 ? history : [] }, { kind: 'send', to: [to], chunk });
    }
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

  protected installState(
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

}
