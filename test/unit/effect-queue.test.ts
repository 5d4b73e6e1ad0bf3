// Group commit in EffectQueue (grouped mode, used by gossip): steps that come while a write is on
// its way share the next transaction, the last word on a key wins, actions run in order and only
// once their writes are durable, and a failed batch runs none of its actions.
import { describe, expect, test } from 'vitest';
import { EffectQueue } from '../../src/worker/effect-queue.ts';
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

describe('grouped effect queue', () => {
  test('a burst of steps costs two transactions, keeps order, and the last write of a key wins', async () => {
    const storage = new CountingStorage();
    const queue = new EffectQueue(storage, () => {}, { grouped: true });
    const ran: number[] = [];
    for (let i = 0; i < 100; i++) {
      queue.run({ set: [[`k${i % 10}`, i]], del: [] }, () => ran.push(i));
      if (i === 0) await Promise.resolve(); // the first batch is on its way; the rest group behind it
    }
    queue.run(null, () => ran.push(100));
    await queue.drained();
    expect(ran).toEqual(Array.from({ length: 101 }, (_, i) => i));
    expect(storage.batches).toBeLessThanOrEqual(2);
    expect(await storage.get('k9')).toBe(99);
  });

  test('a delete after a write of the same key in one batch deletes it, and a write after a delete keeps it', async () => {
    const storage = new CountingStorage();
    await storage.set('gone', 1);
    const queue = new EffectQueue(storage, () => {}, { grouped: true });
    queue.run({ set: [['a', 1]], del: [] }, () => {});
    queue.run({ set: [['gone', 2]], del: [] }, () => {});
    queue.run({ set: [], del: ['gone'] }, () => {});
    queue.run({ set: [], del: ['a'] }, () => {});
    queue.run({ set: [['a', 3]], del: [] }, () => {});
    await queue.drained();
    expect(await storage.get('gone')).toBeUndefined();
    expect(await storage.get('a')).toBe(3);
  });

  test('a failed batch runs none of its actions and reports once', async () => {
    const storage = new CountingStorage();
    storage.fail = true;
    const errors: unknown[] = [];
    const queue = new EffectQueue(storage, (e) => errors.push(e), { grouped: true });
    const ran: string[] = [];
    queue.run({ set: [['a', 1]], del: [] }, () => ran.push('a'));
    queue.run({ set: [['b', 1]], del: [] }, () => ran.push('b'));
    await queue.drained();
    expect(ran).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(queue.storageFailures).toBe(1);
  });
});
