// `submitJob({ kind, params, chunks, priority, redundancy })` as it arrives from the page (or a
// person in devtools): checked field by field, with a message that says what to change. The kind
// registry then checks the kind's own parameters and splits the job.
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../../core/decode.ts';
import { maxChunksPerJob } from '../../compute/kernels/index.ts';
import { defaultStealConfig, priorities, type Priority } from '../../core/steal/index.ts';

/** Verified mode runs each task on up to this many distinct nodes (the core's limit). */
export const maxRedundancy = defaultStealConfig.maxRedundancy;

const chunksRule = `must be a whole number from 1 to ${maxChunksPerJob}`;
const redundancyRule = `must be 1 (trust one node) or 2–${maxRedundancy} (verified: that many distinct nodes must agree)`;

const requestSchema = v.strictObject(
  {
    kind: v.string('must be a string naming a task kind, e.g. "mandelbrot"'),
    params: v.optional(v.unknown()),
    chunks: v.optional(v.pipe(v.number(chunksRule), v.integer(chunksRule), v.minValue(1, chunksRule), v.maxValue(maxChunksPerJob, chunksRule))),
    priority: v.optional(v.picklist(priorities, `must be one of ${priorities.join(', ')}`)),
    redundancy: v.optional(
      v.pipe(v.number(redundancyRule), v.integer(redundancyRule), v.minValue(1, redundancyRule), v.maxValue(maxRedundancy, redundancyRule)),
    ),
  },
  (issue) =>
    issue.expected === 'never'
      ? 'is not a field of a job (allowed: kind, params, chunks, priority, redundancy)'
      : 'is missing: name a task kind, e.g. "mandelbrot"',
);

export interface JobRequestArgs {
  kind: string;
  params?: unknown;
  chunks?: number;
  priority: Priority;
  redundancy: number;
}

/** The first argument of `submitJob`, checked; defaults: priority medium, redundancy 1. */
export function decodeJobRequest(raw: unknown): Decoded<JobRequestArgs> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: 'submitJob takes one object: { kind, params?, chunks?, priority?, redundancy? }' };
  }
  const decoded = decodeWith(requestSchema, raw);
  if (!decoded.ok) return { ok: false, error: `submitJob: ${decoded.error}` };
  const { kind, params, chunks, priority, redundancy } = decoded.value;
  return {
    ok: true,
    value: {
      kind,
      ...(params !== undefined ? { params } : {}),
      ...(chunks !== undefined ? { chunks } : {}),
      priority: priority ?? 'medium',
      redundancy: redundancy ?? 1,
    },
  };
}
