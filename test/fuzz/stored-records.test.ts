// Issue 9, fuzzing stored records: a node's IndexedDB can hold anything — an older version's
// records, a write cut short, another tab's bug, a person poking at devtools. Records a real
// node wrote (every default service's persisted state) are mutated, and the node reloads on
// them while the others keep running: no service may throw while loading, and the undamaged
// nodes must never disagree (the damaged node counts as one faulty replica). Each
// persisted-state decoder, fed random and mutated input directly, refuses with a reason and
// never throws.
// SEED=<n> replays the inputs (the Ed25519 keys are fresh each run); LONG=1 runs more cases.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { MemoryStorage } from '../../src/store/memory.ts';
import { decodeSelfRecord, decodeStoredEntry } from '../../src/core/gossip/persist.ts';
import { decodeMeta, decodeNewViewRecord, decodeSlot, decodeStable, decodeViewChangeRecord } from '../../src/core/pbft/persistence.ts';
import { decodeSnapshot } from '../../src/core/pbft/state-machine.ts';
import { decodePersistedJobs } from '../../src/core/steal/persist.ts';
import { decodeFollowRecord, decodeGenesisRecord } from '../../src/core/pbft-room/index.ts';
import { FuzzMesh, type FuzzNode } from './mesh-harness.ts';
import { mutant } from './mutate.ts';
import { envSeed, longMode, replayHint } from '../sim/seed.ts';

async function entriesOf(storage: MemoryStorage): Promise<Array<[string, unknown]>> {
  const keys = await storage.keys();
  return Promise.all(keys.map(async (k) => [k, await storage.get(k)] as [string, unknown]));
}

describe('stored records', () => {
  test('every persisted-state decoder refuses random and mutated records without throwing', async () => {
    const seed = envSeed() ?? 1;
    const mesh = await FuzzMesh.create(3, seed);
    await mesh.run(5_000);
    const stored = await entriesOf((mesh.nodes[0] as FuzzNode).storage);
    expect(stored.length, 'the node persisted some state').toBeGreaterThan(0);
    const seeds = stored.map(([, value]) => value);
    const self = (mesh.nodes[0] as FuzzNode).id;
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
      const mesh = await FuzzMesh.create(4, seed);
      // Damage comes once all four are replicas (n = 4, f = 1): damaging one of a smaller
      // replica set (n = 2 while joins are still being committed, f = 0) is more than f faults,
      // and consensus rightly stops — that was the "1 case in 30" liveness finding of session 1.
      const replicaCount = (node: FuzzNode) =>
        ((node.byProtocol.get('pbft')?.snapshot?.() as { consensus?: { replicas?: unknown[] } } | undefined)?.consensus?.replicas ?? []).length;
      for (let waited = 0; waited < 60_000 && !mesh.nodes.every((n) => replicaCount(n) === 4); waited += 1_000) await mesh.run(1_000);
      expect(mesh.nodes.map(replicaCount), `all four nodes became replicas — ${replayHint(seed)}`).toEqual([4, 4, 4, 4]);
      void mesh.propose(mesh.nodes[1] as FuzzNode, 'before the restart');
      await mesh.run(2_000);
      const victim = mesh.nodes[0] as FuzzNode;
      const stored = await entriesOf(victim.storage);
      // Damage about a quarter of the records with the mutator, seeded.
      const damaged = new MemoryStorage();
      const picks = fc.sample(fc.tuple(fc.boolean(), fc.boolean(), mutant(stored.map(([, v]) => v))), { seed, numRuns: stored.length });
      const brokenKeys: string[] = [];
      for (const [i, [key, value]] of stored.entries()) {
        const [damage, alsoOther] = picks[i] as [boolean, boolean, unknown];
        if (damage && alsoOther) {
          brokenKeys.push(key);
          await damaged.set(key, (picks[i] as [boolean, boolean, unknown])[2]);
        } else await damaged.set(key, value);
      }
      // The victim reloads as itself on the damaged store; the others keep running.
      const restarted = mesh;
      await mesh.restart(0, damaged, seed + 1).catch((error: unknown) => {
        throw new Error(`a service threw while loading damaged records (damaged: ${brokenKeys.join(', ')}): ${String(error)}\n${replayHint(seed)}`);
      });
      const what = `(damaged: ${brokenKeys.join(', ')}) — ${replayHint(seed)}`;
      await restarted.run(5_000);
      // A proposal from an undamaged node commits within a generous budget (a view change away
      // from a broken primary included).
      let committed: unknown = undefined;
      void restarted.propose(restarted.nodes[2] as FuzzNode, 'after the restart').then((outcome) => (committed = outcome));
      for (let waited = 0; committed === undefined && waited < 60_000; waited += 1_000) await restarted.run(1_000);
      // Liveness: with one damaged replica of four (≤ f), consensus still commits.
      expect(typeof committed, `the proposal after the restart committed (${String(committed)}) ${what}`).toBe('number');
      // Safety: the undamaged nodes follow one consensus history, and no two of them hold
      // different operations at a sequence number of it. A node whose records were altered
      // into other valid-looking records is a faulty replica (one of the f pBFT tolerates):
      // its own log is not checked, only that it cannot lead the others astray.
      const undamaged = restarted.nodes.slice(1);
      const geneses = undamaged.map((n) => restarted.genesisOf(n));
      expect(new Set(geneses).size, `undamaged nodes on one genesis (${geneses.join(', ')}) ${what}`).toBe(1);
      expect(restarted.logConflicts(undamaged), `undamaged nodes' committed logs disagree ${what}`).toEqual([]);
      expect(restarted.nodes[0]?.id).toBe(victim.id);
    }
  }, 180_000);
});
