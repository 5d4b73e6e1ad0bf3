// Issue 7, bad input: a record in a node's store that does not decode is reported, moved to a
// bounded quarantine, and that part of the node starts clean — the node neither fails nor
// silently drops it. The helper on the memory store, then every loader on a real node's store
// (a whole real node in a RealRoom, test/sim/real-node/real-room.ts) with garbage written into
// its disk.
import { describe, expect, test } from 'vitest';
import { MemoryStorage } from '../../src/store/memory.ts';
import { listSetAside, loadChecked, maxSetAsideRecords, setAside, setAsidePrefix } from '../../src/store/set-aside.ts';
import { loadOrCreateIdentity } from '../../src/worker/identity-store.ts';
import { checkGossipRecord } from '../../src/worker/services/gossip.ts';
import { checkPbftRecord } from '../../src/worker/services/pbft-stored.ts';
import { followStorageKey, decodeFollowRecord } from '../../src/core/pbft-room/index.ts';
import { decodePersistedJobs } from '../../src/core/steal/persist.ts';
import { RealRoom } from '../sim/real-node/real-room.ts';
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
    const room = new RealRoom(seed);
    const nodes = await room.replicaRoom(4);
    const victim = nodes[0]!;
    room.command(victim, 'setMemory', 'colour', 'blue');
    await room.until(room.propose(nodes[1]!, 'before the damage'), `a proposal commits before the damage ${hint}`);
    await room.runFor(1_000);
    // Its disk as the crash leaves it.
    room.crash(victim);
    const disk = victim.disk.durable;
    const before = [...disk.keys()];
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
    for (const [key, value] of Object.entries(garbage)) disk.set(key, value);
    await room.restart(victim);
    await room.runFor(8_000);
    const storage = victim.storage!;

    const quarantine = await listSetAside(storage);
    expect(quarantine.map((r) => r.key).sort(), hint).toEqual(Object.keys(garbage).sort());
    for (const record of quarantine) expect(record.reason, `${record.key} says why ${hint}`).toMatch(/\S/);
    // What is left in the store decodes: nothing damaged was kept in place.
    const gossipCheck = checkGossipRecord(victim.id);
    for (const key of await storage.keys()) {
      const value = await storage.get(key);
      if (key.startsWith('gossip/')) expect(gossipCheck(key, value), `${key} ${hint}`).toBeNull();
      if (key.startsWith('pbft/')) expect(checkPbftRecord(key, value), `${key} ${hint}`).toBeNull();
      if (key === followStorageKey) expect(decodeFollowRecord(value).ok, `${key} ${hint}`).toBe(true);
    }
    expect(decodePersistedJobs(await Promise.all((await storage.keys('steal/')).map(async (k) => [k, await storage.get(k)] as const))).skipped).toEqual([]);
    // It started clean and is back: it sees the others alive, it follows the room's genesis
    // again, and a proposal commits.
    await room.runUntil(() => room.aliveMembers(victim).length === 4, `the node sees all four alive ${hint}`);
    expect(room.genesisOf(victim), hint).toBe(room.genesisOf(nodes[1]!));
    await room.until(room.propose(nodes[2]!, 'after the damage'), `a proposal commits after the restart ${hint}`, 40_000);
    expect(room.logConflicts(), hint).toEqual([]);

    // The record of which genesis it follows, damaged: set aside, and the room's genesis is found again.
    await room.runFor(1_000);
    room.crash(victim);
    victim.disk.durable.set(followStorageKey, null);
    await room.restart(victim);
    await room.runFor(8_000);
    expect(
      (await listSetAside(victim.storage!)).map((r) => r.key),
      hint,
    ).toContain(followStorageKey);
    expect(decodeFollowRecord(await victim.storage!.get(followStorageKey)).ok, hint).toBe(true);
    expect(room.genesisOf(victim), hint).toBe(room.genesisOf(nodes[1]!));
  }, 60_000);
});
