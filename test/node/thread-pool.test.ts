// The Node peer's compute pool runs real kernels on real worker threads.
import { describe, expect, it } from 'vitest';
import { createThreadComputePool } from '../../src/node/thread-pool.ts';

describe('thread compute pool', () => {
  it('runs tasks on kernel threads and refuses unknown kinds per attempt', async () => {
    const pool = createThreadComputePool(2);
    try {
      const [a, b, unknown] = await Promise.all([
        pool.run('primes', { from: 0, to: 100_000 }, 10_000),
        pool.run('primes', { from: 100_000, to: 200_000 }, 10_000),
        pool.run('eval', { code: 'process.exit()' }, 10_000),
      ]);
      expect(a).toMatchObject({ ok: true, result: { count: 9_592 } });
      expect(b).toMatchObject({ ok: true, result: { count: 8_392 } });
      expect(unknown).toMatchObject({ ok: false, error: expect.stringContaining('eval') });
      expect(pool.stats()).toMatchObject({ size: 2, completed: 2, failed: 1, workersReplaced: 0 });
    } finally {
      pool.close();
    }
  }, 30_000);
});
