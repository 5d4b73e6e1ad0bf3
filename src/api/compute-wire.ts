// What the node tells the app about compute (events posted by src/worker/services/steal-app-kernels.ts),
// decoded on the app's side: the worker is trusted code, but the hop is a boundary all the same,
// and a payload that does not decode is counted and dropped, never acted on.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../core/decode.ts';

/** A task for one of this app's kernels. */
const taskSchema = v.object({
  key: v.pipe(v.string(), v.minLength(1), v.maxLength(300)),
  kind: v.string(),
  input: v.unknown(),
  job: v.string(),
  index: v.pipe(v.number(), v.integer(), v.minValue(0)),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(1)),
});
export type ComputeTaskEvent = v.InferOutput<typeof taskSchema>;

const abortSchema = v.object({ key: v.string(), reason: v.string() });
export type ComputeAbortEvent = v.InferOutput<typeof abortSchema>;

const jobSchema = v.object({
  job: v.string(),
  kind: v.nullable(v.string()),
  status: v.picklist(['queued', 'running', 'done', 'failed', 'cancelled']),
  done: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))),
  total: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0))),
  error: v.nullable(v.string()),
});
export type ComputeJobEvent = v.InferOutput<typeof jobSchema>;

export const decodeTaskEvent = (raw: unknown): Decoded<ComputeTaskEvent> => decodeWith(taskSchema, raw);
export const decodeAbortEvent = (raw: unknown): Decoded<ComputeAbortEvent> => decodeWith(abortSchema, raw);
export const decodeJobEvent = (raw: unknown): Decoded<ComputeJobEvent> => decodeWith(jobSchema, raw);

/** The node's reply to computeSubmit. */
const submittedSchema = v.object({ id: v.string(), total: v.pipe(v.number(), v.integer(), v.minValue(1)) });
export const decodeSubmitted = (raw: unknown): Decoded<{ id: string; total: number }> => decodeWith(submittedSchema, raw);
