// What a replica keeps on disk, under keys starting with `pbft/`, so that a restarted replica
// never contradicts what it said before it crashed: its view (and a view change it started),
// the last stable checkpoint with the state at it, and, per sequence number since, its own
// votes and the certificates it gathered. The core emits these as `persist` effects BEFORE the
// messages that depend on them; the runtime writes each effect as one atomic batch
// (Storage.setMany + del) and only then sends what follows it. Reading back goes through the
// decoders below: storage is a boundary too, and a damaged record is skipped and counted.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../decode.ts';
import { maxEpochHistory, maxReplicasCeiling, maxStateChars } from './constants.ts';
import type {
  Batch,
  CommitBody,
  EpochRecord,
  NewViewBody,
  PbftMessage,
  PreparedCert,
  PrePrepareBody,
  PrepareBody,
  Signed,
  CheckpointBody,
  ViewChangeBody,
} from './messages.ts';
import { partSchemas } from './messages.ts';

export const persistPrefix = 'pbft/';
export const metaKey = 'pbft/meta';
export const stableKey = 'pbft/stable';
export const viewChangeKey = 'pbft/vc';
export const newViewKey = 'pbft/nv';
const slotPrefix = 'pbft/slot/';
const epochPrefix = 'pbft/epoch/';

/** Zero-padded so that the keys of slots sort by sequence number. */
export function slotKey(seq: number): string {
  return slotPrefix + String(seq).padStart(15, '0');
}

export function isSlotKey(key: string): boolean {
  return key.startsWith(slotPrefix);
}

/** Each epoch record is stored once, under its own key (the chain can be long; see maxEpochHistory). */
export function epochKey(epoch: number): string {
  return epochPrefix + String(epoch).padStart(15, '0');
}

export function isEpochKey(key: string): boolean {
  return key.startsWith(epochPrefix);
}

export interface MetaRecord {
  v: 1;
  epoch: number;
  view: number;
  mode: 'normal' | 'view-change';
  /** Consecutive view changes without progress (the timeout is base × 2^backoff). */
  backoff: number;
  /** The embedded client's last request number. */
  clientTs: number;
}

export interface StableRecord {
  v: 1;
  seq: number;
  stateDigest: string;
  configDigest: string;
  /** The epoch whose replicas signed `proof`. */
  proofEpoch: number;
  proof: Signed<CheckpointBody>[];
  /** Canonical text of the state after `seq`. */
  text: string;
  /** Written by versions that kept the epoch records here; now each has its key (epochKey). */
  history?: EpochRecord[];
  /** The stable checkpoint after which the current epoch began. */
  epochStartSeq: number;
}

export interface SlotRecord {
  v: 1;
  seq: number;
  view: number;
  pp?: Signed<PrePrepareBody>;
  batch?: Batch;
  ownPrepare?: Signed<PrepareBody>;
  ownCommit?: Signed<CommitBody>;
  prepared?: { cert: PreparedCert; batch: Batch };
  committed?: { pp: Signed<PrePrepareBody>; commits: Signed<CommitBody>[]; batch: Batch };
}

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const digest = v.pipe(v.string(), v.minLength(1), v.maxLength(256));

const metaSchema = v.strictObject({
  v: v.literal(1),
  epoch: count,
  view: count,
  mode: v.picklist(['normal', 'view-change']),
  backoff: v.pipe(count, v.maxValue(64)),
  clientTs: count,
});

const stableSchema = v.strictObject({
  v: v.literal(1),
  seq: count,
  stateDigest: digest,
  configDigest: digest,
  proofEpoch: count,
  proof: v.pipe(v.array(partSchemas.signedCheckpoint), v.maxLength(maxReplicasCeiling)),
  text: v.pipe(v.string(), v.maxLength(maxStateChars)),
  history: v.optional(v.pipe(v.array(partSchemas.epochRecord), v.maxLength(maxEpochHistory))),
  epochStartSeq: count,
});

const slotSchema = v.strictObject({
  v: v.literal(1),
  seq: count,
  view: count,
  pp: v.optional(partSchemas.signedPrePrepare),
  batch: v.optional(partSchemas.batch),
  ownPrepare: v.optional(partSchemas.signedPrepare),
  ownCommit: v.optional(partSchemas.signedCommit),
  prepared: v.optional(
    v.strictObject({
      cert: v.strictObject({
        pp: partSchemas.signedPrePrepare,
        prepares: v.pipe(v.array(partSchemas.signedPrepare), v.maxLength(maxReplicasCeiling)),
      }),
      batch: partSchemas.batch,
    }),
  ),
  committed: v.optional(
    v.strictObject({
      pp: partSchemas.signedPrePrepare,
      commits: v.pipe(v.array(partSchemas.signedCommit), v.maxLength(maxReplicasCeiling)),
      batch: partSchemas.batch,
    }),
  ),
});

export const decodeMeta = (raw: unknown): Decoded<MetaRecord> => decodeWith(metaSchema as v.GenericSchema<unknown, MetaRecord>, raw);
export const decodeStable = (raw: unknown): Decoded<StableRecord> => decodeWith(stableSchema as unknown as v.GenericSchema<unknown, StableRecord>, raw);
export const decodeEpochRecord = (raw: unknown): Decoded<EpochRecord> => decodeWith(partSchemas.epochRecord, raw);
export const decodeSlot = (raw: unknown): Decoded<SlotRecord> => decodeWith(slotSchema as unknown as v.GenericSchema<unknown, SlotRecord>, raw);

export function decodeViewChangeRecord(raw: unknown): Decoded<PbftMessage<ViewChangeBody>> {
  const d = decodeWith(partSchemas.message, raw);
  if (!d.ok) return d;
  return d.value.body.type === 'view-change' ? { ok: true, value: d.value as PbftMessage<ViewChangeBody> } : { ok: false, error: 'not a view change' };
}

export function decodeNewViewRecord(raw: unknown): Decoded<PbftMessage<NewViewBody>> {
  const d = decodeWith(partSchemas.message, raw);
  if (!d.ok) return d;
  return d.value.body.type === 'new-view' ? { ok: true, value: d.value as PbftMessage<NewViewBody> } : { ok: false, error: 'not a new view' };
}
