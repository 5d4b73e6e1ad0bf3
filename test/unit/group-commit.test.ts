// The effect driver's write policy (src/worker/group-commit.ts): the last word on a key wins
// within a batch, a failed batch runs none of its actions and is reported once, and without
// grouping every request is a transaction of its own, still in order. (How writes group while
// one is on its way: test/unit/pbft-service/parts.test.ts and effect-driver.test.ts.)
import { describe, expect, test } from 'vitest';
import { GroupCommit } from '../../src/worker/group-commit.ts';
import { MemoryStorage } from '../../src/store/memory.ts';

class CountingStorage extends MemoryStorage {
  batches = 0;
  fail = false;
  override async setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    this.batches++;
    if (this.fail) throw new Error('disk full');
    return super.setMany(entries);
  }
}

const commitOn = (storage: MemoryStorage, errors: unknown[] = [], grouped?: boolean) =>
  new GroupCommit(storage, { now: () => 0, failed: (e) => void errors.push(e), ...(grouped === undefined ? {} : { grouped }) });

describe('group commit', () => {
  test('a delete after a write of the same key in one batch deletes it, and a write after a delete keeps it', async () => {
    const storage = new CountingStorage();
    await storage.set('gone', 1);
    const commit = commitOn(storage);
    commit.persist([['a', 1]], []);
    commit.persist([['gone', 2]], []);
    commit.persist([], ['gone']);
    commit.persist([], ['a']);
    commit.persist([['a', 3]], []);
    await commit.idle();
    expect(await storage.get('gone')).toBeUndefined();
    expect(await storage.get('a')).toBe(3);
  });

  test('a failed batch runs none of its actions and is reported, once per batch', async () => {
    const storage = new CountingStorage();
    storage.fail = true;
    const errors: unknown[] = [];
    const commit = commitOn(storage, errors);
    const ran: string[] = [];
    commit.persist([['a', 1]], []);
    commit.after(() => ran.push('a'));
    commit.persist([['b', 1]], []);
    commit.after(() => ran.push('b'));
    await commit.idle();
    // 'a' went alone (nothing was on its way); 'b' waited and went in the next batch.
    expect(ran).toEqual([]);
    expect(errors).toHaveLength(2);
    expect(commit.storageFailures).toBe(2);
    expect(commit.stats()).toMatchObject({ batches: 2, requests: 2 });
  });

  test('without grouping, each request is its own transaction, in order', async () => {
    const storage = new CountingStorage();
    const commit = commitOn(storage, [], false);
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) {
      commit.persist([['k', i]], []);
      commit.after(() => ran.push(i));
    }
    await commit.idle();
    expect(storage.batches).toBe(5);
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(await storage.get('k')).toBe(4);
  });
});
