// The compute pool with real kernels behind an in-process stand-in for a worker (the message
// passing is the only thing faked; Web Worker and worker_threads hosts wrap the same body).
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ComputePool, hangGraceMs, type KernelWorker } from '../../../src/compute/pool.ts';
import { handleKernelMessage } from '../../../src/compute/kernel-host.ts';
import type { KernelRequest } from '../../../src/compute/kernel-protocol.ts';

type Behaviour = 'real' | 'silent' | 'crash';

function inProcessWorker(behaviour: () => Behaviour, log: string[]): () => KernelWorker {
  return () => {
    let reply: (raw: unknown) => void = () => {};
    let crash: (reason: string) => void = () => {};
    let alive = true;
    return {
      post: (request: KernelRequest) => {
        const mode = behaviour();
        log.push(`${mode} ${request.kind}`);
        setTimeout(() => {
          if (!alive) return;
          if (mode === 'real') handleKernelMessage(request, reply);
          if (mode === 'crash') crash('boom');
        }, 0);
      },
      onReply: (listener) => (reply = listener),
      onCrash: (listener) => (crash = listener),
      terminate: () => {
        alive = false;
      },
    };
  };
}

afterEach(() => vi.useRealTimers());

describe('ComputePool', () => {
  test('runs real kernels, at most `size` at once, and queues the rest', async () => {
    const log: string[] = [];
    const pool = new ComputePool(
      2,
      inProcessWorker(() => 'real', log),
    );
    const runs = [0, 1, 2, 3].map((i) => pool.run('primes', { from: i * 1000, to: (i + 1) * 1000 }, 5_000));
    expect(pool.stats()).toMatchObject({ size: 2, busy: 2, queued: 2 });
    const results = await Promise.all(runs);
    expect(results.every((r) => r.ok)).toBe(true);
    const counts = results.map((r) => (r.ok ? (r.result as { count: number }).count : -1));
    expect(counts).toEqual([168, 135, 127, 120]); // primes in [0,1000), [1000,2000), …
    expect(pool.stats()).toMatchObject({ busy: 0, queued: 0, completed: 4, failed: 0 });
    expect(pool.stats().utilisation).toBeGreaterThan(0);
  });

  test('an unknown kind or bad parameters fail the attempt, not the pool', async () => {
    const pool = new ComputePool(
      1,
      inProcessWorker(() => 'real', []),
    );
    const unknown = await pool.run('rm-rf', {}, 1_000);
    expect(unknown).toMatchObject({ ok: false, error: expect.stringContaining('rm-rf') });
    const bad = await pool.run('primes', { from: 'a' }, 1_000);
    expect(bad.ok).toBe(false);
    expect((await pool.run('primes', { from: 0, to: 100 }, 1_000)).ok).toBe(true);
  });

  test('a worker that hangs past its deadline is replaced and the task fails', async () => {
    vi.useFakeTimers();
    let mode: Behaviour = 'silent';
    const pool = new ComputePool(
      1,
      inProcessWorker(() => mode, []),
    );
    const hung = pool.run('primes', { from: 0, to: 100 }, 50);
    await vi.advanceTimersByTimeAsync(50 + hangGraceMs + 1);
    expect(await hung).toMatchObject({ ok: false, error: expect.stringContaining('did not stop') });
    expect(pool.stats().workersReplaced).toBe(1);
    mode = 'real';
    const next = pool.run('primes', { from: 0, to: 100 }, 1_000);
    await vi.advanceTimersByTimeAsync(1);
    expect((await next).ok).toBe(true);
  });

  test('a crashed worker is replaced and the next task runs', async () => {
    let mode: Behaviour = 'crash';
    const pool = new ComputePool(
      1,
      inProcessWorker(() => mode, []),
    );
    expect(await pool.run('primes', { from: 0, to: 100 }, 1_000)).toMatchObject({ ok: false, error: expect.stringContaining('crashed') });
    mode = 'real';
    expect((await pool.run('primes', { from: 0, to: 100 }, 1_000)).ok).toBe(true);
    expect(pool.stats()).toMatchObject({ workersReplaced: 1, completed: 1, failed: 1 });
  });

  test('a closed pool refuses work and settles what was waiting', async () => {
    const pool = new ComputePool(
      1,
      inProcessWorker(() => 'silent', []),
    );
    const waiting = [pool.run('primes', {}, 1_000), pool.run('primes', {}, 1_000)];
    pool.close();
    for (const r of await Promise.all(waiting)) expect(r).toMatchObject({ ok: false, error: 'the compute pool is closed' });
    expect(await pool.run('primes', {}, 1_000)).toMatchObject({ ok: false });
  });
});
