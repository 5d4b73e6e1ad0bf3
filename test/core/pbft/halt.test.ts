// More than f faulty replicas: pBFT cannot stay live, but honest replicas must not commit
// anything that was not agreed, and they must say why they stopped. Once enough replicas are
// honest again, the same run goes on.
import { describe, expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import type { ByzantineMode } from '../../../src/core/pbft/byzantine.ts';
import type { PbftUiEvent } from '../../../src/core/pbft/types.ts';
import { nid, scenario } from './scenario.ts';

describe('more than f faulty', () => {
  const mixes: Array<[string, Record<string, ByzantineMode>]> = [
    ['both silent', { n1: 'silent', n2: 'silent' }],
    ['both voting for wrong digests', { n1: 'wrong-digest', n2: 'wrong-digest' }],
    ['one silent, one voting for wrong digests', { n1: 'wrong-digest', n2: 'silent' }],
  ];
  for (const [what, byzantine] of mixes) {
    simTest(
      `two of four replicas faulty (${what}): nothing commits, the honest ones say why, then recover`,
      (seed) => {
        const s = scenario({ seed, nodes: 4, events: true, byzantine, timing: { clientTimeoutMs: 600_000 } });
        s.watchSafety();
        const honest = [nid('n0'), nid('n3')];
        const tags = s.submitMany(honest, 4, 'halted');
        s.cluster.runFor(20_000);
        expect(s.okTags().size).toBe(0);
        for (const id of honest) {
          const v = s.cluster.node(id).core.view();
          expect(v.lastCommitted).toBe(0);
          expect(v.stalled).toMatch(/more than f = 1 of 4 replicas may be faulty or cut off/);
        }
        const stalled = s.world.events.filter((e) => (e.event as PbftUiEvent).type === 'stalled' && honest.includes(e.id));
        expect(stalled.length).toBeGreaterThan(0);
        // One of them turns honest again: f = 1 faulty remain, so the requests commit.
        s.cluster.act(nid('n1'), (node, now) => node.setByzantine(now, null));
        s.waitResults(tags, 120_000);
        s.waitConverged([...honest, nid('n1')], 20_000);
        s.checkSafety();
      },
      { seeds: 1, longSeeds: 10 },
    );
  }
});
