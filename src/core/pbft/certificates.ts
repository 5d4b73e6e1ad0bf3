// Checks of everything that carries other replicas' signed messages: batches, prepared and
// commit certificates, stable checkpoints, view changes, new-view orders and epoch records.
// Signatures were verified by the runtime (messages.ts: signaturesToVerify); what is checked
// here is that the right replicas signed the right things, enough of them, and that the
// unsigned attachments match the signed digests. Each check returns a reason, or null if fine.
import type { NodeId } from '../types.ts';
import { maxBatchRequestsOnWire, type PbftParams } from './constants.ts';
import { canonicalBytes } from './json.ts';
import { canonicalUtf8Length } from './utf8.ts';
import type { CommitCert } from './log.ts';
import type { Batch, CheckpointBody, Digest, PbftMessage, PreparedCert, Signed, StableCert, ViewChangeBody, EpochRecord } from './messages.ts';
import { makeConfig, primaryOf, type ReplicaConfig } from './quorum.ts';
import { configText } from './state-machine.ts';

/** The injected hash: canonical text in, digest text out (SHA-256 in tabs; anything stable in tests). */
export type DigestFn = (canonicalText: string) => string;

export function batchDigest(digest: DigestFn, batch: Batch): Digest {
  return digest(canonicalBytes(batch));
}

export function checkBatch(batch: Batch, params: PbftParams): string | null {
  // The count is each primary's own choice (maxBatchRequests, live: setMaxBatchRequests); what
  // every node must agree on is the size in UTF-8 bytes, which bounds view-change frames.
  if (batch.length > maxBatchRequestsOnWire) return `a batch holds at most ${maxBatchRequestsOnWire} requests`;
  if (canonicalUtf8Length(batch) > params.maxBatchBytes) return `a batch is at most ${params.maxBatchBytes} bytes`;
  for (const request of batch) {
    if (request.body.type !== 'request') return 'a batch holds only requests';
    if (request.signer !== request.body.client) return `a request of ${request.body.client} is signed by ${request.signer}`;
  }
  return null;
}

/** Distinct members of `config` among `signers` (strangers and repeats do not count). */
function distinctMembers(config: ReplicaConfig, signers: readonly NodeId[], exclude?: NodeId): number {
  const seen = new Set<NodeId>();
  for (const s of signers) if (s !== exclude && config.replicas.includes(s)) seen.add(s);
  return seen.size;
}

/** q checkpoint messages of `config` for one (seq, state, config digest). */
export function checkCheckpointProof(
  proof: readonly Signed<CheckpointBody>[],
  config: ReplicaConfig,
  want: { seq: number; stateDigest: Digest; configDigest?: Digest },
): string | null {
  const good = proof.filter(
    (c) =>
      c.body.epoch === config.epoch &&
      c.body.seq === want.seq &&
      c.body.stateDigest === want.stateDigest &&
      (want.configDigest === undefined || c.body.configDigest === want.configDigest),
  );
  if (good.length !== proof.length) return 'a checkpoint in the proof does not match';
  const configs = new Set(good.map((c) => c.body.configDigest));
  if (configs.size > 1) return 'checkpoints in the proof disagree on the next replica set';
  const have = distinctMembers(
    config,
    good.map((c) => c.signer),
  );
  return have >= config.q ? null : `the checkpoint proof has ${have} of the ${config.q} replicas needed`;
}

/** A stable certificate inside epoch `config.epoch` that started after `epochStartSeq`. */
export function checkStableCert(cert: StableCert, config: ReplicaConfig, params: PbftParams, epochStartSeq: number): string | null {
  if (cert.seq < epochStartSeq) return `stable checkpoint ${cert.seq} is before this epoch (${epochStartSeq})`;
  if (cert.seq === epochStartSeq) return null; // the start of the epoch needs no proof inside it
  if (cert.seq % params.checkpointIntervalSeqs !== 0) return `${cert.seq} is not a checkpoint number`;
  return checkCheckpointProof(cert.proof, config, { seq: cert.seq, stateDigest: cert.stateDigest });
}

/** A prepared certificate for a view before `beforeView`, in the window above `stableSeq`. */
export function checkPreparedCert(cert: PreparedCert, config: ReplicaConfig, params: PbftParams, stableSeq: number, beforeView: number): string | null {
  const pp = cert.pp.body;
  if (pp.type !== 'pre-prepare' || pp.epoch !== config.epoch) return 'a prepared certificate is from another epoch';
  if (pp.view >= beforeView) return `a prepared certificate of view ${pp.view} is not older than view ${beforeView}`;
  if (pp.seq <= stableSeq || pp.seq > stableSeq + params.logWindowSeqs) return `prepared ${pp.seq} is outside the window`;
  if (cert.pp.signer !== primaryOf(config, pp.view)) return `the pre-prepare of view ${pp.view} is not from its primary`;
  const prepares = cert.prepares.filter((p) => p.body.epoch === pp.epoch && p.body.view === pp.view && p.body.seq === pp.seq && p.body.digest === pp.digest);
  if (prepares.length !== cert.prepares.length) return 'a prepare in the certificate does not match its pre-prepare';
  const have = distinctMembers(
    config,
    prepares.map((p) => p.signer),
    cert.pp.signer,
  );
  return have >= config.q - 1 ? null : `a prepared certificate has ${have} of the ${config.q - 1} prepares needed`;
}

/** A commit certificate (pre-prepare, q commits, batch) for epoch `config.epoch`. */
export function checkCommitCert(cert: CommitCert, config: ReplicaConfig, params: PbftParams, digest: DigestFn): string | null {
  const pp = cert.pp.body;
  if (pp.epoch !== config.epoch) return 'the certificate is from another epoch';
  if (cert.pp.signer !== primaryOf(config, pp.view)) return `the pre-prepare of view ${pp.view} is not from its primary`;
  const commits = cert.commits.filter((c) => c.body.epoch === pp.epoch && c.body.view === pp.view && c.body.seq === pp.seq && c.body.digest === pp.digest);
  if (commits.length !== cert.commits.length) return 'a commit in the certificate does not match its pre-prepare';
  const have = distinctMembers(
    config,
    commits.map((c) => c.signer),
  );
  if (have < config.q) return `the commit certificate has ${have} of the ${config.q} commits needed`;
  const batchProblem = checkBatch(cert.batch, params);
  if (batchProblem) return batchProblem;
  return batchDigest(digest, cert.batch) === pp.digest ? null : 'the batch does not match the certified digest';
}

/** The batches attached to a view change, by digest. */
export function batchesByDigest(digest: DigestFn, batches: readonly Batch[] | undefined): Map<Digest, Batch> {
  const out = new Map<Digest, Batch>();
  for (const batch of batches ?? []) out.set(batchDigest(digest, batch), batch);
  return out;
}

export interface ViewChangeContext {
  config: ReplicaConfig;
  params: PbftParams;
  epochStartSeq: number;
  digest: DigestFn;
}

/** A view-change message: its stable certificate, its prepared certificates and their batches. */
export function checkViewChange(msg: PbftMessage<ViewChangeBody>, ctx: ViewChangeContext): string | null {
  const { config, params } = ctx;
  const body = msg.body;
  if (body.epoch !== config.epoch) return 'the view change is for another epoch';
  if (!config.replicas.includes(msg.signer)) return `${msg.signer} is not a replica`;
  const stableProblem = checkStableCert(body.stable, config, params, ctx.epochStartSeq);
  if (stableProblem) return stableProblem;
  const batches = batchesByDigest(ctx.digest, msg.batches);
  let last = body.stable.seq;
  for (const cert of body.prepared) {
    if (cert.pp.body.seq <= last) return 'prepared certificates must be in increasing sequence order';
    last = cert.pp.body.seq;
    const problem = checkPreparedCert(cert, config, params, body.stable.seq, body.view);
    if (problem) return problem;
    const batch = batches.get(cert.pp.body.digest);
    if (!batch) return `the batch of prepared ${cert.pp.body.seq} is missing`;
    const batchProblem = checkBatch(batch, params);
    if (batchProblem) return batchProblem;
  }
  return null;
}

export interface NewViewPlan {
  /** The highest stable checkpoint among the view changes (min-s). */
  minS: number;
  /** The view change that carries it (its stable certificate is adopted). */
  stable: StableCert;
  maxS: number;
  order: Array<{ seq: number; digest: Digest }>;
}

/**
 * The new primary's computation (and every backup's check of it): for each n in
 * (min-s, max-s], the digest of the prepared certificate with the highest view among the
 * view changes, or the empty batch if none prepared n.
 */
export function planNewView(viewChanges: readonly ViewChangeBody[], nullDigest: Digest): NewViewPlan {
  let stable: StableCert | undefined;
  for (const vc of viewChanges) if (!stable || vc.stable.seq > stable.seq) stable = vc.stable;
  if (!stable) throw new Error('planNewView needs at least one view change');
  const minS = stable.seq;
  const best = new Map<number, { view: number; digest: Digest }>();
  let maxS = minS;
  for (const vc of viewChanges) {
    for (const cert of vc.prepared) {
      const { seq, view, digest } = cert.pp.body;
      if (seq <= minS) continue;
      maxS = Math.max(maxS, seq);
      const current = best.get(seq);
      // Two certificates in one view for one number cannot both exist with ≤ f faulty; the
      // digest tiebreak only keeps the computation identical everywhere if they do.
      if (!current || view > current.view || (view === current.view && digest < current.digest)) best.set(seq, { view, digest });
    }
  }
  const order: Array<{ seq: number; digest: Digest }> = [];
  for (let seq = minS + 1; seq <= maxS; seq++) order.push({ seq, digest: best.get(seq)?.digest ?? nullDigest });
  return { minS, stable, maxS, order };
}

export function sameOrder(a: ReadonlyArray<{ seq: number; digest: Digest }>, b: ReadonlyArray<{ seq: number; digest: Digest }>): boolean {
  return a.length === b.length && a.every((x, i) => x.seq === b[i]?.seq && x.digest === b[i]?.digest);
}

/**
 * Follows epoch records from a trusted replica set to later ones. Each record must be proved
 * by q checkpoints of the set before it, naming the new set's digest. Returns the configs
 * learnt (by epoch), or a reason.
 */
export function followEpochRecords(
  trusted: ReplicaConfig,
  records: readonly EpochRecord[],
  digest: DigestFn,
): { ok: true; configs: Map<number, { config: ReplicaConfig; startSeq: number; record: EpochRecord }> } | { ok: false; error: string } {
  const configs = new Map<number, { config: ReplicaConfig; startSeq: number; record: EpochRecord }>();
  let current = trusted;
  for (const record of records) {
    if (record.epoch <= current.epoch) continue;
    if (record.epoch !== current.epoch + 1) return { ok: false, error: `epoch records jump from ${current.epoch} to ${record.epoch}` };
    if (record.replicas.length === 0) return { ok: false, error: 'an epoch record has no replicas' };
    const want = digest(configText(record.epoch, record.replicas));
    const stateDigest = record.proof[0]?.body.stateDigest ?? '';
    const problem = checkCheckpointProof(record.proof, current, { seq: record.startSeq, stateDigest, configDigest: want });
    if (problem) return { ok: false, error: `epoch ${record.epoch}: ${problem}` };
    current = makeConfig(record.epoch, record.replicas);
    configs.set(record.epoch, { config: current, startSeq: record.startSeq, record });
  }
  return { ok: true, configs };
}
