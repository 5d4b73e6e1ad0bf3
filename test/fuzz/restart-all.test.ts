// Every node of a room restarts at once (a browser restored with all its tabs, a laptop waking a
// whole room), at a random moment of the room's start: while the genesis is still being agreed,
// while joins are being committed, or later. Whole real nodes (real-room.ts): each crashes, losing
// the writes not yet on its disk, and comes back as itself on what its disk kept. Afterwards the
// room must follow one consensus history, no two nodes may hold different operations at a
// sequence number, a new proposal must commit, and every acknowledged proposal must be in every
// node's log at the sequence number it was acknowledged with.
// SEED=<n> replays the case seed a failure printed; LONG=1 runs more cases.
import { describe, expect, test } from 'vitest';
import { RealRoom } from '../sim/real-node/real-room.ts';
import { envSeed, longMode, replayHint } from '../sim/seed.ts';

/** Room time a restarted room gets to agree on one history again, and to commit. */
const settleBudgetMs = 90_000;

describe('the whole room restarts at once', () => {
  test('one history afterwards, no conflicting commits, and new proposals commit', async () => {
    const replay = envSeed();
    const caseSeeds = replay !== undefined ? [replay] : Array.from({ length: longMode() ? 40 : 4 }, (_, c) => 3_000 + c);
    for (const seed of caseSeeds) {
      const room = new RealRoom(seed);
      const nodes = [room.add(), room.add(), room.add(), room.add()];
      await room.runUntil(() => nodes[1]!.isUp, 'the nodes run');
      // Every proposal whose promise resolved: the user was told it committed at that seq.
      const acked: Array<{ value: string; seq: number }> = [];
      room.propose(nodes[1]!, 'before the restart').then(
        (seq) => acked.push({ value: 'before the restart', seq }),
        () => {},
      );
      // Restart somewhere in the first 3 s (genesis agreement, joins), or after 10 s.
      const restartAt = seed % 4 === 3 ? 10_000 : 100 + ((seed * 7919) % 29) * 100;
      await room.runFor(restartAt - room.now);
      const what = `(restarted at ${restartAt} ms) — ${replayHint(seed)}`;
      for (const node of nodes) room.crash(node);
      for (const node of nodes) room.cluster.start(node);
      await room.runUntil(() => nodes.every((n) => n.isUp), `every node is back ${what}`);
      const after = await room.commitEventually(nodes[2]!, 'after the restart', `a proposal after the restart commits ${what}`, settleBudgetMs);
      acked.push({ value: 'after the restart', seq: after });
      await room.runUntil(() => new Set(nodes.map((n) => room.genesisOf(n))).size === 1, `one history after the restart ${what}`, settleBudgetMs);
      const geneses = nodes.map((n) => room.genesisOf(n));
      expect(new Set(geneses).size, `one consensus history after the restart (${geneses.join(', ')}) ${what}`).toBe(1);
      expect(room.logConflicts(), `committed logs disagree ${what}`).toEqual([]);
      // Every acknowledged proposal survives: in every node's log, at the seq it was acknowledged
      // with (SEED=3002 lost one before the founding rule: docs/simulation.md, "What it found" 7).
      const newest = Math.max(...acked.map((a) => a.seq));
      await room.runUntil(
        () => nodes.every((n) => room.consensus(n).lastCommitted >= newest),
        `every node commits up to seq ${newest} ${what}`,
        settleBudgetMs,
      );
      for (const node of nodes) {
        const log = room.consensus(node).log;
        for (const a of acked) {
          const at = log.filter((e) => JSON.stringify(e.op).includes(JSON.stringify(a.value).slice(1, -1))).map((e) => e.seq);
          expect(at, `'${a.value}' (acknowledged at seq ${a.seq}) in ${node.label}'s log ${what}`).toEqual([a.seq]);
        }
      }
    }
  }, 300_000);
});
