// Each Byzantine behaviour with at most f faulty replicas, on the seeded simulator: honest
// replicas never execute different batches at one sequence number (checked all along), every
// request from an honest node commits, and the misbehaviour is seen and counted.
import { describe, expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import type { ByzantineMode } from '../../../src/core/pbft/byzantine.ts';
import { rejectedTotal, scenario, type Scenario } from './scenario.ts';

interface Case {
  mode: ByzantineMode;
  /** What an honest replica (or its runtime) must have noticed. */
  noticed: (s: Scenario) => number;
}

const cases: Case[] = [
  { mode: 'silent', noticed: (s) => viewChanges(s) },
  { mode: 'equivocate', noticed: (s) => rejectedTotal(s, s.honest(), 'conflict') + viewChanges(s) },
  { mode: 'wrong-digest', noticed: (s) => rejectedTotal(s, s.honest(), 'wrong-digest') },
  { mode: 'forge', noticed: (s) => s.world.refusedCount('bad-signature') },
  {
    mode: 'replay',
    noticed: (s) =>
      ['duplicate', 'stale', 'old-view', 'outside-watermarks', 'stale-request', 'old-epoch'].reduce((t, r) => t + rejectedTotal(s, s.honest(), r), 0),
  },
  { mode: 'delay', noticed: (s) => viewChanges(s) + rejectedTotal(s, s.honest(), 'old-view') + rejectedTotal(s, s.honest(), 'duplicate') },
];

function viewChanges(s: Scenario): number {
  return Math.max(...s.honestUp().map((id) => s.cluster.node(id).core.view().stats.viewChangesStarted));
}

function run(seed: number, n: number, faulty: string[], mode: ByzantineMode, noticed: Case['noticed']) {
  const s = scenario({ seed, nodes: n, byzantine: Object.fromEntries(faulty.map((id) => [id, mode])), network: { lossRate: 0.02 } });
  s.watchSafety();
  s.cluster.runFor(200);
  const honest = s.honest();
  const tags = s.submitMany(honest, 24, mode);
  s.waitResults(tags, 40_000);
  const more = s.submitMany(honest, 8, `${mode}-late`);
  s.waitResults(more, 40_000);
  s.waitConverged(honest, 10_000);
  s.checkSafety();
  expect(noticed(s)).toBeGreaterThan(0);
  // Honest replicas agree on the state too (same checkpointed key–value store and log tail).
  const logs = honest.map((id) => JSON.stringify(s.cluster.node(id).core.view().log));
  expect(new Set(logs).size).toBe(1);
}

describe('Byzantine primary, n = 4 (f = 1)', () => {
  for (const c of cases) {
    simTest(`${c.mode}: honest replicas stay safe and live`, (seed) => run(seed, 4, ['n0'], c.mode, c.noticed), { seeds: 2, longSeeds: 20 });
  }
});

describe('two Byzantine replicas (primary and a backup), n = 7 (f = 2)', () => {
  for (const c of cases) {
    simTest(`${c.mode}: honest replicas stay safe and live`, (seed) => run(seed, 7, ['n0', 'n3'], c.mode, c.noticed), { seeds: 1, longSeeds: 10 });
  }
});
