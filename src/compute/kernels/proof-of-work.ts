// SHA-256 proof-of-work: find the smallest nonce n in [0, maxNonce) such that
// SHA-256(UTF-8 of `${prefix}:${n}`) starts with `difficultyBits` zero bits. Each task scans
// its own nonce range in order and stops at its first hit, so the smallest hit over all tasks
// is the job's answer, the same whoever computed which range.
import * as v from 'valibot';
import { decodeWith } from '../../core/decode.ts';
import { checkDeadline, type Checked, type Deadline, type TaskKind } from './registry.ts';
import { leadingZeroBits, sha256, toHex } from './sha256.ts';

/** Longest prefix, in characters. */
export const maxPrefixChars = 256;
/** Hardest difficulty accepted (2⁴⁰ hashes is far beyond any tab). */
export const maxDifficultyBits = 40;
/** Nonces stay exact integers in a double. */
export const maxNonceLimit = 2 ** 48;
/** Hashes between deadline polls. */
const pollEveryHashes = 4096;

const nonce = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxNonceLimit));
const prefix = v.pipe(v.string(), v.maxLength(maxPrefixChars));
const difficulty = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxDifficultyBits));
const paramsSchema = v.strictObject({
  prefix: v.optional(prefix, 'tabmesh'),
  difficultyBits: v.optional(difficulty, 18),
  maxNonce: v.optional(v.pipe(nonce, v.minValue(1)), 1 << 24),
});
const taskSchema = v.pipe(
  v.strictObject({ prefix, difficultyBits: difficulty, start: nonce, end: nonce }),
  v.check((t) => t.start < t.end, 'the nonce range needs start < end'),
);
export type PowParams = v.InferOutput<typeof paramsSchema>;
export type PowTask = v.InferOutput<typeof taskSchema>;
export interface PowFind {
  [key: string]: number | string | null;
  start: number;
  end: number;
  /** First nonce in [start, end) that meets the difficulty, or null. */
  nonce: number | null;
  /** Its digest in hex, or null. */
  hash: string | null;
  /** Hashes computed. */
  tried: number;
}
export interface PowAnswer {
  found: boolean;
  nonce: number | null;
  hash: string | null;
  tried: number;
}

const findSchema = v.strictObject({
  start: nonce,
  end: nonce,
  nonce: v.nullable(nonce),
  hash: v.nullable(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
  tried: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

const utf8 = new TextEncoder();

/** The bytes hashed for `nonce`. */
export function powInput(prefixText: string, n: number): Uint8Array {
  return utf8.encode(`${prefixText}:${n}`);
}

/** Digest of the proof for `nonce`. */
export function powDigest(prefixText: string, n: number): Uint8Array {
  return sha256(powInput(prefixText, n));
}

export function searchNonce(task: PowTask, deadline: Deadline): PowFind {
  // The prefix bytes are written once; only the decimal digits change per nonce.
  const head = utf8.encode(`${task.prefix}:`);
  const buffer = new Uint8Array(head.length + 16);
  buffer.set(head);
  let tried = 0;
  for (let n = task.start; n < task.end; n++) {
    if (tried % pollEveryHashes === 0) checkDeadline(deadline);
    let length = head.length;
    const digits = String(n);
    for (let i = 0; i < digits.length; i++) buffer[length++] = digits.charCodeAt(i);
    const digest = sha256(buffer.subarray(0, length));
    tried++;
    if (leadingZeroBits(digest) >= task.difficultyBits) {
      return { start: task.start, end: task.end, nonce: n, hash: toHex(digest), tried };
    }
  }
  return { start: task.start, end: task.end, nonce: null, hash: null, tried };
}

function checkFind(raw: unknown, task: PowTask): Checked<PowFind> {
  const decoded = decodeWith(findSchema, raw);
  if (!decoded.ok) return decoded;
  const find = decoded.value;
  if (find.start !== task.start || find.end !== task.end) return { ok: false, error: 'the result is for another nonce range' };
  if (find.nonce === null) return find.hash === null ? { ok: true, value: find } : { ok: false, error: 'a hash without a nonce' };
  if (find.nonce < task.start || find.nonce >= task.end) return { ok: false, error: 'the nonce lies outside the task range' };
  // A claimed hit is cheap to check: one hash.
  const digest = powDigest(task.prefix, find.nonce);
  if (toHex(digest) !== find.hash || leadingZeroBits(digest) < task.difficultyBits) {
    return { ok: false, error: `nonce ${find.nonce} does not meet ${task.difficultyBits} zero bits` };
  }
  return { ok: true, value: find };
}

export const proofOfWorkKind: TaskKind<PowParams, PowTask, PowFind, PowAnswer> = {
  name: 'proof-of-work',
  description: 'Smallest SHA-256 proof-of-work nonce for a prefix and difficulty',
  defaultChunks: 16,
  maxResultBytes: 512,
  maxRunMs: 120_000,
  validateParams: (raw) => decodeWith(paramsSchema, raw),
  split(params, chunks) {
    const parts = Math.max(1, Math.min(chunks, params.maxNonce));
    const tasks: PowTask[] = [];
    for (let i = 0; i < parts; i++) {
      const start = Math.floor((params.maxNonce * i) / parts);
      const end = Math.floor((params.maxNonce * (i + 1)) / parts);
      if (start < end) tasks.push({ prefix: params.prefix, difficultyBits: params.difficultyBits, start, end });
    }
    return tasks;
  },
  estimateCost: (task) => task.end - task.start,
  validateTaskParams: (raw) => decodeWith(taskSchema, raw),
  run: searchNonce,
  validateResult: checkFind,
  merge(finds) {
    let best: PowFind | null = null;
    for (const f of finds) if (f.nonce !== null && (best === null || f.nonce < (best.nonce as number))) best = f;
    const tried = finds.reduce((s, f) => s + f.tried, 0);
    return { found: best !== null, nonce: best?.nonce ?? null, hash: best?.hash ?? null, tried };
  },
};
