import { expect } from 'vitest';
import type { NodeId } from '../../../src/core/types.ts';
import { simTest } from '../../sim/seed.ts';
import { StealScenario, mixedDurations } from './scenario.ts';

for (const redundancy of [2, 3]) {
  simTest(`verified mode (r = ${redundancy}) catches a Byzantine worker's wrong results and stops giving it work`, (seed) => {
    const liar = 'n3' as NodeId;
    const s = new StealScenario({ seed, nodes: 6, behaviour: (id) => (id === liar ? 'wrong-results' : 'honest') });
    const home = s.ids[0] as NodeId;
    const durations = mixedDurations(60, seed);
    const jobId = s.submit(home, durations, { redundancy });
    const view = s.runUntilFinished(home, jobId, 180_000);
    s.expectExactlyOnce(home, jobId, durations);
    // Every accepted task was agreed by r distinct nodes, none of them the liar.
    for (const e of s.events) {
      if (e.event.kind !== 'task-accepted') continue;
      expect(new Set(e.event.nodes).size).toBe(redundancy);
      expect(e.event.nodes).not.toContain(liar);
    }
    // The liar was caught (it got work before it was found out), reported, and blocklisted.
    const wrong = s.events.filter((e) => e.event.kind === 'wrong-result').map((e) => (e.event as { node: NodeId }).node);
    expect(wrong.length).toBeGreaterThan(0);
    expect(new Set(wrong)).toEqual(new Set([liar]));
    expect(s.cluster.node(home).core.view().blocklist).toEqual([liar]);
    expect(view!.shares[liar]).toBeUndefined();
    // Once blocklisted it is given no more of this home's work: no steal grant, no shed.
    const caughtAt = s.events.find((e) => e.event.kind === 'node-blocklisted' && e.id === home)!.at;
    const givenLater = s.events.filter((e) => e.id === home && e.at > caughtAt && e.event.kind === 'gave' && e.event.to === liar);
    expect(givenLater).toEqual([]);
    expect(s.cluster.node(home).core.view().counters.wrongResults).toBe(wrong.length);
  });
}

simTest('with r = 2 each task runs on two distinct nodes, even when one node holds both copies first', (seed) => {
  const s = new StealScenario({ seed, nodes: 3, workers: 1 });
  const home = s.ids[0] as NodeId;
  const durations = Array.from({ length: 20 }, () => 300);
  const jobId = s.submit(home, durations, { redundancy: 2 });
  s.runUntilFinished(home, jobId, 120_000);
  s.expectExactlyOnce(home, jobId, durations);
  for (const e of s.events) if (e.event.kind === 'task-accepted') expect(new Set(e.event.nodes).size).toBe(2);
  // Shares count each agreeing node: 2 per task.
  const shares = s.job(home, jobId)!.shares;
  expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBe(40);
});
