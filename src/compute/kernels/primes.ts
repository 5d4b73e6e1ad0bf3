// Prime counting over [from, to) by a segmented sieve of Eratosthenes: the base primes up to
// √to are sieved once per task, then the range is crossed off one cache-sized segment at a
// time. Memory stays at one segment whatever the range, and the deadline is polled per segment.
import * as v from 'valibot';
import { decodeWith } from '../../core/decode.ts';
import { checkDeadline, type Checked, type Deadline, type TaskKind } from './registry.ts';

/** Numbers up to this are accepted (base primes up to 10⁶ stay cheap to sieve per task). */
export const maxPrimeBound = 1e12;
/** Numbers crossed off per segment: fits a typical L2 cache. */
const segmentSize = 1 << 16;

const bound = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxPrimeBound));
const rangeSchema = v.pipe(
  v.strictObject({ from: bound, to: bound }),
  v.check((r) => r.from < r.to, 'the range needs from < to'),
);
const paramsSchema = v.pipe(
  v.strictObject({ from: v.optional(bound, 0), to: v.optional(bound, 50_000_000) }),
  v.check((r) => r.from < r.to, 'the range needs from < to'),
);
export type PrimeParams = v.InferOutput<typeof paramsSchema>;
export type PrimeTask = v.InferOutput<typeof rangeSchema>;
export interface PrimeCount {
  [key: string]: number;
  from: number;
  to: number;
  count: number;
}

const countSchema = v.strictObject({ from: bound, to: bound, count: v.pipe(v.number(), v.integer(), v.minValue(0)) });

/** Primes ≤ limit, by a plain sieve. */
export function basePrimes(limit: number): Uint32Array {
  if (limit < 2) return new Uint32Array(0);
  const composite = new Uint8Array(limit + 1);
  const out: number[] = [];
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    out.push(i);
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return Uint32Array.from(out);
}

/** How many primes p satisfy from ≤ p < to. */
export function countPrimes(from: number, to: number, deadline: Deadline): number {
  const lo = Math.max(from, 2);
  if (lo >= to) return 0;
  const primes = basePrimes(Math.floor(Math.sqrt(to - 1)));
  const segment = new Uint8Array(segmentSize);
  let count = 0;
  for (let start = lo; start < to; start += segmentSize) {
    checkDeadline(deadline);
    const end = Math.min(start + segmentSize, to);
    const length = end - start;
    segment.fill(0, 0, length);
    for (const p of primes) {
      const pp = p * p;
      if (pp >= end) break;
      const first = pp >= start ? pp : Math.ceil(start / p) * p;
      for (let j = first - start; j < length; j += p) segment[j] = 1;
    }
    for (let j = 0; j < length; j++) if (segment[j] === 0) count++;
  }
  return count;
}

export const primesKind: TaskKind<PrimeParams, PrimeTask, PrimeCount, PrimeCount> = {
  name: 'primes',
  description: 'Count the primes in a range (segmented sieve)',
  defaultChunks: 16,
  maxResultBytes: 256,
  maxRunMs: 60_000,
  validateParams: (raw) => decodeWith(paramsSchema, raw),
  split(params, chunks) {
    const span = params.to - params.from;
    const parts = Math.max(1, Math.min(chunks, span));
    const tasks: PrimeTask[] = [];
    for (let i = 0; i < parts; i++) {
      const from = params.from + Math.floor((span * i) / parts);
      const to = params.from + Math.floor((span * (i + 1)) / parts);
      if (from < to) tasks.push({ from, to });
    }
    return tasks;
  },
  estimateCost: (task) => task.to - task.from,
  validateTaskParams: (raw) => decodeWith(rangeSchema, raw),
  run: (task, deadline) => ({ from: task.from, to: task.to, count: countPrimes(task.from, task.to, deadline) }),
  validateResult(raw, task): Checked<PrimeCount> {
    const decoded = decodeWith(countSchema, raw);
    if (!decoded.ok) return decoded;
    if (decoded.value.from !== task.from || decoded.value.to !== task.to) return { ok: false, error: 'the result is for another range' };
    if (decoded.value.count > task.to - task.from) return { ok: false, error: 'more primes than numbers in the range' };
    return decoded;
  },
  merge: (results, params) => ({ from: params.from, to: params.to, count: results.reduce((sum, r) => sum + r.count, 0) }),
};
