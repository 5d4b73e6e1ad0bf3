// What a home keeps in its store so its jobs survive a reload: a header per job, a small
// record per task (status, attempts, tickets, votes) and each accepted result under its own
// key, so a result costs one small write instead of rewriting the whole job. Records read
// back are decoded like any other input: a damaged record is skipped and counted, never trusted.
import * as v from 'valibot';
import { decodeWith } from '../decode.ts';
import type { NodeId } from '../types.ts';
import { measureJson, type JsonValue } from './json.ts';
import { maxResultBytesOnWire, priorities, type JobId } from './messages.ts';

export const stealKeyPrefix = 'steal/';
export const jobKey = (jobId: string) => `steal/job/${jobId}`;
export const taskKey = (jobId: string, index: number) => `steal/task/${jobId}/${index}`;
export const resultKey = (jobId: string, index: number) => `steal/result/${jobId}/${index}`;

const nodeId = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(128),
  v.transform((s) => s as NodeId),
);
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const jsonValue = v.custom<JsonValue>((x) => measureJson(x, maxResultBytesOnWire).ok, 'not JSON within budget');

const jobRecordSchema = v.strictObject({
  v: v.literal(1),
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  kind: v.pipe(v.string(), v.maxLength(32)),
  params: jsonValue,
  priority: v.picklist(priorities),
  redundancy: v.pipe(count, v.minValue(1), v.maxValue(16)),
  total: v.pipe(count, v.minValue(1), v.maxValue(4096)),
  createdAt: v.number(),
  status: v.picklist(['queued', 'running', 'done', 'failed', 'cancelled']),
  finishedAt: v.nullable(v.number()),
  error: v.nullable(v.pipe(v.string(), v.maxLength(1000))),
});
export type JobRecord = v.InferOutput<typeof jobRecordSchema>;

const replicaRecordSchema = v.strictObject({
  attempt: v.pipe(count, v.minValue(1)),
  tickets: v.pipe(v.array(v.string()), v.maxLength(64)),
  status: v.picklist(['out', 'delayed', 'done', 'dropped']),
  vote: v.nullable(v.strictObject({ node: nodeId, digest: v.pipe(v.string(), v.maxLength(128)) })),
  exclude: v.pipe(v.array(nodeId), v.maxLength(64)),
});
export type ReplicaRecord = v.InferOutput<typeof replicaRecordSchema>;

const taskRecordSchema = v.strictObject({
  v: v.literal(1),
  params: jsonValue,
  cost: v.pipe(v.number(), v.minValue(0)),
  status: v.picklist(['pending', 'done', 'failed']),
  failures: count,
  losses: count,
  lastError: v.nullable(v.pipe(v.string(), v.maxLength(1000))),
  replicas: v.pipe(v.array(replicaRecordSchema), v.minLength(1), v.maxLength(16)),
  accepted: v.nullable(v.strictObject({ digest: v.pipe(v.string(), v.maxLength(128)), nodes: v.array(nodeId) })),
});
export type TaskRecord = v.InferOutput<typeof taskRecordSchema>;

export interface RestoredJob {
  job: JobRecord & { id: JobId };
  tasks: TaskRecord[];
  results: Map<number, JsonValue>;
}

export interface RestoreReport {
  jobs: RestoredJob[];
  /** Records that did not decode, or jobs missing a task record: skipped, with why. */
  skipped: Array<{ key: string; reason: string }>;
}

/**
 * Rebuilds a home's jobs from `[key, value]` pairs read from its store (every key under
 * `steal/`; others are ignored). Pass the result to `createStealCore({ restored })`.
 */
export function decodePersistedJobs(entries: Iterable<readonly [string, unknown]>): RestoreReport {
  const headers = new Map<string, JobRecord>();
  const tasks = new Map<string, Map<number, TaskRecord>>();
  const results = new Map<string, Map<number, JsonValue>>();
  const skipped: RestoreReport['skipped'] = [];
  for (const [key, value] of entries) {
    if (!key.startsWith(stealKeyPrefix)) continue;
    const match = /^steal\/(job|task|result)\/(.+?)(?:\/(\d+))?$/.exec(key);
    if (!match) {
      skipped.push({ key, reason: 'unrecognised key' });
      continue;
    }
    const [, what, jobId, indexText] = match as unknown as [string, string, string, string | undefined];
    if (what === 'job') {
      const decoded = decodeWith(jobRecordSchema, value);
      if (decoded.ok && decoded.value.id === jobId) headers.set(jobId, decoded.value);
      else skipped.push({ key, reason: decoded.ok ? 'id does not match key' : decoded.error });
      continue;
    }
    if (indexText === undefined) {
      skipped.push({ key, reason: 'no task index' });
      continue;
    }
    const index = Number(indexText);
    if (what === 'task') {
      const decoded = decodeWith(taskRecordSchema, value);
      if (!decoded.ok) skipped.push({ key, reason: decoded.error });
      else {
        const forJob = tasks.get(jobId) ?? new Map<number, TaskRecord>();
        forJob.set(index, decoded.value);
        tasks.set(jobId, forJob);
      }
    } else {
      if (!measureJson(value, maxResultBytesOnWire).ok) skipped.push({ key, reason: 'result is not JSON within budget' });
      else {
        const forJob = results.get(jobId) ?? new Map<number, JsonValue>();
        forJob.set(index, value as JsonValue);
        results.set(jobId, forJob);
      }
    }
  }
  const jobs: RestoredJob[] = [];
  for (const [jobId, header] of headers) {
    const forJob = tasks.get(jobId);
    const ordered: TaskRecord[] = [];
    for (let i = 0; i < header.total; i++) {
      const t = forJob?.get(i);
      if (!t) break;
      ordered.push(t);
    }
    if (ordered.length !== header.total) {
      skipped.push({ key: jobKey(jobId), reason: `job has ${ordered.length} of ${header.total} task records` });
      continue;
    }
    const jobResults = results.get(jobId) ?? new Map<number, JsonValue>();
    // A task marked done must have its result; otherwise it has to be computed again.
    ordered.forEach((t, i) => {
      if (t.status === 'done' && !jobResults.has(i)) {
        skipped.push({ key: resultKey(jobId, i), reason: 'accepted result missing; the task runs again' });
        t.status = 'pending';
        t.accepted = null;
        for (const r of t.replicas) {
          r.status = 'out';
          r.vote = null;
        }
      }
    });
    jobs.push({ job: { ...header, id: jobId as JobId }, tasks: ordered, results: jobResults });
  }
  for (const jobId of tasks.keys()) if (!headers.has(jobId)) skipped.push({ key: jobKey(jobId), reason: 'task records without a job header' });
  return { jobs, skipped };
}
