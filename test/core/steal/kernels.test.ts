// The core and the real kernels together, as the tab runtime wires them: the registry
// prepares jobs, a node's workers run tasks through registry.runTask, homes check peers'
// results with registry.checkResult and compare digests, and the job's answer comes from
// registry.mergeResults(core.jobOutput(id)).
import { describe, expect, it } from 'vitest';
import { createKindRegistry } from '../../../src/compute/kernels/builtins.ts';
import { digestResult } from '../../../src/compute/kernels/digest.ts';
import type { MandelbrotImage } from '../../../src/compute/kernels/mandelbrot.ts';
import { noDeadline } from '../../../src/compute/kernels/registry.ts';
import type { JsonValue } from '../../../src/core/steal/json.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { Harness } from './harness.ts';

const registry = createKindRegistry();
const options = {
  kinds: registry.names(),
  digest: digestResult,
  resultLimitBytes: (kind: string) => registry.get(kind)?.maxResultBytes ?? 0,
  checkResult: (kind: string, result: JsonValue, params: JsonValue) => {
    const checked = registry.checkResult(kind, result, params);
    return checked.ok ? null : checked.error;
  },
};

function mesh(n: number) {
  const h = new Harness();
  const ids = Array.from({ length: n }, (_, i) => h.add(`k${i}`, { ...options, workers: 2 }));
  h.advance(300);
  return { h, ids };
}

function submit(h: Harness, home: NodeId, request: { kind: string; params?: unknown; chunks?: number }, redundancy = 1) {
  const prepared = registry.prepareJob(request);
  if (!prepared.ok) throw new Error(prepared.error);
  const { kind, params, tasks, costs } = prepared.value;
  h.step(home, { type: 'submit', job: { kind, params: params as JsonValue, tasks, costs, redundancy } });
  h.advance(300);
  return h.core(home).view().jobs.at(-1)!.id;
}

/** Runs tasks through the registry, like a kernel worker does, until the home's job ends. */
function compute(h: Harness, home: NodeId, jobId: string, rounds = 2_000): void {
  const open = () =>
    ['queued', 'running'].includes(
      h
        .core(home)
        .view()
        .jobs.find((j) => j.id === jobId)?.status ?? '',
    );
  for (let i = 0; i < rounds && open(); i++) {
    const run = h.runs[0];
    if (!run) {
      h.advance(200);
      continue;
    }
    const outcome = registry.runTask(run.task.kind, run.task.params, noDeadline);
    h.finish(run, outcome.ok ? { ok: true, value: outcome.result } : { ok: false, error: outcome.error });
    if (i % 4 === 3) h.advance(50);
  }
}

function answer(h: Harness, home: NodeId, jobId: string): unknown {
  const output = h.core(home).jobOutput(jobId);
  if (!output) throw new Error(`job ${jobId} has no output`);
  const merged = registry.mergeResults(output.kind, output.params, output.tasks, output.results);
  if (!merged.ok) throw new Error(merged.error);
  return merged.value;
}

describe('real kernels on the stealing core', () => {
  it('counts primes across three nodes', () => {
    const { h, ids } = mesh(3);
    const jobId = submit(h, ids[0]!, { kind: 'primes', params: { to: 3_000_000 }, chunks: 24 });
    compute(h, ids[0]!, jobId);
    expect(answer(h, ids[0]!, jobId)).toEqual({ from: 0, to: 3_000_000, count: 216_816 });
    const shares = h.core(ids[0]!).view().jobs[0]!.shares;
    expect(Object.keys(shares).length).toBeGreaterThan(1);
  });

  it('renders a Mandelbrot image in verified mode: every tile agreed by two nodes, the image complete', () => {
    const { h, ids } = mesh(3);
    const jobId = submit(h, ids[1]!, { kind: 'mandelbrot', params: { width: 128, height: 96, tileSize: 32, maxIterations: 200 } }, 2);
    compute(h, ids[1]!, jobId);
    const image = answer(h, ids[1]!, jobId) as MandelbrotImage;
    expect(image.pixels).toHaveLength(128 * 96 * 4);
    for (const e of h.eventsOf('task-accepted')) expect(new Set(e.nodes).size).toBe(2);
    expect(h.eventsOf('wrong-result')).toEqual([]);
  });

  it('refuses a well-formed but forged proof-of-work answer from a peer and retries the task', () => {
    const { h, ids } = mesh(2);
    const [home, peer] = ids as [NodeId, NodeId];
    const jobId = submit(h, home, { kind: 'proof-of-work', params: { prefix: 'x', difficultyBits: 8, maxNonce: 4096 }, chunks: 4 });
    const held = h.runs.find((r) => r.node === peer);
    expect(held).toBeDefined();
    const { start, end } = held!.task.params as { start: number; end: number };
    h.finish(held!, { ok: true, value: { start, end, nonce: start, hash: '0'.repeat(64), tried: 1 } });
    expect(h.core(home).view().refusals['bad-result']).toBe(1);
    expect(h.eventsOf('task-retry')[0]?.reason).toMatch(/does not meet 8 zero bits/);
    compute(h, home, jobId);
    const pow = answer(h, home, jobId) as { found: boolean; nonce: number };
    expect(pow.found).toBe(true);
  });
});
