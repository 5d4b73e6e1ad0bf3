// Crashes, restarts from storage, partitions and a hostile network, on the seeded simulator.
// Safety is checked all along (including that no node ever executes something different at a
// sequence number after a restart); liveness once the network is whole again.
import { describe, expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import { describeNodes, eventually, nid, scenario } from './scenario.ts';

describe('crash and restart', () => {
  simTest('the primary crashes: a view change installs a new one and every request commits', (seed) => {
    const s = scenario({ seed, nodes: 4 });
    s.watchSafety();
    const warm = s.submitMany(s.ids, 8, 'warm');
    s.waitResults(warm, 5_000);
    const primary = s.cluster.node(nid('n1')).core.view().primary;
    s.cluster.crash(primary);
    const others = s.ids.filter((id) => id !== primary);
    const tags = s.submitMany(others, 12, 'after');
    s.waitResults(tags, 30_000);
    for (const id of others) expect(s.cluster.node(id).core.view().view).toBeGreaterThan(0);
    // The old primary comes back from its disk and catches up without changing anything it executed.
    s.cluster.restart(primary);
    const late = s.submitMany(others, 4, 'late');
    s.waitResults(late, 30_000);
    s.waitConverged(s.ids, 15_000);
    s.checkSafety();
  });

  simTest(
    'a replica slow to catch up after a restart waits for the group instead of going alone into a view change',
    (seed) => {
      const s = scenario({ seed, nodes: 4 });
      s.watchSafety();
      s.waitResults(s.submitMany(s.ids, 8, 'warm'), 5_000);
      const primary = s.cluster.node(nid('n0')).core.view().primary;
      const victim = s.ids.find((id) => id !== primary)!;
      const others = s.ids.filter((id) => id !== victim);
      s.cluster.crash(victim);
      s.waitResults(s.submitMany(others, 60, 'while-down'), 20_000);
      // Back from its disk on a loaded machine: what it receives takes 0.2–1.5 s and comes out of
      // order, so catching up takes longer than its 1 s request timer while requests keep coming.
      s.cluster.restart(victim);
      for (const id of others) s.cluster.network.setLink(id, victim, { latency: { minMs: 200, maxMs: 1_500 } });
      const busy: string[] = [];
      for (let round = 0; round < 12; round++) {
        busy.push(...s.submitMany(s.ids, 4, `busy-${round}`));
        s.cluster.runFor(500);
      }
      const late = s.cluster.node(victim).core.view();
      expect(late.stats.viewChangesStarted, describeNodes(s)).toBe(0);
      for (const id of others) s.cluster.network.clearLink(id, victim);
      s.waitResults(busy, 30_000);
      s.waitConverged(s.ids, 15_000);
      expect(new Set(s.ids.map((id) => s.cluster.node(id).core.view().view)).size).toBe(1);
      s.checkSafety();
    },
    { seeds: 3, longSeeds: 30 },
  );

  simTest(
    'replicas crash and restart one after another, losing unflushed writes; nothing executed changes',
    (seed) => {
      const s = scenario({ seed, nodes: 4, network: { lossRate: 0.02 } });
      s.watchSafety(100);
      const victims = Array.from({ length: 6 }, (_, round) => s.ids[(seed + round) % 4] ?? s.ids[0]!);
      // A client lives in its node's memory: operations of a node that crashes later may be lost
      // with it, so only those of nodes that stay up afterwards must complete.
      const mustCommit: string[] = [];
      for (let round = 0; round < 6; round++) {
        const victim = victims[round]!;
        const senders = s.ids.filter((id) => id !== victim);
        for (const [i, tag] of s.submitMany(senders, 6, `r${round}`).entries()) {
          if (!victims.slice(round + 1).includes(senders[i % senders.length]!)) mustCommit.push(tag);
        }
        s.cluster.runFor(150);
        s.cluster.crash(victim, { partialFlush: true });
        s.cluster.runFor(1_500);
        s.cluster.restart(victim);
        s.cluster.runFor(500);
      }
      expect(mustCommit.length).toBeGreaterThan(10);
      s.waitResults(mustCommit, 40_000);
      s.waitConverged(s.ids, 20_000);
      s.checkSafety();
    },
    { seeds: 3, longSeeds: 30 },
  );

  simTest('every replica crashes at once: all restart from disk with the same log and continue', (seed) => {
    const s = scenario({ seed, nodes: 4 });
    s.watchSafety();
    const tags = s.submitMany(s.ids, 20, 'before');
    s.waitResults(tags, 10_000);
    s.waitConverged(s.ids, 5_000);
    const logBefore = JSON.stringify(s.cluster.node(nid('n2')).core.view().log);
    for (const id of s.ids) s.cluster.crash(id);
    s.cluster.runFor(1_000);
    for (const id of s.ids) s.cluster.restart(id);
    for (const id of s.ids) expect(JSON.stringify(s.cluster.node(id).core.view().log)).toBe(logBefore);
    const after = s.submitMany(s.ids, 10, 'after');
    s.waitResults(after, 20_000);
    s.checkSafety();
  });
});

describe('slow disks', () => {
  simTest(
    'writes take 15 ms and crashes hit in between: a vote that never reached the disk was never sent',
    (seed) => {
      const s = scenario({ seed, nodes: 4, flushDelayMs: 15 });
      s.watchSafety(100);
      const victims = Array.from({ length: 5 }, (_, round) => s.ids[(seed + round) % 4]!);
      const mustCommit: string[] = [];
      for (let round = 0; round < 5; round++) {
        const sender = s.ids.find((id) => id !== victims[round])!;
        const tags = s.submitMany([sender], 3, `r${round}`);
        // A client dies with its node: only count operations of nodes that stay up afterwards.
        if (!victims.slice(round + 1).includes(sender)) mustCommit.push(...tags);
        s.cluster.runFor(30 + round * 7);
        s.cluster.crash(victims[round]!, { partialFlush: true });
        s.cluster.runFor(800);
        s.cluster.restart(victims[round]!);
        s.cluster.runFor(400);
      }
      s.waitResults(mustCommit, 40_000);
      s.waitConverged(s.ids, 20_000);
      s.checkSafety();
    },
    { seeds: 3, longSeeds: 30 },
  );
});

describe('partitions', () => {
  simTest(
    'a replica cut off long enough to time out alone only suspects the primary: it stays in the view, follows the log after the heal, and takes part in the next view change',
    (seed) => {
      const s = scenario({ seed, nodes: 4 });
      s.watchSafety();
      const [n0, n1, n2, n3] = s.ids as [ReturnType<typeof nid>, ReturnType<typeof nid>, ReturnType<typeof nid>, ReturnType<typeof nid>];
      s.cluster.network.partition([n0, n1, n2], [n3]);
      // n3's own client keeps asking it: its timer fires, it wants view 1, alone. It says so
      // (suspect) but, without f + 1 = 2 replicas wanting a later view, stays in view 0: gone
      // into view 1 alone, it could never come back to vote in view 0 (view-change.ts).
      s.submit(n3, { kind: 'decision', value: 'from the island' }, 'island');
      const tags = s.submitMany([n0, n1, n2], 12, 'main');
      s.cluster.runFor(6_000);
      const island = s.cluster.node(n3).core.view();
      expect(island).toMatchObject({ mode: 'normal', view: 0 });
      expect(island.stats.suspicions).toBeGreaterThan(0);
      expect(island.stats.viewChangesStarted).toBe(0);
      expect(s.cluster.node(n0).core.view()).toMatchObject({ mode: 'normal', view: 0 });
      s.cluster.network.heal();
      s.waitResults([...tags, 'island'], 20_000);
      s.waitConverged(s.ids, 10_000);
      // The next view change (the primary crashes) brings n3 back as a voting replica.
      s.cluster.crash(n0);
      const later = s.submitMany([n1, n2, n3], 6, 'after');
      s.waitResults(later, 30_000);
      expect(s.cluster.node(n3).core.view().mode).toBe('normal');
      s.checkSafety();
    },
  );

  simTest('a cut-off replica misses two checkpoints, then catches up by state transfer after the heal', (seed) => {
    const s = scenario({ seed, nodes: 4 });
    s.watchSafety();
    const [n0, n1, n2, n3] = s.ids as [ReturnType<typeof nid>, ReturnType<typeof nid>, ReturnType<typeof nid>, ReturnType<typeof nid>];
    s.cluster.network.partition([n0, n1, n2], [n3]);
    for (let i = 0; i < 40; i++) {
      s.submit(s.ids[i % 3]!, { kind: 'kv-set', key: `k${i % 7}`, value: i }, `p${i}`);
      s.cluster.runFor(40);
    }
    s.waitResults(
      Array.from({ length: 40 }, (_, i) => `p${i}`),
      20_000,
    );
    expect(s.cluster.node(n3).core.view().lastCommitted).toBe(0);
    s.cluster.network.heal();
    s.waitConverged(s.ids, 15_000);
    const v3 = s.cluster.node(n3).core.view();
    expect(v3.stats.stateTransfers).toBeGreaterThan(0);
    expect(s.cluster.node(n3).core.kvGet('k6')).toBe(s.cluster.node(n0).core.kvGet('k6'));
    const more = s.submitMany([n3], 3, 'from-n3');
    s.waitResults(more, 15_000);
    s.checkSafety();
  });

  simTest('a split with no quorum on either side commits nothing and halts safely; the heal brings liveness back', (seed) => {
    const s = scenario({ seed, nodes: 4 });
    s.watchSafety();
    s.cluster.network.partition([nid('n0'), nid('n1')], [nid('n2'), nid('n3')]);
    const tags = s.submitMany(s.ids, 8, 'split');
    s.cluster.runFor(12_000);
    expect(s.okTags().size).toBe(0);
    for (const id of s.ids) expect(s.cluster.node(id).core.view().lastCommitted).toBe(0);
    expect(s.ids.some((id) => s.cluster.node(id).core.view().stalled !== null)).toBe(true);
    s.cluster.network.heal();
    s.waitResults(tags, 90_000);
    s.waitConverged(s.ids, 10_000);
    s.checkSafety();
  });

  simTest(
    'repeated partitions of random minorities while clients keep submitting',
    (seed) => {
      const s = scenario({ seed, nodes: 7 });
      s.watchSafety();
      const tags: string[] = [];
      for (let round = 0; round < 5; round++) {
        const cut = s.ids.filter((_, i) => (i + round + seed) % 7 < 2); // two of seven (f = 2)
        s.cluster.network.partition(
          s.ids.filter((id) => !cut.includes(id)),
          cut,
        );
        tags.push(
          ...s.submitMany(
            s.ids.filter((id) => !cut.includes(id)),
            5,
            `round${round}`,
          ),
        );
        s.cluster.runFor(2_000);
        s.cluster.network.heal();
        s.cluster.runFor(300);
      }
      s.waitResults(tags, 60_000);
      s.waitConverged(s.ids, 20_000);
      s.checkSafety();
    },
    { seeds: 2, longSeeds: 20 },
  );
});

describe('a hostile network', () => {
  simTest('10 % loss, 10 % duplicates, 20 % reordering: everything commits once, in one order everywhere', (seed) => {
    const s = scenario({ seed, nodes: 4, network: { lossRate: 0.1, duplicateRate: 0.1, reorderRate: 0.2 } });
    s.watchSafety();
    const tags = s.submitMany(s.ids, 40, 'lossy');
    s.waitResults(tags, 60_000);
    s.waitConverged(s.ids, 20_000);
    s.checkSafety();
    // Each operation was executed exactly once (the log holds each tag once).
    const executed = s.cluster
      .node(nid('n0'))
      .core.view()
      .log.map((e) => (e.op.kind === 'decision' ? e.op.value : null));
    expect(new Set(executed).size).toBe(executed.length);
    eventually(s.cluster, 'nothing pending', () => s.ids.every((id) => s.cluster.node(id).core.view().pendingRequests === 0) || describeNodes(s), {
      withinMs: 10_000,
    });
  });
});
