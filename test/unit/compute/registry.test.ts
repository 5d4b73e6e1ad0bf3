import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { createKindRegistry } from '../../../src/compute/kernels/builtins.ts';
import { checkDeadline, noDeadline, type Deadline, type TaskKind } from '../../../src/compute/kernels/registry.ts';

describe('kind registry', () => {
  it('makes a sensible job from { kind } alone for every built-in kind', () => {
    const registry = createKindRegistry();
    expect(registry.names()).toEqual(['mandelbrot', 'monte-carlo-pi', 'primes', 'proof-of-work']);
    for (const kind of registry.names()) {
      const job = registry.prepareJob({ kind });
      expect(job.ok, kind).toBe(true);
      if (job.ok) {
        expect(job.value.tasks.length).toBeGreaterThan(1);
        expect(job.value.costs).toHaveLength(job.value.tasks.length);
        // Task params are JSON: they survive a trip through the wire format unchanged.
        expect(JSON.parse(JSON.stringify(job.value.tasks))).toEqual(job.value.tasks);
      }
    }
  });

  it('refuses unknown kinds and malformed parameters with a reason, and counts them', () => {
    const registry = createKindRegistry();
    const unknown = registry.prepareJob({ kind: 'bitcoin-miner' });
    expect(unknown).toEqual({ ok: false, error: expect.stringContaining('unknown task kind "bitcoin-miner"') });
    expect(registry.prepareJob({ kind: 42 }).ok).toBe(false);
    const badParams = registry.prepareJob({ kind: 'primes', params: { from: 10, to: 5 } });
    expect(badParams).toEqual({ ok: false, error: expect.stringContaining('from < to') });
    expect(registry.prepareJob({ kind: 'primes', params: { to: 'lots' } }).ok).toBe(false);
    expect(registry.prepareJob({ kind: 'primes', params: { to: 100, extra: true } }).ok).toBe(false);
    expect(registry.prepareJob({ kind: 'mandelbrot', params: { tileSize: 4 } }).ok).toBe(false);
    expect(registry.prepareJob({ kind: 'primes', chunks: 0 }).ok).toBe(false);
    expect(registry.prepareJob({ kind: 'primes', chunks: 2.5 }).ok).toBe(false);
    expect(registry.prepareJob({ kind: 'mandelbrot', params: { width: 4096, height: 4096, tileSize: 8 } })).toEqual({
      ok: false,
      error: expect.stringContaining('tasks'),
    });
    expect(registry.refusals).toMatchObject({ 'unknown-kind': 2, 'bad-params': 4, 'bad-chunks': 2, 'too-many-tasks': 1 });
  });

  it('refuses task parameters from a peer that the kind does not accept', () => {
    const registry = createKindRegistry();
    expect(registry.runTask('primes', { from: 0, to: 1e13 }, noDeadline).ok).toBe(false);
    expect(registry.runTask('primes', { from: 0 }, noDeadline).ok).toBe(false);
    expect(
      registry.runTask(
        'mandelbrot',
        { region: { xMin: 0, xMax: 1, yMin: 0, yMax: 1 }, width: 10, height: 10, x: 8, y: 0, w: 8, h: 8, maxIterations: 10 },
        noDeadline,
      ),
    ).toEqual({
      ok: false,
      error: expect.stringContaining('inside the image'),
    });
    expect(registry.runTask('eval', 'while(true){}', noDeadline).ok).toBe(false);
  });

  it('turns a throwing kernel, an overrun and an oversized result into a failed attempt', () => {
    const registry = createKindRegistry();
    const base = {
      description: 'test',
      defaultChunks: 2,
      maxRunMs: 1000,
      validateParams: (raw: unknown) => ({ ok: true as const, value: raw }),
      split: () => [1, 2],
      validateTaskParams: (raw: unknown) => (typeof raw === 'number' ? { ok: true as const, value: raw } : { ok: false as const, error: 'not a number' }),
      validateResult: (raw: unknown) => ({ ok: true as const, value: raw as number }),
      merge: (r: number[]) => r,
    };
    registry.registerKind<unknown, number, number, number[]>({
      ...base,
      name: 'thrower',
      maxResultBytes: 100,
      run: () => {
        throw new Error('boom');
      },
    });
    registry.registerKind<unknown, number, number, number[]>({
      ...base,
      name: 'looper',
      maxResultBytes: 100,
      run: (_task: number, deadline: Deadline) => {
        for (;;) checkDeadline(deadline);
      },
    });
    registry.registerKind<unknown, number, string, number[]>({
      ...base,
      name: 'bloater',
      maxResultBytes: 100,
      run: () => 'x'.repeat(1000),
      validateResult: (raw: unknown) => ({ ok: true as const, value: String(raw) }),
      merge: () => [],
    });
    expect(registry.runTask('thrower', 1, noDeadline)).toEqual({ ok: false, error: 'thrower kernel threw: boom' });
    let polls = 0;
    const expiring: Deadline = { expired: () => ++polls > 3 };
    expect(registry.runTask('looper', 1, expiring)).toEqual({ ok: false, error: expect.stringContaining('deadline') });
    expect(registry.runTask('bloater', 1, noDeadline)).toEqual({ ok: false, error: expect.stringContaining('larger than 100 bytes') });
    expect(registry.refusals).toMatchObject({ 'kernel-threw': 1, deadline: 1, 'oversized-result': 1 });
  });

  it('refuses duplicate or badly named kinds (an app bug, so it throws)', () => {
    const registry = createKindRegistry();
    const kind = registry.get('primes') as TaskKind;
    expect(() => registry.registerKind(kind)).toThrow(/already registered/);
    expect(() => registry.registerKind({ ...kind, name: 'Bad Name' })).toThrow(/must match/);
  });

  it('checks results from peers against the task they claim to answer', () => {
    const registry = createKindRegistry();
    const task = { from: 0, to: 100 };
    expect(registry.checkResult('primes', { from: 0, to: 100, count: 25 }, task).ok).toBe(true);
    expect(registry.checkResult('primes', { from: 0, to: 50, count: 15 }, task).ok).toBe(false);
    expect(registry.checkResult('primes', { from: 0, to: 100, count: 101 }, task).ok).toBe(false);
    expect(registry.checkResult('primes', { from: 0, to: 100, count: 25, note: 'x'.repeat(500) }, task).ok).toBe(false);
    const merged = registry.mergeResults('primes', { to: 100 }, [task], [{ from: 0, to: 100, count: 25 }]);
    expect(merged).toEqual({ ok: true, value: { from: 0, to: 100, count: 25 } });
    expect(registry.mergeResults('primes', { to: 100 }, [task], []).ok).toBe(false);
  });

  it('accepts an app-defined kind through registerKind and runs only that', () => {
    const registry = createKindRegistry();
    const schema = v.strictObject({ n: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000)) });
    registry.registerKind<{ n: number }, { n: number }, number, number>({
      name: 'square-sum',
      description: 'sum of squares below n',
      defaultChunks: 4,
      maxResultBytes: 32,
      maxRunMs: 1000,
      validateParams: (raw) => {
        const r = v.safeParse(schema, raw);
        return r.success ? { ok: true, value: r.output } : { ok: false, error: r.issues[0].message };
      },
      split: (p, chunks) => Array.from({ length: chunks }, (_, i) => ({ n: i < p.n ? i : 0 })),
      validateTaskParams: (raw) => {
        const r = v.safeParse(schema, raw);
        return r.success ? { ok: true, value: r.output } : { ok: false, error: r.issues[0].message };
      },
      run: (t) => t.n * t.n,
      validateResult: (raw) => (typeof raw === 'number' ? { ok: true, value: raw } : { ok: false, error: 'not a number' }),
      merge: (r) => r.reduce((a, b) => a + b, 0),
    });
    const job = registry.prepareJob({ kind: 'square-sum', params: { n: 10 } });
    expect(job.ok && job.value.tasks).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
  });
});
