// The VOPR's CI seeds: whole rooms of real nodes (NodeRuntime + every default service) under
// the faults each seed draws, safety checked throughout, liveness after the heal. A seed that
// once failed stays here once fixed. Replay any of them with `npm run vopr -- --seed N --ticks T`.
// docs/simulation.md.
import { describe, expect, it } from 'vitest';
import { runVopr, type VoprResult } from './vopr/run.ts';

/** Short runs: 20 virtual seconds of faults, then the heal. */
const ticks = 200;
const ciSeeds = [1, 2, 3, 5, 8, 13];

const verdict = (r: VoprResult): string =>
  [`seed ${r.seed} (trace ${r.traceHash}): ${r.liveness.summary}`, ...r.plan, ...r.failures, `replay: npm run vopr -- --seed ${r.seed} --ticks ${ticks}`].join('\n');

describe('VOPR: whole rooms of real nodes under seeded faults', () => {
  for (const seed of ciSeeds) {
    it(`seed ${seed}: safe throughout, live after the heal`, async () => {
      const result = await runVopr({ seed, ticks });
      expect(result.failures, verdict(result)).toEqual([]);
      expect(result.ok).toBe(true);
      // The run did something: nodes linked, consensus committed what users proposed.
      expect(result.figures.linksUp).toBeGreaterThan(0);
      expect(result.figures.acked).toBeGreaterThan(0);
    }, 60_000);
  }

  it('replays: the same seed gives the same trace hash, another seed another', async () => {
    const a = await runVopr({ seed: 4, ticks: 60 });
    const b = await runVopr({ seed: 4, ticks: 60 });
    const c = await runVopr({ seed: 6, ticks: 60 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 60_000);
});
