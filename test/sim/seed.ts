// Seeds for simulated tests: a short fixed set by default, many with LONG=1, exactly one with
// SEED=<n> (to replay a failure). Every failure names its seed and the command that replays it.
import { expect, test } from 'vitest';

/** The seed given in the environment (SEED=<n>), if any. */
export function envSeed(): number | undefined {
  const raw = process.env.SEED;
  if (raw === undefined || raw === '') return undefined;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`SEED must be a non-negative integer, got "${raw}"`);
  return seed;
}

export const longMode = (): boolean => process.env.LONG === '1' || process.env.LONG === 'true';

/** [SEED] if set; else `longCount` seeds in LONG mode; else `count` seeds. Seeds are 1, 2, 3, … */
export function seedsFor(count: number, longCount = count * 10): number[] {
  const fixed = envSeed();
  if (fixed !== undefined) return [fixed];
  const n = longMode() ? longCount : count;
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** How to run one seed again, for failure messages. */
export function replayHint(seed: number, testName?: string): string {
  const path = expect.getState().testPath;
  const file = path ? path.slice(path.lastIndexOf('/test/') + 1) : undefined;
  const filter = testName ? ` -t "${testName.replace(/"/g, '\\"')}"` : '';
  return `SEED=${seed} npm run sim --${filter}` + (file ? `   (or: SEED=${seed} npx vitest run --project unit ${file}${filter})` : '');
}

/**
 * Runs `body` with a seed; if it throws, the error message gains `SEED=<n>` and the replay
 * command, and it is rethrown. Use it when a test drives its own seeds.
 */
export function withSeed<T>(seed: number, body: (seed: number) => T, testName?: string): T {
  try {
    return body(seed);
  } catch (error) {
    const hint = `SEED=${seed} — replay with: ${replayHint(seed, testName)}`;
    if (error instanceof Error) {
      error.message = `${error.message}\n${hint}`;
      throw error;
    }
    throw new Error(`${String(error)}\n${hint}`, { cause: error });
  }
}

export interface SimTestOptions {
  /** Seeds in a normal run (default 3). */
  seeds?: number;
  /** Seeds with LONG=1 (default 10 × seeds). */
  longSeeds?: number;
  /** Per-test timeout in real milliseconds (vitest's), default 30 s. */
  timeoutMs?: number;
}

/**
 * Registers one vitest test per seed, named `${name} [seed n]`. On failure the message says
 * `SEED=<n>` and how to replay it.
 */
export function simTest(name: string, body: (seed: number) => void, options: SimTestOptions = {}): void {
  const seeds = seedsFor(options.seeds ?? 3, options.longSeeds);
  for (const seed of seeds) {
    test(`${name} [seed ${seed}]`, () => withSeed(seed, body, name), options.timeoutMs ?? 30_000);
  }
}
