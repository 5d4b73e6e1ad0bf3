// Every node of a room restarts at once (a browser restored with all its tabs, a laptop waking
// a whole room), at a random moment of the room's start: while the genesis is still being
// agreed, while joins are being committed, or later. Every node comes back as itself on what it
// had stored. Afterwards the room must follow one consensus history, no two nodes may hold
// different operations at a sequence number, and a new proposal must commit.
// SEED=<n> replays the case seed a failure printed (the Ed25519 keys are fresh each run, so
// the replica order, and with it the primary, differs between runs); LONG=1 runs more cases.
import { describe, expect, test } from 'vitest';
import { FuzzMesh, type FuzzNode } from './mesh-harness.ts';
import { envSeed, longMode, replayHint } from '../sim/seed.ts';

/** Simulated time a restarted room gets to agree on one history again, and to commit. */
const settleBudgetMs = 90_000;

describe('the whole room restarts at once', () => {
  test('one history afterwards, no conflicting commits, and new proposals commit', async () => {
    const replay = envSeed();
    const caseSeeds = replay !== undefined ? [replay] : Array.from({ length: longMode() ? 40 : 4 }, (_, c) => 3_000 + c);
    for (const seed of caseSeeds) {
      const mesh = await FuzzMesh.create(4, seed);
      void mesh.propose(mesh.nodes[1] as FuzzNode, 'before the restart');
      // Restart somewhere in the first 3 s (genesis agreement, joins), or after 10 s.
      const restartAt = seed % 4 === 3 ? 10_000 : 100 + ((seed * 7919) % 29) * 100;
      await mesh.run(restartAt);
      const what = `(restarted at ${restartAt} ms) — ${replayHint(seed)}`;
      const again = await FuzzMesh.create(
        4,
        seed + 1,
        mesh.nodes.map((n) => n.storage),
        mesh.nodes.map((n) => n.identity),
      );
      let outcome: unknown = undefined;
      void again.propose(again.nodes[2] as FuzzNode, 'after the restart').then((o) => (outcome = o));
      for (
        let waited = 0;
        waited < settleBudgetMs && (outcome === undefined || new Set(again.nodes.map((n) => again.genesisOf(n))).size !== 1);
        waited += 1_000
      ) {
        await again.run(1_000);
        // A proposal that timed out (a view change after the restart can take a while) is retried.
        if (outcome instanceof Error) {
          outcome = undefined;
          void again.propose(again.nodes[2] as FuzzNode, 'after the restart, again').then((o) => (outcome = o));
        }
      }
      const geneses = again.nodes.map((n) => again.genesisOf(n));
      expect(new Set(geneses).size, `one consensus history after the restart (${geneses.join(', ')}) ${what}`).toBe(1);
      expect(again.logConflicts(), `committed logs disagree ${what}`).toEqual([]);
      expect(typeof outcome, `a proposal after the restart committed (${String(outcome)}) ${what}`).toBe('number');
    }
  }, 300_000);
});
