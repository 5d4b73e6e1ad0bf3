// The chaos run's adversary (chaos/schedule.ts): the same seed gives the same schedule, and
// every schedule keeps the rules the run's safety argument rests on — at most f Byzantine tabs,
// no kill, crash or reload while f are Byzantine, kills never aimed at a Byzantine tab — and
// tries every kind of fault. fast-check prints the seed of any counterexample.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  byzantineAfterEach,
  describeAction,
  faultsTolerated,
  makeSchedule,
  maxChaosTabs,
  minChaosTabs,
  requiredKinds,
  type ChaosSchedule,
} from '../../../chaos/schedule.ts';

const seeds = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const tabs = fc.integer({ min: minChaosTabs, max: maxChaosTabs });

function rulesBroken(s: ChaosSchedule): string[] {
  const broken: string[] = [];
  const after = byzantineAfterEach(s.actions);
  let before: number[] = [];
  s.actions.forEach((a, i) => {
    const now = after[i] as number[];
    if (now.length > s.f) broken.push(`${describeAction(a)}: ${now.length} Byzantine > f = ${s.f}`);
    if (a.kind === 'kill' || a.kind === 'crash' || a.kind === 'reload') {
      if (before.length >= s.f) broken.push(`${describeAction(a)} while ${before.length} tabs are Byzantine (f = ${s.f})`);
      if (before.includes(a.tab)) broken.push(`${describeAction(a)} aims at a Byzantine tab`);
    }
    if (a.kind === 'byzantine' && before.includes(a.tab)) broken.push(`${describeAction(a)}: already Byzantine`);
    if (a.kind === 'byzantine' && a.tab < s.tabs - s.f) broken.push(`${describeAction(a)}: not one of the last f positions`);
    if (a.kind === 'honest' && !before.includes(a.tab)) broken.push(`${describeAction(a)}: was not Byzantine`);
    if ('tab' in a && (a.tab < 0 || a.tab >= s.tabs)) broken.push(`${describeAction(a)}: no such tab`);
    if (a.atMs < 0 || a.atMs > s.durationMs) broken.push(`${describeAction(a)}: outside the run`);
    if (i > 0 && a.atMs < (s.actions[i - 1]?.atMs ?? 0)) broken.push(`${describeAction(a)}: out of order`);
    before = now;
  });
  if ((after[after.length - 1] ?? []).length > 0) broken.push('the run ends with Byzantine tabs');
  return broken;
}

describe('chaos schedule', () => {
  test('the same seed gives the same schedule; another seed another one', () => {
    const a = makeSchedule({ seed: 42, tabs: 7, durationMs: 600_000 });
    expect(makeSchedule({ seed: 42, tabs: 7, durationMs: 600_000 })).toEqual(a);
    expect(makeSchedule({ seed: 43, tabs: 7, durationMs: 600_000 }).actions).not.toEqual(a.actions);
  });

  test('f is ⌊(n−1)/3⌋ of the tabs', () => {
    expect([4, 5, 6, 7, 8].map((n) => makeSchedule({ seed: 1, tabs: n, durationMs: 60_000 }).f)).toEqual([1, 1, 1, 2, 2]);
    expect(faultsTolerated(3)).toBe(0);
    expect(faultsTolerated(10)).toBe(3);
  });

  test('every schedule keeps the Byzantine bound and never kills while f tabs are Byzantine', () => {
    fc.assert(
      fc.property(seeds, tabs, fc.integer({ min: 30, max: 900 }), fc.boolean(), (seed, n, durationS, quick) => {
        const s = makeSchedule({ seed, tabs: n, durationMs: durationS * 1000, quick });
        expect(rulesBroken(s)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('the short form tries every kind of fault, Byzantine up to f, and a long run reaches f Byzantine at once', () => {
    fc.assert(
      fc.property(seeds, fc.integer({ min: 6, max: 8 }), (seed, n) => {
        const quick = makeSchedule({ seed, tabs: n, durationMs: 75_000, quick: true });
        const kinds = new Set(quick.actions.map((a) => a.kind));
        for (const kind of requiredKinds) expect(kinds, `${kind} missing for seed ${seed}`).toContain(kind);
      }),
      { numRuns: 200 },
    );
    const long = makeSchedule({ seed: 7, tabs: 7, durationMs: 600_000 });
    expect(Math.max(...byzantineAfterEach(long.actions).map((b) => b.length))).toBe(2);
  });

  test('the client proposes and submits jobs over the whole run, with picks in [0, 1)', () => {
    const s = makeSchedule({ seed: 9, tabs: 6, durationMs: 75_000, quick: true });
    expect(s.proposals.length).toBeGreaterThan(75 / 0.9 - 10);
    expect(s.jobs.length).toBeGreaterThanOrEqual(5);
    for (const step of [...s.proposals, ...s.jobs]) {
      expect(step.atMs).toBeLessThan(75_000);
      expect(step.pick).toBeGreaterThanOrEqual(0);
      expect(step.pick).toBeLessThan(1);
    }
  });

  test('bad options are refused with the reason', () => {
    expect(() => makeSchedule({ seed: 1, tabs: 3, durationMs: 1_000 })).toThrow(/tabs must be a whole number from 4 to 8/);
    expect(() => makeSchedule({ seed: 1, tabs: 6, durationMs: 0 })).toThrow(/durationMs must be positive/);
  });
});
