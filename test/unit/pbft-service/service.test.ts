// The consensus service as tabs run it, in whole real nodes (test/sim/real-node/real-room.ts:
// NodeRuntime + every default service, simulated links and signaling, one virtual clock): a room
// bootstraps one genesis, grows its replica set by committed joins, commits proposals in the same
// order everywhere, recovers a restarted node from its disk, and goes on without a dead replica.
import { describe, expect } from 'vitest';
import type { SimNode } from '../../sim/real-node/real-cluster.ts';
import type { RealRoom } from '../../sim/real-node/real-room.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';

const decisions = (room: RealRoom, node: SimNode) =>
  room
    .consensus(node)
    .log.filter((e) => e.op.kind === 'decision')
    .map((e) => [e.seq, e.op.kind === 'decision' ? e.op.value : null]);

describe('a room of four', () => {
  roomTest('agrees on one genesis, lets every node join, and commits proposals in one order everywhere', async (room) => {
    const nodes = await room.replicaRoom(4);
    const founder = nodes[0]!.id;
    for (const n of nodes) {
      const v = room.consensus(n);
      expect(v.genesis?.founder).toBe(founder);
      expect(v.genesis?.resets).toBe(0);
      expect([v.n, v.f, v.quorum]).toEqual([4, 1, 3]);
    }
    // Every node proposes; propose() resolves with the committed sequence number.
    const seqs = await room.until(
      Promise.all(nodes.map((n, i) => room.propose(n, i % 2 === 0 ? `decision ${i}` : { choice: i, why: 'json' }))),
      'four proposals commit',
    );
    const kv = await room.until(room.propose(nodes[2]!, { kind: 'kv-set', key: 'colour', value: 'teal' }), 'a key-value write commits');
    expect(kv).toBeGreaterThan(Math.min(...seqs));
    const top = Math.max(kv, ...seqs);
    await room.runUntil(() => nodes.every((n) => room.consensus(n).lastCommitted >= top), 'every node executed them');
    // Its three phases, replica by replica, as each node saw them.
    for (const n of nodes) {
      const row = room.consensus(n).phases.find((p) => p.seq === kv);
      expect(row?.executed).toBe(true);
      expect(row?.commits.length).toBeGreaterThanOrEqual(3);
      expect(row?.prepares.length).toBeGreaterThanOrEqual(2);
    }
    const logs = nodes.map((n) => JSON.stringify(decisions(room, n)));
    expect(new Set(logs).size).toBe(1);
    expect(decisions(room, nodes[0]!)).toHaveLength(4);
    // Each proposal is in the log at the number its proposer was given (a batch shares one).
    for (const [i, n] of nodes.entries()) expect(room.consensus(nodes[0]!).log.some((e) => e.seq === seqs[i] && e.client === n.id)).toBe(true);
    // Nothing was refused on the way, and the proposers' counters add up.
    for (const n of nodes) {
      expect(room.consensus(n).rejected['runtime: bad signature'] ?? 0).toBe(0);
      expect(room.consensus(n).proposals.committed).toBeGreaterThanOrEqual(1);
      expect(room.consensus(n).successRate).toBe(1);
    }
  });

  roomTest('a restarted node comes back from its disk with the same log, and catches up', async (room) => {
    const [a, b, c, d] = (await room.replicaRoom(4)) as [SimNode, SimNode, SimNode, SimNode];
    await room.until(Promise.all([room.propose(a, 'before-1'), room.propose(b, 'before-2')]), 'two proposals commit');
    await room.runUntil(() => room.consensus(d).lastCommitted === room.consensus(a).lastCommitted, 'd caught up');
    // Its writes reach the disk a few virtual ms after they are made.
    await room.runFor(100);
    const before = decisions(room, d);
    room.crash(d);
    // The others go on without it (3 of 4 is a quorum).
    const during = await room.until(room.propose(c, 'while-d-is-down'), 'a proposal commits without d');
    await room.restart(d);
    await room.runUntil(() => room.consensus(d).status === 'replica', 'd is a replica again, from its disk');
    expect(decisions(room, d).slice(0, before.length)).toEqual(before);
    await room.runUntil(() => room.consensus(d).lastCommitted >= during, 'the restarted node catches up');
    expect(decisions(room, d)).toEqual(decisions(room, a));
    const after = await room.until(room.propose(d, 'after-restart'), 'the restarted node proposes');
    expect(after).toBeGreaterThan(during);
    expect(room.consensus(d).genesis?.resets).toBe(0);
  });

  roomTest('a replica that dies is found dead by gossip, voted out, and the rest go on committing', async (room) => {
    const [a, b, c, d] = (await room.replicaRoom(4)) as [SimNode, SimNode, SimNode, SimNode];
    room.crash(d);
    await room.runUntil(
      () => [a, b, c].every((n) => room.consensus(n).replicas.length === 3 && !room.consensus(n).replicas.includes(d.id)),
      'the dead replica is removed everywhere',
      60_000,
    );
    expect(room.consensus(a).events.some((e) => e.kind === 'membership' && e.text.startsWith('remove'))).toBe(true);
    const seq = await room.until(room.propose(b, 'after the removal'), 'a proposal commits with three replicas');
    expect(room.consensus(c).f).toBe(0);
    await room.runUntil(() => room.consensus(a).lastCommitted >= seq, 'a executed it');
  });
});

describe('over the mesh', () => {
  roomTest('replicas with no direct link between them reach each other by routing and still agree', async (room) => {
    // A ring: a–b–c–d–a; the diagonals a–c and b–d can never link directly (a NAT between them).
    const [a, b, c, d] = [room.add(), room.add(), room.add(), room.add()];
    room.cluster.network.blockDirect(a.id, c.id);
    room.cluster.network.blockDirect(b.id, d.id);
    const nodes = [a, b, c, d];
    await room.runUntil(() => nodes.every((n) => n.isUp && room.consensus(n).n === 4), 'four replicas on a ring', 60_000);
    expect(room.linkedPeers(a)).not.toContain(c.id);
    const seqs = await room.until(Promise.all(nodes.map((n, i) => room.propose(n, `ring ${i}`))), 'proposals commit on a ring');
    await room.runUntil(() => nodes.every((n) => room.consensus(n).lastCommitted >= Math.max(...seqs)), 'executed everywhere');
    expect(new Set(nodes.map((n) => JSON.stringify(decisions(room, n)))).size).toBe(1);
    expect(room.consensus(a).traffic.routed).toBeGreaterThan(0);
    expect(room.consensus(a).traffic.direct).toBeGreaterThan(0);
  });
});

describe('bootstrap races', () => {
  roomTest('two nodes that found at once end up under one genesis; proposals made meanwhile commit there', async (room) => {
    const a = room.add();
    const b = room.add();
    await room.runUntil(() => a.isUp && b.isUp, 'both run');
    // Both propose at once, before any genesis exists: the proposals are held until it settles.
    const [sa, sb] = await room.until(Promise.all([room.propose(a, 'from a'), room.propose(b, 'from b')]), 'both proposals commit', 60_000);
    expect(sa).not.toBe(sb);
    const va = room.consensus(a);
    const vb = room.consensus(b);
    expect(va.genesis?.id).toBe(vb.genesis?.id);
    // Exactly one of them founded the genesis both follow; if both founded, the later one reset.
    expect([a.id, b.id]).toContain(va.genesis?.founder);
    const loser = va.genesis?.founder === a.id ? b : a;
    expect(room.consensus(loser).genesis?.discardedCommits).toBe(0);
    await room.runUntil(() => room.consensus(a).replicas.length === 2 && room.consensus(b).replicas.length === 2, 'both are replicas');
    await room.runUntil(() => JSON.stringify(decisions(room, a)) === JSON.stringify(decisions(room, b)), 'same log');
    expect(
      decisions(room, a)
        .map(([, v]) => v)
        .sort(),
    ).toEqual(['from a', 'from b']);
  });

  roomTest(
    'a newcomer that arrives while two founders race ends up under the same genesis as them, and joins',
    async (room) => {
      const x = room.add();
      const y = room.add();
      // Both may found at once; the gossip memory settles on the winner only after a round or
      // two, and a newcomer may take up the loser's record first (last writer wins in the memory).
      await room.runFor(3_600);
      const z = room.add();
      const all = [x, y, z];
      await room.runUntil(
        () => all.every((n) => n.isUp && room.consensus(n).replicas.length === 3 && room.consensus(n).genesis?.id === room.consensus(x).genesis?.id),
        'all three are replicas under one genesis',
        // Well under the join retry (10 s) after its arrival: a switch must not leave a stale join waiting.
        12_000,
      );
      // The genesis all three follow is one of the two founders'.
      expect([x.id, y.id]).toContain(room.consensus(z).genesis?.founder);
      const seq = await room.until(room.propose(z, 'from the newcomer'), 'the newcomer proposes');
      await room.runUntil(() => all.every((n) => room.consensus(n).lastCommitted >= seq), 'executed everywhere');
    },
    { seeds: 2, longSeeds: 10 },
  );
});
