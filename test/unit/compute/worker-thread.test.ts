// The kernels must run in a Web Worker and in Node worker_threads alike: no DOM, no Node APIs.
// This runs a real job in a worker thread and checks the kernel sources import nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

const kernelsDir = join(import.meta.dirname, '../../../src/compute/kernels');

describe('kernels outside the main thread', () => {
  it('import only each other, the pure core helpers and valibot', () => {
    for (const file of readdirSync(kernelsDir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(kernelsDir, file), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const spec of imports) expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/|\.\.\/\.\.\/core\/(decode|steal\/json)\.ts$|valibot$)/);
      expect(source, file).not.toMatch(/\b(document|window|process|require|Buffer)\b[.(]/);
    }
  });

  it('count primes in a worker_threads worker', async () => {
    const worker = new Worker(new URL('./fixtures/kernel-worker-boot.mjs', import.meta.url));
    worker.postMessage({ kind: 'primes', task: { from: 0, to: 1_000_000 } });
    const outcome = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(outcome).toMatchObject({ ok: true, result: { from: 0, to: 1_000_000, count: 78_498 } });
  }, 20_000);
});
