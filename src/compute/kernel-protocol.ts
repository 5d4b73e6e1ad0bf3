// Messages between a compute pool and one of its kernel workers (a Web Worker in a tab, a
// worker_threads Worker in the Node peer). Decoded on both sides like every boundary.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../core/decode.ts';

const runRequest = v.strictObject({
  type: v.literal('run'),
  id: v.pipe(v.number(), v.integer(), v.minValue(0)),
  kind: v.string(),
  task: v.unknown(),
  /** Milliseconds the kernel may run; it polls its deadline and stops past it. */
  budgetMs: v.pipe(v.number(), v.minValue(1), v.maxValue(10 * 60_000)),
});
export type KernelRequest = v.InferOutput<typeof runRequest>;

const runReply = v.variant('ok', [
  v.strictObject({ type: v.literal('done'), id: v.number(), ok: v.literal(true), result: v.unknown(), bytes: v.number(), ms: v.number() }),
  v.strictObject({ type: v.literal('done'), id: v.number(), ok: v.literal(false), error: v.string(), ms: v.number() }),
]);
export type KernelReply = v.InferOutput<typeof runReply>;

export const decodeKernelRequest = (raw: unknown): Decoded<KernelRequest> => decodeWith(runRequest, raw);
export const decodeKernelReply = (raw: unknown): Decoded<KernelReply> => decodeWith(runReply, raw);
