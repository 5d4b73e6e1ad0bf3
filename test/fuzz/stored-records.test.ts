// Issue 9, fuzzing stored records: a node's IndexedDB can hold anything — an older version's
// records, a write cut short, another tab's bug, a person poking at devtools. Records a real
// node wrote (every default service's persisted state) are mutated, and a node restarts on
// them: no service may throw while loading, the node must come up and work with the others
// (consensus commits again, and no two nodes hold different operations at one sequence number), and each persisted-state decoder,
// fed random and mutated input directly, refuses with a reason and never throws.
// SEED=<n> replays the inputs (the Ed25519 keys are fresh each run); LONG=1 runs more cases.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { MemoryStorage } from '../../src/store/memory.ts';
import { decodeSelfRecord, decodeStoredEntry } from '../../src/core/gossip/persist.ts';
import { decodeMeta, decodeNewViewRecord, decodeSlot, decodeStable, decodeViewChangeRecord } from '../../src/core/pbft/persistence.ts';
import { decodeSnapshot } from '../../src/core/pbft/state-machine.ts';
import { decodePersistedJobs } from '../../src/core/steal/persist.ts';
import { decodeFollowRecord, decodeGenesisRecord } from '../../src/worker/services/pbft-genesis.ts';
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

  test('a node restarted on damaged records comes up and keeps agreeing with the others', async () => {
    const base = envSeed() ?? 1;
    const cases = longMode() ? 20 : 4;
    for (let c = 0; c < cases; c++) {
      const seed = base * 1_000 + c;
      const mesh = await FuzzMesh.create(4, seed);
      await mesh.run(5_000);
      void mesh.propose(mesh.nodes[1] as FuzzNode, 'before the restart');
      await mesh.run(2_000);
      const victim = mesh.nodes[0] as FuzzNode;
      const stored = await entriesOf(victim.storage);
      // Damage a third of the records with the mutator, seeded.
      const damaged = new MemoryStorage();
      const picks = fc.sample(fc.tuple(fc.boolean(), fc.boolean(), mutant(stored.map(([, v]) => v))), { seed, numRuns: stored.length });
      let broken = 0;
      for (const [i, [key, value]] of stored.entries()) {
        const [damage, alsoOther] = picks[i] as [boolean, boolean, unknown];
        if (damage && alsoOther) {
          broken++;
          await damaged.set(key, (picks[i] as [boolean, boolean, unknown])[2]);
        } else await damaged.set(key, value);
      }
      // Every node restarts as itself; the others on their own stores, the victim on the damaged one.
      const others = mesh.nodes.slice(1).map((n) => n.storage);
      const restarted = await FuzzMesh.create(4, seed + 1, [damaged, ...others], mesh.nodes.map((n) => n.identity)).catch((error: unknown) => {
        throw new Error(`a service threw while loading damaged records (${broken} damaged): ${String(error)}\n${replayHint(seed)}`);
      });
      await restarted.run(5_000);
      void restarted.propose(restarted.nodes[2] as FuzzNode, 'after the restart');
      await restarted.run(8_000);
      expect(restarted.logConflicts(), `committed logs disagree after a restart on damaged records (${broken} damaged) — ${replayHint(seed)}`).toEqual([]);
      const healthy = restarted.nodes.slice(1).map((n) => restarted.committedLog(n).length);
      expect(Math.min(...healthy), `the undamaged nodes committed after the restart — ${replayHint(seed)}`).toBeGreaterThanOrEqual(1);
      expect(restarted.nodes[0]?.id).toBe(victim.id);
    }
  }, 60_000);
});
