// Membership through consensus: the first node starts alone, others join one by one, leave
// gracefully, or are removed by f + 1 replicas after they died; a cap keeps the rest as
// observers that follow the committed log. Each change takes effect at the boundary the state
// machine defines, in a new epoch, the same on every node.
import { describe, expect } from 'vitest';
import { simTest } from '../../sim/seed.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { eventually, nid, scenario, type Scenario } from './scenario.ts';

function waitReplicaSet(s: Scenario, nodes: readonly NodeId[], want: readonly NodeId[], withinMs: number): void {
  eventually(
    s.cluster,
    `replica set becomes [${want.join(',')}]`,
    () => {
      const wrong = nodes.filter(
        (id) => s.cluster.isUp(id) && JSON.stringify([...s.cluster.node(id).core.view().replicas].sort()) !== JSON.stringify([...want].sort()),
      );
      return wrong.length === 0 ? true : `${wrong.join(',')} see [${wrong.map((id) => s.cluster.node(id).core.view().replicas.join(',')).join('] [')}]`;
    },
    { withinMs, checkEveryMs: 50 },
  );
}

function join(s: Scenario, id: NodeId): string {
  const tag = `join-${id}`;
  s.submit(id, { kind: 'join', node: id }, tag);
  return tag;
}

describe('membership', () => {
  simTest(
    'from one node to seven, joining one by one; every step keeps committing',
    (seed) => {
      const s = scenario({ seed, nodes: 7, genesis: 1 });
      s.watchSafety();
      const joined: NodeId[] = [nid('n0')];
      for (let k = 1; k < 7; k++) {
        const id = nid(`n${k}`);
        s.waitResults([join(s, id)], 20_000);
        joined.push(id);
        waitReplicaSet(s, s.ids, joined, 20_000);
        // The new set orders requests, from old and new members alike.
        const tags = s.submitMany([id, nid('n0')], 2, `with-${k}`);
        s.waitResults(tags, 20_000);
      }
      const v = s.cluster.node(nid('n6')).core.view();
      expect(v).toMatchObject({ role: 'replica', n: 7, f: 2, quorum: 5, epoch: 6 });
      s.waitConverged(s.ids, 10_000);
      s.checkSafety();
      // Every node applied each change at the same sequence number (same epochs, same log).
      expect(new Set(s.ids.map((id) => JSON.stringify(s.cluster.node(id).core.view().log))).size).toBe(1);
    },
    { seeds: 2, longSeeds: 10 },
  );

  simTest('a replica leaves gracefully, a dead one is removed by f + 1 votes; the rest keeps going', (seed) => {
    const s = scenario({ seed, nodes: 7 });
    s.watchSafety();
    const [n0, n1, n2, , , n5, n6] = s.ids as NodeId[];
    // n6 leaves: it becomes an observer and still follows the log.
    s.waitResults([(() => (s.submit(n6!, { kind: 'leave', node: n6! }, 'leave'), 'leave'))()], 20_000);
    const six = s.ids.filter((id) => id !== n6);
    waitReplicaSet(s, s.ids, six, 20_000);
    expect(s.cluster.node(n6!).core.view().role).toBe('observer');
    // n5 dies; with n = 6, f = 1: two replicas must vote to remove it.
    s.cluster.crash(n5!);
    s.submit(n0!, { kind: 'remove', node: n5! }, 'vote-1');
    s.waitResults(['vote-1'], 20_000);
    expect(s.world.results.get(n0!)?.find((r) => r.tag === 'vote-1')).toMatchObject({ ok: true, result: { votes: 1, needed: 2 } });
    expect(s.cluster.node(n1!).core.view().replicas).toContain(n5);
    s.submit(n2!, { kind: 'remove', node: n5! }, 'vote-2');
    s.waitResults(['vote-2'], 20_000);
    const five = six.filter((id) => id !== n5);
    waitReplicaSet(s, five, five, 20_000);
    const tags = s.submitMany([...five, n6!], 12, 'after');
    s.waitResults(tags, 30_000);
    s.waitConverged([...five, n6!], 10_000);
    expect(s.cluster.node(n0!).core.view()).toMatchObject({ n: 5, f: 1, quorum: 4 });
    s.checkSafety();
  });

  simTest('maxReplicas caps the set: later nodes stay observers that follow the committed log', (seed) => {
    const s = scenario({ seed, nodes: 6, genesis: 1, params: { maxReplicas: 4 } });
    s.watchSafety();
    for (let k = 1; k < 6; k++) {
      const id = nid(`n${k}`);
      s.submit(id, { kind: 'join', node: id }, `join-${k}`);
      eventually(s.cluster, `join ${k} answered`, () => (s.world.results.get(id) ?? []).length > 0, { withinMs: 20_000 });
      s.cluster.runFor(1_500);
    }
    const answers = [1, 2, 3, 4, 5].map((k) => s.world.results.get(nid(`n${k}`))?.[0]);
    expect(answers.map((a) => a?.ok && a.result.ok)).toEqual([true, true, true, false, false]);
    expect(answers[3]?.ok && answers[3].result.note).toMatch(/full/);
    waitReplicaSet(s, s.ids, [nid('n0'), nid('n1'), nid('n2'), nid('n3')], 20_000);
    expect(s.cluster.node(nid('n4')).core.view().role).toBe('observer');
    // Observers submit too, and see the same committed log as the replicas.
    const tags = s.submitMany([nid('n4'), nid('n5'), nid('n0')], 9, 'obs');
    s.waitResults(tags, 30_000);
    s.waitConverged(s.ids, 15_000);
    const logs = s.ids.map((id) => JSON.stringify(s.cluster.node(id).core.view().log));
    expect(new Set(logs).size).toBe(1);
    s.checkSafety();
  });

  simTest('the first node leaves and dies; a brand-new node, knowing only the genesis, catches up through peers and joins', (seed) => {
    const s = scenario({ seed, nodes: 4, genesis: 1 });
    s.watchSafety();
    const [n0, n1, n2, n3] = s.ids as [NodeId, NodeId, NodeId, NodeId];
    for (const id of [n1, n2, n3]) s.waitResults([join(s, id)], 20_000);
    waitReplicaSet(s, s.ids, [n0, n1, n2, n3], 20_000);
    s.waitResults([(s.submit(n0, { kind: 'leave', node: n0 }, 'n0-leaves'), 'n0-leaves')], 20_000);
    waitReplicaSet(s, [n1, n2, n3], [n1, n2, n3], 20_000);
    const tags = s.submitMany([n1, n2, n3], 20, 'later');
    s.waitResults(tags, 20_000);
    s.cluster.crash(n0);
    // A new tab: fresh disk, genesis [n0] (gone). Gossip tells it who else is around.
    const n4 = s.cluster.add('n4');
    s.cluster.act(n4, (node, now) => node.setPeers(now, [n0, n1, n2, n3]));
    s.waitConverged([n1, n2, n3, n4], 20_000);
    const v4 = s.cluster.node(n4).core.view();
    expect(v4).toMatchObject({ role: 'observer', epoch: s.cluster.node(n1).core.view().epoch });
    expect(v4.stats.stateTransfers).toBeGreaterThan(0);
    s.waitResults([join(s, n4)], 20_000);
    waitReplicaSet(s, [n1, n2, n3, n4], [n1, n2, n3, n4], 20_000);
    const after = s.submitMany([n4, n1], 4, 'with-n4');
    s.waitResults(after, 20_000);
    s.checkSafety();
  });

  simTest('with one replica silent, a fifth node joins and the silent one is voted out', (seed) => {
    const s = scenario({ seed, nodes: 5, genesis: 4, byzantine: { n3: 'silent' } });
    s.watchSafety();
    const [n0, n1, n2, n3, n4] = s.ids as [NodeId, NodeId, NodeId, NodeId, NodeId];
    s.waitResults([join(s, n4)], 30_000);
    waitReplicaSet(s, [n0, n1, n2, n4], [n0, n1, n2, n3, n4], 20_000);
    // n = 5, f = 1, q = 4: the four honest replicas carry on; two votes remove n3.
    s.submit(n0, { kind: 'remove', node: n3 }, 'v1');
    s.submit(n4, { kind: 'remove', node: n3 }, 'v2');
    s.waitResults(['v1', 'v2'], 30_000);
    waitReplicaSet(s, [n0, n1, n2, n4], [n0, n1, n2, n4], 30_000);
    const tags = s.submitMany([n1, n4], 8, 'after');
    s.waitResults(tags, 20_000);
    s.checkSafety();
  });

  simTest('after more membership changes than one state message carries, a brand-new node still verifies the chain and joins', (seed) => {
    const s = scenario({ seed, nodes: 3, genesis: 1 });
    s.watchSafety();
    const [n0, n1, n2] = s.ids as [NodeId, NodeId, NodeId];
    for (const id of [n1, n2]) s.waitResults([join(s, id)], 20_000);
    waitReplicaSet(s, s.ids, [n0, n1, n2], 20_000);
    // n2 leaves and comes back again and again: every change is a new epoch. 142 epochs are
    // more than one status answer sends (maxEpochPagesPerAnswer pages of 32 records).
    for (let round = 0; round < 70; round++) {
      const leave = `leave-${round}`;
      s.submit(n2, { kind: 'leave', node: n2 }, leave);
      s.waitResults([leave], 20_000);
      waitReplicaSet(s, s.ids, [n0, n1], 20_000);
      const back = `rejoin-${round}`;
      s.submit(n2, { kind: 'join', node: n2 }, back);
      s.waitResults([back], 20_000);
      waitReplicaSet(s, s.ids, [n0, n1, n2], 20_000);
    }
    const epoch = s.cluster.node(n0).core.view().epoch;
    expect(epoch).toBe(2 + 140);
    // A new tab: fresh disk, knowing only the genesis [n0]; 142 epochs to verify from there.
    const n3 = s.cluster.add('n3');
    s.cluster.act(n3, (node, now) => node.setPeers(now, [n0, n1, n2]));
    s.waitConverged([n0, n1, n2, n3], 30_000);
    expect(s.cluster.node(n3).core.view()).toMatchObject({ role: 'observer', epoch });
    expect(s.cluster.node(n3).core.footprint().history).toBe(epoch);
    s.waitResults([join(s, n3)], 20_000);
    waitReplicaSet(s, s.ids, [n0, n1, n2, n3], 20_000);
    s.waitResults(s.submitMany([n3, n0], 4, 'with-n3'), 20_000);
    // Restarted from its disk, it still holds the whole chain (each record under its own key).
    s.cluster.crash(n3);
    s.cluster.restart(n3);
    expect(s.cluster.node(n3).core.footprint().history).toBe(epoch + 1);
    s.waitResults(s.submitMany([n3, n1], 4, 'after-restart'), 20_000);
    s.checkSafety();
  });

  simTest('the founder loses its consensus state but keeps its epoch records: it does not act on the genesis set again, it catches up', (seed) => {
    const s = scenario({ seed, nodes: 4, genesis: 1 });
    s.watchSafety();
    const [n0, n1, n2, n3] = s.ids as [NodeId, NodeId, NodeId, NodeId];
    for (const id of [n1, n2, n3]) s.waitResults([join(s, id)], 20_000);
    waitReplicaSet(s, s.ids, [n0, n1, n2, n3], 20_000);
    s.waitResults(s.submitMany(s.ids, 8, 'before'), 20_000);
    // Its stable checkpoint, meta and log are damaged and set aside (src/store/set-aside.ts):
    // what is left would make it the genesis set's only replica, free to commit alone.
    s.cluster.crash(n0);
    const disk = s.cluster.storage(n0);
    for (const [key] of disk.entries('pbft/')) if (!key.startsWith('pbft/epoch/')) disk.del(key);
    disk.flush();
    s.cluster.restart(n0);
    expect(s.cluster.node(n0).core.view().role).toBe('observer');
    s.waitResults(s.submitMany([n0, n1, n2], 6, 'after'), 30_000);
    s.waitConverged(s.ids, 20_000);
    expect(s.cluster.node(n0).core.view()).toMatchObject({ role: 'replica', epoch: s.cluster.node(n1).core.view().epoch });
    s.checkSafety();
  });
});
