// What passes between the stealing service and the app about the app's own kernels, checked
// here on the worker's side (the app's side checks the other direction in src/api/compute-wire.ts):
//   app → node  computeKinds([{ kind, maxInputBytes?, maxOutputBytes?, timeoutMs?, concurrency? }])
//   node → app  event 'compute-task' { key, kind, input, job, index, attempt }
//   app → node  computeTaskDone(key, { ok: true, output } | { ok: false, error })
//   node → app  event 'compute-abort' { key, reason }
//   app → node  computeSubmit({ kind, tasks, priority?, redundancy? }) → { id, total }
//   node → app  event 'compute-job' { job, kind, status, done, total, error }
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../../core/decode.ts';
import { defaultStealConfig, priorities, type Priority } from '../../core/steal/index.ts';
import { kindNamePattern, maxTasksPerJob } from '../../compute/kernels/registry.ts';

/** Largest input of one task, in bytes of JSON: what the steal protocol carries per task. */
export const maxAppInputBytes = defaultStealConfig.maxTaskParamsBytes;
/** Largest output of one task, in bytes of JSON: what a home accepts per result. */
export const maxAppOutputBytes = defaultStealConfig.maxResultBytes;
/** A task may run at most this long, and by default one minute. */
export const maxAppTimeoutMs = 10 * 60_000;
export const defaultAppTimeoutMs = 60_000;
/** App tasks one node runs at once, at most (the page or Node process is one thread). */
export const maxAppConcurrency = 16;
/** Kinds an app may register (the steal protocol lists at most 64 kinds, the built-ins included). */
export const maxAppKinds = 48;
/** Longest error text a kernel's failure carries (what a result message carries). */
export const maxAppErrorChars = 500;
/** Keys of runs are the core's `refKey`: job id, index, replica and attempt. */
export const maxRunKeyChars = 300;

export interface AppKindSpec {
  kind: string;
  maxInputBytes: number;
  maxOutputBytes: number;
  timeoutMs: number;
  concurrency: number;
}

const whole = (what: string, min: number, max: number) => {
  const rule = `${what} must be a whole number from ${min} to ${max}`;
  return v.pipe(v.number(rule), v.integer(rule), v.minValue(min, rule), v.maxValue(max, rule));
};

const kindName = v.pipe(
  v.string('a kind is a string'),
  v.regex(kindNamePattern, 'a kind is 1–32 lower-case letters, digits or dashes, starting with a letter'),
);

const specSchema = v.strictObject({
  kind: kindName,
  maxInputBytes: v.optional(whole('maxInputBytes', 2, maxAppInputBytes)),
  maxOutputBytes: v.optional(whole('maxOutputBytes', 4, maxAppOutputBytes)),
  timeoutMs: v.optional(whole('timeoutMs', 1, maxAppTimeoutMs)),
  concurrency: v.optional(whole('concurrency', 1, maxAppConcurrency)),
});

const kindsSchema = v.pipe(
  v.array(specSchema, 'computeKinds takes a list of { kind, maxInputBytes?, maxOutputBytes?, timeoutMs?, concurrency? }'),
  v.maxLength(maxAppKinds, `an app registers at most ${maxAppKinds} kinds`),
  v.check((list) => new Set(list.map((s) => s.kind)).size === list.length, 'each kind is listed once'),
);

/** The list of the app's kinds, checked, defaults filled in. */
export function decodeAppKinds(raw: unknown): Decoded<AppKindSpec[]> {
  const decoded = decodeWith(kindsSchema, raw);
  if (!decoded.ok) return decoded;
  return {
    ok: true,
    value: decoded.value.map((s) => ({
      kind: s.kind,
      maxInputBytes: s.maxInputBytes ?? maxAppInputBytes,
      maxOutputBytes: s.maxOutputBytes ?? maxAppOutputBytes,
      timeoutMs: s.timeoutMs ?? defaultAppTimeoutMs,
      concurrency: s.concurrency ?? 1,
    })),
  };
}

const outcomeSchema = v.variant(
  'ok',
  [v.strictObject({ ok: v.literal(true), output: v.unknown() }), v.strictObject({ ok: v.literal(false), error: v.string('error must be a string') })],
  'an outcome is { ok: true, output } or { ok: false, error }',
);

export type AppOutcome = { ok: true; output: unknown } | { ok: false; error: string };

/** `computeTaskDone(key, outcome)`'s arguments (the output's JSON and size are checked against its kind later). */
export function decodeTaskDone(key: unknown, outcome: unknown): Decoded<{ key: string; outcome: AppOutcome }> {
  if (typeof key !== 'string' || key.length === 0 || key.length > maxRunKeyChars)
    return { ok: false, error: 'computeTaskDone(key, outcome): key must be the key of a compute-task event' };
  const decoded = decodeWith(outcomeSchema, outcome);
  if (!decoded.ok) return { ok: false, error: `computeTaskDone(key, outcome): ${decoded.error}` };
  return { ok: true, value: { key, outcome: decoded.value } };
}

const redundancyRule = `redundancy must be 1 (trust one node) or 2–${defaultStealConfig.maxRedundancy} (that many distinct nodes must agree)`;
const submitSchema = v.strictObject(
  {
    kind: kindName,
    tasks: v.pipe(
      v.array(v.unknown(), 'tasks must be a list of inputs, one per task'),
      v.minLength(1, 'a job needs at least one task'),
      v.maxLength(maxTasksPerJob, `a job has at most ${maxTasksPerJob} tasks`),
    ),
    priority: v.optional(v.picklist(priorities, `priority must be one of ${priorities.join(', ')}`)),
    redundancy: v.optional(
      v.pipe(v.number(redundancyRule), v.integer(redundancyRule), v.minValue(1, redundancyRule), v.maxValue(defaultStealConfig.maxRedundancy, redundancyRule)),
    ),
  },
  (issue) => (issue.expected === 'never' ? 'is not a field of a compute job (allowed: kind, tasks, priority, redundancy)' : 'is missing'),
);

export interface AppSubmission {
  kind: string;
  tasks: unknown[];
  priority: Priority;
  redundancy: number;
}

/** `computeSubmit({ kind, tasks, priority?, redundancy? })`'s argument, checked (tasks' JSON is checked by the core). */
export function decodeAppSubmission(raw: unknown): Decoded<AppSubmission> {
  const decoded = decodeWith(submitSchema, raw);
  if (!decoded.ok) return { ok: false, error: `computeSubmit: ${decoded.error}` };
  const { kind, tasks, priority, redundancy } = decoded.value;
  return { ok: true, value: { kind, tasks, priority: priority ?? 'medium', redundancy: redundancy ?? 1 } };
}
