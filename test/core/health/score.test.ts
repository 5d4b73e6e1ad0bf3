// The coordination score: what a person reading the dashboard expects of it.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { FaultWindow, faultWindowMs, healthScore, healthWeights, maxFaultSamples, type HealthInputs } from '../../../src/core/health/index.ts';

const healthy: HealthInputs = {
  mesh: { links: 3, nodes: 4, partitionRisk: 0 },
  consensus: { status: 'replica', mode: 'normal', halted: null, replicas: 4, f: 1 },
  gossip: { peerAgreement: 1, alive: 4, suspect: 0 },
  loadVariance: 0,
  faults: { refused: 0, viewChanges: 0, suspicions: 0 },
};

describe('health score', () => {
  test('weights sum to 1 and a healthy mesh scores 1 with every share at its weight', () => {
    expect(Object.values(healthWeights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const report = healthScore(healthy);
    expect(report.score).toBe(1);
    expect(report.components).toEqual(healthWeights);
  });

  test('a lone tab that just started is healthy but for its forming quorum', () => {
    const report = healthScore({
      ...healthy,
      mesh: { links: 0, nodes: 1, partitionRisk: 0 },
      consensus: { status: 'bootstrapping', mode: 'normal', halted: null, replicas: 0, f: 0 },
      gossip: { peerAgreement: null, alive: 1, suspect: 0 },
    });
    expect(report.values.connectivity).toBe(1);
    expect(report.values.convergence).toBe(1);
    expect(report.values.quorum).toBe(0.5);
    expect(report.score).toBeCloseTo(1 - healthWeights.quorum / 2, 3);
  });

  test('each fault lowers its own component and the score', () => {
    const base = healthScore(healthy).score;
    const cases: Array<[string, Partial<HealthInputs>]> = [
      ['connectivity', { mesh: { links: 1, nodes: 6, partitionRisk: 0.5 } }],
      ['quorum', { consensus: { ...healthy.consensus!, halted: 'more than f replicas silent' } }],
      ['convergence', { gossip: { peerAgreement: 0.5, alive: 3, suspect: 1 } }],
      ['balance', { loadVariance: 4 }],
      ['faults', { faults: { refused: 20, viewChanges: 1, suspicions: 2 } }],
    ];
    for (const [name, change] of cases) {
      const report = healthScore({ ...healthy, ...change });
      expect(report.score, name).toBeLessThan(base);
      expect(report.values[name as keyof typeof report.values], name).toBeLessThan(1);
    }
  });

  test('halted consensus or no consensus at all gives the quorum nothing; a view change half', () => {
    expect(healthScore({ ...healthy, consensus: null }).components.quorum).toBe(0);
    expect(healthScore({ ...healthy, consensus: { ...healthy.consensus!, halted: 'x' } }).components.quorum).toBe(0);
    expect(healthScore({ ...healthy, consensus: { ...healthy.consensus!, mode: 'view-change' } }).values.quorum).toBe(0.5);
  });

  test('the quorum component falls as spare replicas are used up, and near zero without a quorum alive', () => {
    const c = healthy.consensus!;
    const q = (replicasAlive: number, replicas = 7, f = 2) =>
      healthScore({ ...healthy, consensus: { ...c, replicas, replicasAlive, f, quorum: 2 * f + 1 } }).values.quorum;
    expect(q(7)).toBe(1);
    expect(q(6)).toBe(0.875);
    expect(q(5)).toBe(0.75);
    expect(q(4)).toBe(0.25);
    // Three replicas tolerate no fault: all alive is as good as it gets.
    expect(q(3, 3, 0)).toBe(1);
  });

  test('fewer links than 3 are enough when there are fewer other nodes', () => {
    expect(healthScore({ ...healthy, mesh: { links: 1, nodes: 2, partitionRisk: 0 } }).values.connectivity).toBe(1);
    expect(healthScore({ ...healthy, mesh: { links: 1, nodes: 8, partitionRisk: 0 } }).values.connectivity).toBeCloseTo(0.5 + 0.5 / 3, 3);
  });

  test('any input, however odd, gives a score in [0, 1] equal to the sum of the shares', () => {
    const num = fc.oneof(fc.double(), fc.integer({ min: -10, max: 1000 }), fc.constant(Number.NaN), fc.constant(Infinity));
    fc.assert(
      fc.property(
        num,
        num,
        num,
        num,
        num,
        num,
        num,
        num,
        num,
        fc.option(num),
        fc.boolean(),
        (links, nodes, risk, replicas, alive, suspect, variance, refused, vc, agreement, halted) => {
          const report = healthScore({
            mesh: { links, nodes, partitionRisk: risk },
            consensus: { status: 'replica', mode: 'normal', halted: halted ? 'h' : null, replicas, f: 0 },
            gossip: { peerAgreement: agreement, alive, suspect },
            loadVariance: variance,
            faults: { refused, viewChanges: vc, suspicions: 0 },
          });
          expect(report.score).toBeGreaterThanOrEqual(0);
          expect(report.score).toBeLessThanOrEqual(1);
          const sum = Object.values(report.components).reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - report.score)).toBeLessThanOrEqual(0.006);
          for (const v of Object.values(report.values)) expect(v >= 0 && v <= 1).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fault window', () => {
  const totals = (refused: number, viewChanges = 0, suspicions = 0) => ({ refused, viewChanges, suspicions });

  test('counts only what happened in the last minute', () => {
    const w = new FaultWindow();
    w.record(0, totals(5));
    w.record(10_000, totals(5, 1));
    expect(w.recent()).toEqual(totals(0, 1, 0));
    for (let t = 12_000; t <= 10_000 + faultWindowMs + 4_000; t += 2_000) w.record(t, totals(7, 1, 3));
    // The refusals and the view change are more than a minute old; the suspicions are newer.
    expect(w.recent()).toEqual(totals(0, 0, 0));
    w.record(80_000, totals(9, 1, 3));
    expect(w.recent()).toEqual(totals(2, 0, 0));
  });

  test('a counter that went back to zero (a restarted service) is not a negative fault; the samples are capped', () => {
    const w = new FaultWindow();
    w.record(0, totals(50, 3, 3));
    w.record(1_000, totals(0, 0, 0));
    expect(w.recent()).toEqual(totals(0, 0, 0));
    for (let t = 2_000; t < 2_000 + 1_000 * maxFaultSamples; t += 10) w.record(t, totals(1));
    expect(w.size).toBeLessThanOrEqual(maxFaultSamples);
  });

  test('time going backwards and non-finite times are ignored', () => {
    const w = new FaultWindow();
    w.record(5_000, totals(1));
    w.record(4_000, totals(100));
    w.record(Number.NaN, totals(100));
    expect(w.size).toBe(1);
  });
});
