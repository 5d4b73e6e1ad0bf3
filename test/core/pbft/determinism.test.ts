// One seed, one run: a pBFT scenario with faults replays exactly (same trace hash, same logs),
// which is what makes a printed SEED enough to reproduce a failure.
import { expect, test } from 'vitest';
import { nid, scenario } from './scenario.ts';

function run(seed: number) {
  const s = scenario({ seed, nodes: 4, byzantine: { n2: 'delay' }, network: { lossRate: 0.05, reorderRate: 0.1 } });
  const tags = s.submitMany(s.ids.slice(1), 12, 'det'); // not from n0, whose client dies in the crash
  s.cluster.runFor(1_000);
  s.cluster.crash(nid('n0'));
  s.cluster.runFor(3_000);
  s.cluster.restart(nid('n0'));
  s.waitResults(tags, 30_000);
  return { hash: s.cluster.traceHash(), log: JSON.stringify(s.cluster.node(nid('n1')).core.view().log) };
}

test('the same seed gives the same run; another seed a different one', () => {
  const a = run(5);
  const b = run(5);
  expect(b).toEqual(a);
  expect(run(6).hash).not.toBe(a.hash);
});
