// What the worker's consensus bridge (src/worker/services/pbft-apps.ts) sends the page for an
// app's state machine, checked here: app event payloads and command replies cross the
// worker/page hop unchecked, so the page decodes them like any other input.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../core/decode.ts';
import type { JsonValue } from '../core/pbft/json.ts';

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const genesis = v.nullable(v.string());
const json = v.custom<JsonValue>(() => true);

export interface OpEvent {
  genesis: string | null;
  machine: string;
  index: number;
  seq: number;
  client: string;
  op: JsonValue;
}

export interface CheckpointEvent {
  genesis: string | null;
  machine: string;
  index: number;
  certified: boolean;
  variants: number;
  /** The certified snapshot's canonical JSON, when `certified`. */
  snapshot?: string;
}

export interface StateReply {
  genesis: string | null;
  ordered: number;
  certified: { index: number; snapshot: JsonValue } | null;
  ops: Array<{ index: number; seq: number; client: string; op: JsonValue }>;
}

export interface ProposeReply {
  seq: number;
  index: number;
  genesis: string | null;
}

const opEvent = v.object({ genesis, machine: v.string(), index: count, seq: count, client: v.string(), op: json });
const checkpointEvent = v.object({
  genesis,
  machine: v.string(),
  index: count,
  certified: v.boolean(),
  variants: count,
  snapshot: v.optional(v.string()),
});
const syncEvent = v.object({ genesis });
const stateReply = v.object({
  genesis,
  ordered: count,
  certified: v.nullable(v.object({ index: count, snapshot: json })),
  ops: v.array(v.object({ index: count, seq: count, client: v.string(), op: json })),
});
const proposeReply = v.object({ seq: count, index: count, genesis });

export const decodeOpEvent = (raw: unknown): Decoded<OpEvent> => decodeWith(opEvent as v.GenericSchema<unknown, OpEvent>, raw);
export const decodeCheckpointEvent = (raw: unknown): Decoded<CheckpointEvent> => decodeWith(checkpointEvent as v.GenericSchema<unknown, CheckpointEvent>, raw);
export const decodeSyncEvent = (raw: unknown): Decoded<{ genesis: string | null }> => decodeWith(syncEvent, raw);
export const decodeStateReply = (raw: unknown): Decoded<StateReply> => decodeWith(stateReply as v.GenericSchema<unknown, StateReply>, raw);
export const decodeProposeReply = (raw: unknown): Decoded<ProposeReply> => decodeWith(proposeReply, raw);
