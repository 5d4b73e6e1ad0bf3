// Issue 9, fuzzing stored records: a node's IndexedDB can hold anything — an older version's
// records, a write cut short, another tab's bug, a person poking at devtools. Records a whole
// real node wrote (real-room.ts: every default service's persisted state, on its simulated disk)
// are mutated, and the node restarts on them while the others keep running: no service may throw while loading, and the undamaged
// nodes must never disagree (the damaged node counts as one faulty replica). Each
// persisted-state decoder, fed random and mutated input directly, refuses with a reason and
// never throws.
// SEED=<n> replays the inputs and the room exactly; LONG=1 runs more cases.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeSelfRecord, decodeStoredEntry } from '../../src/core/gossip/persist.ts';
import { decodeMeta, decodeNewViewRecord, decodeSlot, decodeStable, decodeViewChangeRecord } from '../../src/core/pbft/persistence.ts';
import { decodeSnapshot } from '../../src/core/pbft/state-machine.ts';
import { decodePersistedJobs } from '../../src/core/steal/persist.ts';
import { decodeFollowRecord, decodeGenesisRecord } from '../../src/core/pbft-room/index.ts';
import { RealRoom } from '../sim/real-node/real-room.ts';
import type { SimNode } from '../sim/real-node/real-cluster.ts';
import { mutant } from './mutate.ts';
import { envSeed, longMode, replayHint } from '../sim/seed.ts';

/** What the node's disk holds now (its committed writes). */
const entriesOf = (node: SimNode): Array<[string, unknown]> => [...node.disk.durable].map(([k, v]) => [k, structuredClone(v)]);

describe('stored records', () => {
  test('every persisted-state decoder refuses random and mutated records without throwing', async () => {
    const seed = envSeed() ?? 1;
    const room = new RealRoom(seed);
    const nodes = await room.replicaRoom(3);
    await room.until(room.propose(nodes[1]!, 'something to store'), 'a proposal commits');
    await room.until(room.call(nodes[0]!, 'submitJob', { kind: 'primes', params: { to: 5_000 }, chunks: 2 }), 'a job is accepted');
    await room.runFor(2_000);
    const stored = entriesOf(nodes[0]!);
    expect(stored.length, 'the node persisted some state').toBeGreaterThan(0);
    const seeds = stored.map(([, value]) => value);
    const self = nodes[0]!.id;
    const decoders: Array<[string, (raw: unknown) => unknown]> = [
      ['gossip self', (raw) => decodeSelfRecord(raw, self)],
      ['gossip entry', (raw) => decodeStoredEntry('gossip/e/some-key', raw)],
      ['pbft meta', decodeMeta],
      ['pbft stable', decodeStable],
      ['pbft slot', decodeSlot],
      ['pbft view-change', decodeViewChangeRecord],
      ['pbft new-view', decodeNewViewRecord],
      ['pbft snapshot', decodeSnapshot],
      ['pbft genesis', decodeGenesisRecord],
      ['pbft follow', decodeFollowRecord],
      ['steal jobs', (raw) => decodePersistedJobs([['steal/job/x', raw]])],
    ];
    const input = fc.oneof(mutant(seeds), fc.anything(), fc.jsonValue());
    fc.assert(
      fc.property(input, (raw) => {
        for (const [, decode] of decoders) decode(raw);
      }),
      { seed, numRuns: longMode() ? 5_000 : 500 },
    );
    // A refusal says why (the Decoded ones).
    for (const decode of [decodeMeta, decodeStable, decodeSlot, decodeSnapshot, decodeGenesisRecord, decodeFollowRecord]) {
      expect(decode({ nonsense: true })).toMatchObject({ ok: false, error: expect.stringMatching(/\S/) });
    }
  }, 30_000);

  test('a node reloaded on damaged records comes up, and the others never disagree', async () => {
    // Case seeds are 1000, 1001, …; SEED=<n> replays exactly the case seed a failure printed.
    const replay = envSeed();
    const caseSeeds = replay !== undefined ? [replay] : Array.from({ length: longMode() ? 20 : 4 }, (_, c) => 1_000 + c);
    for (const seed of caseSeeds) {
      const room = new RealRoom(seed);
      // Damage comes once all four are replicas (n = 4, f = 1): damaging one of a smaller
      // replica set (n = 2 while joins are still being committed, f = 0) is more than f faults,
      // and consensus rightly stops — that was the "1 case in 30" liveness finding of session 1.
      const nodes = await room.replicaRoom(4);
      await room.until(room.propose(nodes[1]!, 'before the restart'), 'a proposal commits');
      await room.runFor(2_000);
      const victim = nodes[0]!;
      room.crash(victim);
      const stored = entriesOf(victim);
      // Damage about a quarter of the records with the mutator, seeded.
      const picks = fc.sample(fc.tuple(fc.boolean(), fc.boolean(), mutant(stored.map(([, v]) => v))), { seed, numRuns: stored.length });
      const brokenKeys: string[] = [];
      for (const [i, [key]] of stored.entries()) {
        const [damage, alsoOther, mutated] = picks[i] as [boolean, boolean, unknown];
        if (damage && alsoOther) {
          brokenKeys.push(key);
          victim.disk.durable.set(key, mutated);
        }
      }
      const what = `(damaged: ${brokenKeys.join(', ')}) — ${replayHint(seed)}`;
      // The victim restarts as itself on the damaged disk; the others keep running. Nothing may
      // escape it while it loads.
      await room.restart(victim).catch((error: unknown) => {
        throw new Error(`the node did not come back on damaged records: ${String(error)}\n${what}`);
      });
      await room.runFor(5_000);
      // A proposal from an undamaged node commits within a generous budget (a view change away
      // from a broken primary included).
      await room.commitEventually(nodes[2]!, 'after the restart', `the proposal after the restart commits ${what}`);
      // Safety: the undamaged nodes follow one consensus history, and no two of them hold
      // different operations at a sequence number of it. A node whose records were altered
      // into other valid-looking records is a faulty replica (one of the f pBFT tolerates):
      // its own log is not checked, only that it cannot lead the others astray.
      const undamaged = nodes.slice(1);
      const geneses = undamaged.map((n) => room.genesisOf(n));
      expect(new Set(geneses).size, `undamaged nodes on one genesis (${geneses.join(', ')}) ${what}`).toBe(1);
      expect(room.logConflicts(undamaged), `undamaged nodes' committed logs disagree ${what}`).toEqual([]);
      expect(room.snapshot(victim).id).toBe(victim.id);
      room.failOnNodeErrors();
      const internal = Object.keys(room.rejected(victim)).filter((r) => /internal error/.test(r));
      expect(internal, `a service failed on damaged records ${what}`).toEqual([]);
    }
  }, 180_000);
});
