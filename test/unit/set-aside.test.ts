// Issue 7, bad input: a record in a node's store that does not decode is reported, moved to a
// bounded quarantine, and that part of the node starts clean — the node neither fails nor
// silently drops it. The helper on the memory store, then every loader on a real node's store
// (all default services, as the fuzz mesh runs them) with garbage written into it.
import { describe, expect, test } from 'vitest';
import { MemoryStorage } from '../../src/store/memory.ts';
import { listSetAside, loadChecked, maxSetAsideRecords, setAside, setAsidePrefix } from '../../src/store/set-aside.ts';
import { loadOrCreateIdentity } from '../../src/worker/identity-store.ts';
import { checkGossipRecord } from '../../src/worker/services/gossip.ts';
import { checkPbftRecord } from '../../src/worker/services/pbft-stored.ts';
import { followStorageKey, decodeFollowRecord } from '../../src/core/pbft-room/index.ts';
import { decodePersistedJobs } from '../../src/core/steal/persist.ts';
import { FuzzMesh, type FuzzNode } from '../fuzz/mesh-harness.ts';
import { envSeed, replayHint } from '../sim/seed.ts';

describe('set-aside helper', () => {
  test('a record is moved under a quarantine key with its reason, and its place is emptied', async () => {
    const storage = new MemoryStorage();
    await storage.set('gossip/self', { v: 99 });
    const view = await setAside(storage, 'gossip/self', { v: 99 }, 'v: Invalid type', 1_000);
    expect(view).toEqual({ key: 'gossip/self', reason: 'v: Invalid type', at: 1_000, movedTo: `${setAsidePrefix}gossip/self@1000` });
    expect(await storage.get('gossip/self')).toBeUndefined();
    expect(await storage.get(view.movedTo)).toEqual({ key: 'gossip/self', reason: 'v: Invalid type', at: 1_000, value: { v: 99 } });
    expect(await listSetAside(storage)).toEqual([view]);
  });

  test('two records of one key set aside in the same millisecond are both kept', async () => {
    const storage = new MemoryStorage();
    const a = await setAside(storage, 'k', 1, 'first', 5);
    const b = await setAside(storage, 'k', 2, 'second', 5);
    expect(a.movedTo).not.toBe(b.movedTo);
    expect((await listSetAside(storage)).map((r) => r.reason).sort()).toEqual(['first', 'second']);
  });

  test(`the quarantine keeps the latest ${maxSetAsideRecords}; older ones go`, async () => {
    const storage = new MemoryStorage();
    for (let i = 0; i < maxSetAsideRecords + 5; i++) await setAside(storage, `key/${i}`, i, `bad ${i}`, 1_000 + i);
    const kept = await listSetAside(storage);
    expect(kept).toHaveLength(maxSetAsideRecords);
    expect(kept.map((r) => r.key)).toEqual(Array.from({ length: maxSetAsideRecords }, (_, i) => `key/${maxSetAsideRecords + 4 - i}`));
    expect(await storage.keys(setAsidePrefix)).toHaveLength(maxSetAsideRecords);
  });

  test('loadChecked returns the sound records and sets the others aside; a check that throws counts as a problem', async () => {
    const storage = new MemoryStorage();
    await storage.set('p/good', 1);
    await storage.set('p/bad', 'x');
    await storage.set('p/boom', 3);
    await storage.set('other/bad', 'x');
    const result = await loadChecked(
      storage,
      'p/',
      (key, value) => {
        if (key === 'p/boom') throw new Error('checker bug');
        return typeof value === 'number' ? null : 'not a number';
      },
      7,
    );
    expect(result.entries).toEqual([['p/good', 1]]);
    expect(result.setAside.map((r) => [r.key, r.reason])).toEqual([
      ['p/bad', 'not a number'],
      ['p/boom', 'could not be checked: checker bug'],
    ]);
    expect(await storage.get('other/bad')).toBe('x');
    expect(await storage.keys('p/')).toEqual(['p/good']);
  });

  test('a damaged quarantine entry is still listed, with what its key says', async () => {
    const storage = new MemoryStorage();
    await storage.set(`${setAsidePrefix}pbft/meta@42`, 'garbage');
    expect(await listSetAside(storage)).toEqual([
      { key: 'pbft/meta', reason: 'set aside (no reason recorded)', at: 42, movedTo: `${setAsidePrefix}pbft/meta@42` },
    ]);
  });

  test('a stored identity that does not check out is set aside and a new one made', async () => {
    const storage = new MemoryStorage();
    await storage.set('node/identity', { id: 'not-a-key', privateKey: 'nope' });
    const loaded = await loadOrCreateIdentity(storage, 123);
    expect(loaded.origin).toMatch(/^replaced: /);
    const [record] = await listSetAside(storage);
    expect(record).toMatchObject({ key: 'node/identity', at: 123 });
    expect(record?.reason).toMatch(/did not check out/);
    expect((await loadOrCreateIdentity(storage, 124)).identity.id).toBe(loaded.identity.id);
  });
});

describe('every loader sets damaged records aside and the node starts clean', () => {
  test('garbage in gossip, consensus and stealing records: the node comes up, reports each, and rejoins', async () => {
    const seed = envSeed() ?? 7;
    const hint = replayHint(seed);
    const mesh = await FuzzMesh.create(4, seed);
    await mesh.run(6_000);
    const victim = mesh.nodes[0] as FuzzNode;
    const setMemory = victim.byProtocol.get('gossip')?.commands?.['setMemory'];
    setMemory?.(['colour', 'blue']);
    let first: unknown;
    void mesh.propose(mesh.nodes[1] as FuzzNode, 'before the damage').then((o) => (first = o));
    for (let waited = 0; first === undefined && waited < 20_000; waited += 1_000) await mesh.run(1_000);
    expect(typeof first, `a proposal commits before the damage ${hint}`).toBe('number');
    // Its disk as the crash leaves it: a copy, so that writes the old node still had in flight
    // (a signature resolving late) cannot undo the damage done below.
    const stored = new MemoryStorage();
    for (const key of await victim.storage.keys()) await stored.set(key, await victim.storage.get(key));
    const before = await stored.keys();
    expect(before, hint).toContain('gossip/self');
    expect(before, hint).toContain('gossip/mem/colour');
    expect(before, hint).toContain(followStorageKey);
    // A slot of the log, or the stable checkpoint if one has just taken the slots' place.
    const slot = before.find((k) => k.startsWith('pbft/slot/')) ?? 'pbft/stable';
    expect(before, `consensus state was persisted ${hint}`).toContain(slot);
    const garbage: Record<string, unknown> = {
      'gossip/self': { v: 2, id: victim.id },
      'gossip/mem/colour': 'not an entry',
      'pbft/meta': [1, 2, 3],
      [slot]: { v: 1, seq: 'x' },
      'steal/job/j1': { id: 'j1', nonsense: true },
    };
    for (const [key, value] of Object.entries(garbage)) await stored.set(key, value);
    const node = await mesh.restart(0, stored, seed + 1);
    await mesh.run(8_000);

    const quarantine = await listSetAside(node.storage);
    expect(quarantine.map((r) => r.key).sort(), hint).toEqual(Object.keys(garbage).sort());
    for (const record of quarantine) expect(record.reason, `${record.key} says why ${hint}`).toMatch(/\S/);
    // What is left in the store decodes: nothing damaged was kept in place.
    const gossipCheck = checkGossipRecord(node.id);
    for (const key of await node.storage.keys()) {
      const value = await node.storage.get(key);
      if (key.startsWith('gossip/')) expect(gossipCheck(key, value), `${key} ${hint}`).toBeNull();
      if (key.startsWith('pbft/')) expect(checkPbftRecord(key, value), `${key} ${hint}`).toBeNull();
      if (key === followStorageKey) expect(decodeFollowRecord(value).ok, `${key} ${hint}`).toBe(true);
    }
    expect(
      decodePersistedJobs(await Promise.all((await node.storage.keys('steal/')).map(async (k) => [k, await node.storage.get(k)] as const))).skipped,
    ).toEqual([]);
    // It started clean and is back: the others see it alive, it follows the room's genesis again,
    // and a proposal commits.
    const members = (node.byProtocol.get('gossip')?.snapshot?.() as { members: Array<{ id: string; status: string }> }).members;
    expect(
      members.filter((m) => m.status === 'alive'),
      hint,
    ).toHaveLength(4);
    expect(mesh.genesisOf(node), hint).toBe(mesh.genesisOf(mesh.nodes[1] as FuzzNode));
    let outcome: unknown;
    void mesh.propose(mesh.nodes[2] as FuzzNode, 'after the damage').then((o) => (outcome = o));
    for (let waited = 0; outcome === undefined && waited < 40_000; waited += 1_000) await mesh.run(1_000);
    expect(typeof outcome, `a proposal commits after the restart ${hint}`).toBe('number');
    expect(mesh.logConflicts(), hint).toEqual([]);

    // The record of which genesis it follows, damaged: set aside, and the room's genesis is found again.
    await node.storage.set(followStorageKey, null);
    const again = await mesh.restart(0, node.storage, seed + 2);
    await mesh.run(8_000);
    expect(
      (await listSetAside(again.storage)).map((r) => r.key),
      hint,
    ).toContain(followStorageKey);
    expect(decodeFollowRecord(await again.storage.get(followStorageKey)).ok, hint).toBe(true);
    expect(mesh.genesisOf(again), hint).toBe(mesh.genesisOf(mesh.nodes[1] as FuzzNode));
  }, 60_000);
});
