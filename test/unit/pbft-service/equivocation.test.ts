// A fix in the core found while integrating it: an equivocating primary used to back the first
// of its two pre-prepares with its own commit, so with n = 4 the larger half (2 backups) and the
// primary made a quorum, the equivocation went unnoticed and no view change ever happened — the
// browser demo ("make the primary equivocate → a view change, the others still commit") could
// not show anything. Now it commits neither version; the honest replicas must change view,
// commit every request and agree on the log.
import { describe, expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import { nid, scenario } from '../../core/pbft/scenario.ts';

describe('an equivocating primary, n = 4', () => {
  simTest(
    'is replaced by a view change, and the three honest replicas commit every request alike',
    (seed) => {
      const s = scenario({ seed, nodes: 4, byzantine: { n0: 'equivocate' } });
      s.watchSafety();
      s.cluster.runFor(200);
      const honest = [nid('n1'), nid('n2'), nid('n3')];
      // One request at a time, as a person proposing from a tab would.
      for (let i = 0; i < 4; i++) s.waitResults(s.submitMany([honest[i % 3]!], 1, `p${i}`), 20_000);
      s.waitConverged(honest, 10_000);
      s.checkSafety();
      const views = honest.map((id) => s.cluster.node(id).core.view());
      for (const v of views) {
        expect(v.viewChanges).toBeGreaterThanOrEqual(1);
        expect(v.primary).not.toBe(nid('n0'));
        expect(v.log.map((e) => e.op)).toEqual(views[0]!.log.map((e) => e.op));
      }
      expect(views[0]!.log.filter((e) => e.op.kind === 'decision')).toHaveLength(4);
    },
    { seeds: 3, longSeeds: 30 },
  );
});
