import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToBase64, base64ToBytes } from '../../../src/compute/kernels/base64.ts';
import { createKindRegistry } from '../../../src/compute/kernels/builtins.ts';
import { digestResult } from '../../../src/compute/kernels/digest.ts';
import { mandelbrotCounts, type MandelbrotImage, type MandelbrotTile } from '../../../src/compute/kernels/mandelbrot.ts';
import { countInside } from '../../../src/compute/kernels/monte-carlo-pi.ts';
import { countPrimes } from '../../../src/compute/kernels/primes.ts';
import type { PowAnswer } from '../../../src/compute/kernels/proof-of-work.ts';
import { noDeadline } from '../../../src/compute/kernels/registry.ts';
import type { JsonValue } from '../../../src/core/steal/json.ts';

/** Runs a whole job in-process: prepare, run every task, check every result, merge. */
function runJob(kind: string, params?: unknown, chunks?: number) {
  const registry = createKindRegistry();
  const job = registry.prepareJob({ kind, params, chunks });
  if (!job.ok) throw new Error(job.error);
  const results: JsonValue[] = job.value.tasks.map((task) => {
    const outcome = registry.runTask(kind, task, noDeadline);
    if (!outcome.ok) throw new Error(outcome.error);
    return outcome.result;
  });
  const merged = registry.mergeResults(kind, job.value.params, job.value.tasks, results);
  if (!merged.ok) throw new Error(merged.error);
  return { job: job.value, results, merged: merged.value };
}

function naivePrimeCount(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++)
      if (n % d === 0) {
        prime = false;
        break;
      }
    if (prime) count++;
  }
  return count;
}

describe('prime counting', () => {
  it('agrees with known values of π(x)', () => {
    expect(countPrimes(0, 10, noDeadline)).toBe(4);
    expect(countPrimes(0, 1_000_000, noDeadline)).toBe(78_498);
    expect(countPrimes(0, 10_000_000, noDeadline)).toBe(664_579);
  });

  it('agrees with trial division on awkward ranges (segment edges, squares of primes, tiny ranges)', () => {
    const ranges: Array<[number, number]> = [
      [0, 2],
      [2, 3],
      [0, 3],
      [48, 50],
      [65_530, 65_545],
      [121, 122],
      [1_000, 140_000],
      [99_990, 100_100],
    ];
    for (const [from, to] of ranges) expect(countPrimes(from, to, noDeadline), `[${from}, ${to})`).toBe(naivePrimeCount(from, to));
  });

  it('splits a job into ranges that add up to π(x), whatever the chunk count', () => {
    for (const chunks of [1, 3, 16, 97]) {
      const { merged } = runJob('primes', { to: 2_000_000 }, chunks);
      expect(merged).toEqual({ from: 0, to: 2_000_000, count: 148_933 });
    }
  });
});

describe('Monte Carlo π', () => {
  it('is deterministic per seed, differs across seeds, and is close to π', () => {
    const a = runJob('monte-carlo-pi', { samples: 2_000_000, seed: 7 }, 8);
    const b = runJob('monte-carlo-pi', { samples: 2_000_000, seed: 7 }, 8);
    const c = runJob('monte-carlo-pi', { samples: 2_000_000, seed: 8 }, 8);
    expect(a.results).toEqual(b.results);
    expect(a.results.map(digestResult)).toEqual(b.results.map(digestResult));
    expect(c.results).not.toEqual(a.results);
    const pi = (a.merged as { pi: number }).pi;
    expect(Math.abs(pi - Math.PI)).toBeLessThan(0.01);
  });

  it('gives each task its own stream (two tasks of one job do not count the same points)', () => {
    const first = countInside({ seed: 1, index: 0, samples: 100_000 }, noDeadline);
    const second = countInside({ seed: 1, index: 1, samples: 100_000 }, noDeadline);
    expect(first).not.toBe(second);
  });
});

describe('proof of work', () => {
  it('finds the smallest nonce meeting the difficulty, checked with node:crypto', () => {
    const params = { prefix: 'tabmesh-test', difficultyBits: 12, maxNonce: 50_000 };
    const answer = runJob('proof-of-work', params, 7).merged as PowAnswer;
    expect(answer.found).toBe(true);
    const zeroBits = (hex: string) => {
      const n = BigInt('0x' + hex);
      return 256 - n.toString(2).length;
    };
    const hex = (n: number) => createHash('sha256').update(`${params.prefix}:${n}`).digest('hex');
    expect(answer.hash).toBe(hex(answer.nonce!));
    expect(zeroBits(answer.hash!)).toBeGreaterThanOrEqual(12);
    for (let n = 0; n < answer.nonce!; n++) expect(zeroBits(hex(n))).toBeLessThan(12);
  });

  it('reports no nonce when the range holds none, and refuses a forged hit', () => {
    const registry = createKindRegistry();
    const task = { prefix: 'x', difficultyBits: 30, start: 0, end: 100 };
    const outcome = registry.runTask('proof-of-work', task, noDeadline);
    expect(outcome).toMatchObject({ ok: true, result: { nonce: null, hash: null, tried: 100 } });
    const forged = { start: 0, end: 100, nonce: 5, hash: 'f'.repeat(64), tried: 6 };
    const checked = registry.checkResult('proof-of-work', forged, task);
    expect(checked.ok).toBe(false);
    expect(registry.refusals['bad-result']).toBe(1);
  });
});

describe('Mandelbrot', () => {
  it('renders the default job as tiles that assemble into the whole image', () => {
    const { job, results, merged } = runJob('mandelbrot', { width: 96, height: 64, tileSize: 32, maxIterations: 100 });
    expect(job.tasks).toHaveLength(6);
    const image = merged as MandelbrotImage;
    expect(image.width).toBe(96);
    expect(image.pixels).toHaveLength(96 * 64 * 4);
    // Every pixel is opaque and the centre of the main cardioid (−0.25, 0) is inside: black.
    for (let i = 3; i < image.pixels.length; i += 4) expect(image.pixels[i]).toBe(255);
    const px = Math.floor(((-0.25 + 2.2) / 3.2) * 96);
    const py = 32;
    expect([...image.pixels.subarray((py * 96 + px) * 4, (py * 96 + px) * 4 + 3)]).toEqual([0, 0, 0]);
    // Points far outside escape at once and get colour from the palette, not black.
    const tile = results[0] as MandelbrotTile;
    expect(tile).toMatchObject({ x: 0, y: 0, w: 32, h: 32 });
  });

  it('knows points inside and outside the set', () => {
    const task = { region: { xMin: -1, xMax: 1, yMin: -1, yMax: 1 }, width: 2, height: 2, x: 0, y: 0, w: 2, h: 2, maxIterations: 50 };
    // Pixel centres at ±0.5: (−0.5, ±0.5) is inside, (0.5, ±0.5) escapes.
    const counts = mandelbrotCounts(task, noDeadline);
    expect(counts[0]).toBe(50);
    expect(counts[1]).toBeLessThan(50);
  });

  it('clips edge tiles to the image and is byte-identical on recompute', () => {
    const registry = createKindRegistry();
    const job = registry.prepareJob({ kind: 'mandelbrot', params: { width: 100, height: 70, tileSize: 64 } });
    if (!job.ok) throw new Error(job.error);
    expect(job.value.tasks.map((t) => [(t as { w: number }).w, (t as { h: number }).h])).toEqual([
      [64, 64],
      [36, 64],
      [64, 6],
      [36, 6],
    ]);
    const once = registry.runTask('mandelbrot', job.value.tasks[3], noDeadline);
    const twice = registry.runTask('mandelbrot', job.value.tasks[3], noDeadline);
    expect(once.ok && twice.ok && digestResult(once.result) === digestResult(twice.result)).toBe(true);
  });
});

describe('base64', () => {
  it('round-trips every length and refuses bad text', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = bytesToBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect([...(base64ToBytes(text) ?? [])]).toEqual([...bytes]);
    }
    expect(base64ToBytes('abc')).toBeNull();
    expect(base64ToBytes('ab!d')).toBeNull();
  });
});
