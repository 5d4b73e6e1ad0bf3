// The VOPR's CI seeds: whole rooms of real nodes (NodeRuntime + every default service) under
// the faults each seed draws, safety checked throughout, liveness after the heal. A seed that
// once failed stays here once fixed. Replay any of them with `npm run vopr -- --seed N --ticks T`.
// docs/simulation.md.
import { describe, expect, it } from 'vitest';
import { runVopr, type VoprResult } from './vopr/run.ts';

/** Short runs: 15 virtual seconds of faults, then the heal. */
const ticks = 150;
// 4 and 20 failed before the genesis fixes (docs/simulation.md, "What it found", 2 and 3); 38
// before the heal check waited for every honest node to commit the newest acknowledged operation;
// 47 (on 0da6498's schedule) before anti-entropy repaired a write altered by a relay ("What it found", 6);
// 98 and 115 before the founding rule counted dead-but-listed nodes and frozen nodes waited again (9);
// 225 before the overlay service decoded an advert before building its signing text (10);
// 280 before founding needed a direct link whenever others were in the room (10).
const ciSeeds = [4, 11, 13, 14, 17, 18, 20, 38, 47, 98, 115, 225, 280];
/**
 * Seeds that fail today, each on a finding written up in docs/simulation.md ("What it found"),
 * to move into the CI tests once fixed. They are not run here, because CI must pass.
 */
export const failingSeeds: ReadonlyArray<{ seed: number; ticks: number }> = [];

const verdict = (r: VoprResult, runTicks = ticks): string =>
  [
    `seed ${r.seed} (trace ${r.traceHash}): ${r.liveness.summary}`,
    ...r.plan,
    ...r.failures,
    `replay: npm run vopr -- --seed ${r.seed} --ticks ${runTicks}`,
  ].join('\n');

describe('VOPR: whole rooms of real nodes under seeded faults', () => {
  for (const seed of ciSeeds) {
    it(`seed ${seed}: safe throughout, live after the heal`, async () => {
      const result = await runVopr({ seed, ticks });
      expect(result.failures, verdict(result)).toEqual([]);
      expect(result.ok).toBe(true);
      // The run did something: nodes linked, consensus committed what users proposed.
      expect(result.figures.linksUp).toBeGreaterThan(0);
      expect(result.figures.acked).toBeGreaterThan(0);
    }, 120_000);
  }

  // Found by the VOPR, fixed in src/core/pbft (a replica never leaves its view alone): before
  // the fix, one replica sat alone in view 1 after the heal, 'changing to view 1 with 1 of the
  // 6 view-change messages needed', while the other eight went on in view 0.
  it('seed 10 (400 ticks): no replica is left alone in a higher view after the heal', async () => {
    const result = await runVopr({ seed: 10, ticks: 400 });
    expect(result.failures, verdict(result, 400)).toEqual([]);
    expect(result.ok).toBe(true);
  }, 180_000);

  // Found by the VOPR, fixed in the VOPR's observer: every honest node's log tail (64 entries)
  // moved past seqs 88–91 between two samples a second apart after the heal, so the operations
  // acknowledged there could not be verified. Sampled every tick after the heal too, the same
  // run (same trace hash) verifies them all.
  it('seed 16 (400 ticks): every acknowledged operation is found in the honest logs', async () => {
    const result = await runVopr({ seed: 16, ticks: 400 });
    expect(result.failures, verdict(result, 400)).toEqual([]);
    expect(result.ok).toBe(true);
  }, 180_000);

  it('replays: the same seed gives the same trace hash, another seed another', async () => {
    const a = await runVopr({ seed: 4, ticks: 60 });
    const b = await runVopr({ seed: 4, ticks: 60 });
    const c = await runVopr({ seed: 6, ticks: 60 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 120_000);
});
