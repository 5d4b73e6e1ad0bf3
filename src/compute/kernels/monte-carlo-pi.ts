// Monte Carlo π, made deterministic so independent nodes agree bit for bit (verified mode
// compares result digests): every task seeds its own sfc32 stream from (job seed, task index),
// and points are integer pairs in a 2²⁶ square so x² + y² is exact in a double — no rounding,
// no Math.random, the same count of hits on every engine.
import * as v from 'valibot';
import { decodeWith } from '../../core/decode.ts';
import { checkDeadline, type Checked, type Deadline, type TaskKind } from './registry.ts';

/** Points per task at most (about a minute of work). */
export const maxSamplesPerTask = 2_000_000_000;
/** Points per job at most. */
export const maxSamplesPerJob = 1e12;
/** Coordinates are integers below 2^coordinateBits, so squares and their sum stay exact. */
const coordinateBits = 26;
const radiusSquared = 2 ** (2 * coordinateBits);
/** Points drawn between deadline polls. */
const pollEverySamples = 1 << 18;

const seedSchema = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const paramsSchema = v.strictObject({
  samples: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxSamplesPerJob)), 20_000_000),
  seed: v.optional(seedSchema, 1),
});
const taskSchema = v.strictObject({
  seed: seedSchema,
  index: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000)),
  samples: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxSamplesPerTask)),
});
export type PiParams = v.InferOutput<typeof paramsSchema>;
export type PiTask = v.InferOutput<typeof taskSchema>;
export interface PiCount {
  [key: string]: number;
  inside: number;
  samples: number;
}
export interface PiEstimate {
  pi: number;
  inside: number;
  samples: number;
}

const countSchema = v.strictObject({
  inside: v.pipe(v.number(), v.integer(), v.minValue(0)),
  samples: v.pipe(v.number(), v.integer(), v.minValue(1)),
});

/** splitmix32: spreads a seed over 32 bits so nearby seeds give unrelated streams. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Points of the task's stream that fall inside the quarter circle. */
export function countInside(task: PiTask, deadline: Deadline): number {
  let a = mix32(task.seed);
  let b = mix32(a ^ task.index);
  let c = mix32(b + 0x6a09e667);
  let d = mix32(c ^ 0xbb67ae85);
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> (32 - coordinateBits);
  };
  for (let i = 0; i < 12; i++) next();
  let inside = 0;
  for (let done = 0; done < task.samples;) {
    checkDeadline(deadline);
    const batch = Math.min(pollEverySamples, task.samples - done);
    for (let i = 0; i < batch; i++) {
      const x = next();
      const y = next();
      if (x * x + y * y < radiusSquared) inside++;
    }
    done += batch;
  }
  return inside;
}

export const monteCarloPiKind: TaskKind<PiParams, PiTask, PiCount, PiEstimate> = {
  name: 'monte-carlo-pi',
  description: 'Estimate π from seeded random points (deterministic per seed)',
  defaultChunks: 16,
  maxResultBytes: 128,
  maxRunMs: 60_000,
  validateParams: (raw) => decodeWith(paramsSchema, raw),
  split(params, chunks) {
    // Never a task longer than maxSamplesPerTask, even if that means more chunks than asked.
    const parts = Math.min(params.samples, Math.max(chunks, Math.ceil(params.samples / maxSamplesPerTask)));
    const perTask = Math.ceil(params.samples / parts);
    const tasks: PiTask[] = [];
    for (let i = 0, left = params.samples; left > 0; i++) {
      const samples = Math.min(perTask, left);
      tasks.push({ seed: params.seed, index: i, samples });
      left -= samples;
    }
    return tasks;
  },
  estimateCost: (task) => task.samples,
  validateTaskParams: (raw) => decodeWith(taskSchema, raw),
  run: (task, deadline) => ({ inside: countInside(task, deadline), samples: task.samples }),
  validateResult(raw, task): Checked<PiCount> {
    const decoded = decodeWith(countSchema, raw);
    if (!decoded.ok) return decoded;
    if (decoded.value.samples !== task.samples)
      return { ok: false, error: `the result counts ${decoded.value.samples} points, the task asked for ${task.samples}` };
    if (decoded.value.inside > decoded.value.samples) return { ok: false, error: 'more hits than points' };
    return decoded;
  },
  merge(results) {
    const inside = results.reduce((s, r) => s + r.inside, 0);
    const samples = results.reduce((s, r) => s + r.samples, 0);
    return { pi: (4 * inside) / samples, inside, samples };
  },
};
