// The rumour queue (src/core/gossip/rumours.ts) keeps the order its first version had — least
// told first, newest first among equals, the recipient's own rumour ahead of all — while take()
// costs what it returns rather than what is queued. Checked against that first version (a sort
// of the whole queue per take, kept here as the reference) under random operations, seeded.
import { describe, expect, test } from 'vitest';
import { RumourQueue, maxRefusedInARow } from '../../../src/core/gossip/rumours.ts';
import { createRng } from '../../../src/core/rng.ts';

/** The original O(n log n) queue, with the same give-up rule for refused items. */
class ReferenceQueue {
  private readonly items = new Map<string, { item: string; told: number; limit: number; seq: number }>();
  private nextSeq = 0;
  evicted = 0;
  constructor(private readonly capacity: number) {}
  get size() {
    return this.items.size;
  }
  put(subject: string, item: string, limit: number) {
    if (!this.items.has(subject) && this.items.size >= this.capacity) {
      let worst: [string, { told: number; seq: number }] | undefined;
      for (const pair of this.items) if (!worst || pair[1].told > worst[1].told || (pair[1].told === worst[1].told && pair[1].seq < worst[1].seq)) worst = pair;
      if (worst) {
        this.items.delete(worst[0]);
        this.evicted++;
      }
    }
    this.items.delete(subject);
    this.items.set(subject, { item, told: 0, limit: Math.max(1, limit), seq: this.nextSeq++ });
  }
  delete(subject: string) {
    this.items.delete(subject);
  }
  take(max: number, first?: string, fits?: (item: string) => boolean): string[] {
    if (this.items.size === 0 || max <= 0) return [];
    const chosen: Array<[string, { item: string; told: number; limit: number }]> = [];
    const head = first !== undefined ? this.items.get(first) : undefined;
    if (head && (!fits || fits(head.item))) chosen.push([first as string, head]);
    const rest = [...this.items.entries()].filter(([subject]) => subject !== first);
    rest.sort((a, b) => a[1].told - b[1].told || b[1].seq - a[1].seq);
    let refused = 0;
    for (const pair of rest) {
      if (chosen.length >= max) break;
      if (fits && !fits(pair[1].item)) {
        if (++refused >= maxRefusedInARow) break;
        continue;
      }
      refused = 0;
      chosen.push(pair);
    }
    for (const [subject, rumour] of chosen) {
      rumour.told++;
      if (rumour.told >= rumour.limit) this.items.delete(subject);
    }
    return chosen.map(([, rumour]) => rumour.item);
  }
}

describe('rumour queue', () => {
  test.each([1, 2, 3, 4, 5, 6])('gives what the reference gives, in the same order, under random operations (seed %i)', (seed) => {
    const rng = createRng(seed);
    const capacity = 40 + rng.int(200);
    const queue = new RumourQueue<string>(capacity);
    const reference = new ReferenceQueue(capacity);
    let version = 0;
    for (let step = 0; step < 4_000; step++) {
      const roll = rng.int(100);
      const subject = `k${rng.int(300)}`;
      if (roll < 55) {
        const item = `${subject}@${version++}`;
        const limit = 1 + rng.int(5);
        queue.put(subject, item, limit);
        reference.put(subject, item, limit);
      } else if (roll < 62) {
        queue.delete(subject);
        reference.delete(subject);
      } else {
        const max = rng.int(40);
        const first = rng.int(3) === 0 ? subject : undefined;
        // A byte budget that runs out part-way (as a sync's does), or none.
        const budget = rng.int(2) === 0 ? Infinity : rng.int(400);
        const spend = () => {
          let left = budget;
          return (item: string) => {
            if (item.length > left) return false;
            left -= item.length;
            return true;
          };
        };
        expect(queue.take(max, first, spend()), `step ${step}`).toEqual(reference.take(max, first, spend()));
      }
      expect(queue.size).toBe(reference.size);
    }
    expect(queue.evicted).toBe(reference.evicted);
  });

  test('a take after a burst of 2,000 rumours looks at about what it returns, not at the whole queue', () => {
    const queue = new RumourQueue<string>(10_000);
    for (let i = 0; i < 2_000; i++) queue.put(`k${i}`, `v${i}`, 3);
    let offered = 0;
    const fits = () => ++offered <= 10;
    expect(queue.take(256, undefined, fits)).toHaveLength(10);
    expect(offered).toBe(10 + maxRefusedInARow);
  });
});
