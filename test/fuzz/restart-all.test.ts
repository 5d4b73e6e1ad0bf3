// Every node of a room restarts at once (a browser restored with all its tabs, a laptop waking a
// whole room), at a random moment of the room's start: while the genesis is still being agreed,
// while joins are being committed, or later. Whole real nodes (real-room.ts): each crashes, losing
// the writes not yet on its disk, and comes back as itself on what its disk kept. Afterwards the
// room must follow one consensus history, no two nodes may hold different operations at a
// sequence number, and a new proposal must commit.
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
      void room.propose(nodes[1]!, 'before the restart').catch(() => {});
      // Restart somewhere in the first 3 s (genesis agreement, joins), or after 10 s.
      const restartAt = seed % 4 === 3 ? 10_000 : 100 + ((seed * 7919) % 29) * 100;
      await room.runFor(restartAt - room.now);
      const what = `(restarted at ${restartAt} ms) — ${replayHint(seed)}`;
      for (const node of nodes) room.crash(node);
      for (const node of nodes) room.cluster.start(node);
      await room.runUntil(() => nodes.every((n) => n.isUp), `every node is back ${what}`);
      // Not checked yet: that this acknowledged proposal survives. With SEED=3002 (restart at
      // 200 ms, during genesis agreement) it commits under a genesis the room later abandons, and
      // is lost (resets 2, discardedCommits 48): the VOPR's failing seeds 16 and 4 are the same
      // bug (docs/simulation.md, "What it found").
      await room.commitEventually(nodes[2]!, 'after the restart', `a proposal after the restart commits ${what}`, settleBudgetMs);
      await room.runUntil(() => new Set(nodes.map((n) => room.genesisOf(n))).size === 1, `one history after the restart ${what}`, settleBudgetMs);
      const geneses = nodes.map((n) => room.genesisOf(n));
      expect(new Set(geneses).size, `one consensus history after the restart (${geneses.join(', ')}) ${what}`).toBe(1);
      expect(room.logConflicts(), `committed logs disagree ${what}`).toEqual([]);
    }
  }, 300_000);
});
