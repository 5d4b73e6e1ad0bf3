import { describe, expect, it } from 'vitest';
import type { Priority, WorkItem } from '../../../src/core/steal/messages.ts';
import { TaskQueues } from '../../../src/core/steal/queue.ts';
import { judge } from '../../../src/core/steal/verify.ts';
import type { NodeId } from '../../../src/core/types.ts';

const item = (index: number, priority: Priority = 'medium', cost = 1, extra: Partial<WorkItem> = {}): WorkItem =>
  ({
    jobId: 'j',
    index,
    total: 100,
    home: 'h',
    kind: 'k',
    priority,
    params: { index },
    cost,
    replica: 0,
    attempt: 1,
    ticket: 't',
    exclude: [],
    hops: 0,
    ...extra,
  }) as WorkItem;
const limits = { maxTasks: 1000, maxBytes: 1e9, sizeOf: () => 1, atLeastOne: false };
const all = () => true;

describe('task queues', () => {
  it('run critical before high before medium before low, largest first within a level, then arrival order', () => {
    const q = new TaskQueues();
    q.push(item(1, 'low'));
    q.push(item(2, 'medium', 1));
    q.push(item(3, 'critical'));
    q.push(item(4, 'medium', 5));
    q.push(item(5, 'medium', 1));
    q.push(item(6, 'high'));
    const order: number[] = [];
    for (let next = q.takeNext(all); next; next = q.takeNext(all)) order.push(next.index);
    expect(order).toEqual([3, 6, 4, 2, 5, 1]);
    expect(q.size).toBe(0);
    expect(q.totalCost).toBe(0);
  });

  it('skip tasks this node may not run, leaving them for thieves', () => {
    const q = new TaskQueues();
    q.push(item(1, 'critical', 1, { exclude: ['me' as NodeId] }));
    q.push(item(2, 'low'));
    expect(q.takeNext((i) => !i.exclude.includes('me' as NodeId))?.index).toBe(2);
    expect(q.size).toBe(1);
  });

  it('refuse the same attempt twice and find tasks by key', () => {
    const q = new TaskQueues();
    expect(q.push(item(1))).toBe(true);
    expect(q.push(item(1))).toBe(false);
    expect(q.push(item(1, 'medium', 1, { attempt: 2 }))).toBe(true);
    expect(q.get('j#1.0@2')?.attempt).toBe(2);
    expect(q.remove('j#1.0@1')?.index).toBe(1);
    expect(q.size).toBe(1);
  });

  it('give an idle taker its fair share of a big queue, long tasks about one per worker', () => {
    const q = new TaskQueues();
    // 10 long tasks (cost 6.4) and 90 short ones (cost 0.4): 100 in all.
    for (let i = 0; i < 100; i++) q.push(item(i, 'medium', i < 10 ? 6.4 : 0.4));
    const taken = q.takeFitting(all, 16, { lanes: 2, work: 0 }, { lanes: 2, work: 2 }, limits);
    const cost = taken.reduce((s, t) => s + t.cost, 0);
    expect(cost).toBeLessThanOrEqual(16);
    expect(cost).toBeGreaterThan(14);
    const longs = taken.filter((t) => t.cost > 1).length;
    expect(longs).toBe(2);
    expect(q.size).toBe(100 - taken.length);
  });

  it('give nothing to a taker that would start the work later than the giver', () => {
    const q = new TaskQueues();
    for (let i = 0; i < 4; i++) q.push(item(i));
    expect(q.takeFitting(all, 10, { lanes: 1, work: 20 }, { lanes: 4, work: 0 }, limits)).toEqual([]);
    // ...unless it is idle and must get something.
    expect(q.takeFitting(all, 0, { lanes: 1, work: 20 }, { lanes: 4, work: 0 }, { ...limits, atLeastOne: true })).toHaveLength(1);
  });

  it('respect the task and byte caps of one message', () => {
    const q = new TaskQueues();
    for (let i = 0; i < 50; i++) q.push(item(i));
    expect(q.takeFitting(all, 100, { lanes: 8, work: 0 }, { lanes: 0, work: 0 }, { ...limits, maxTasks: 7 })).toHaveLength(7);
    expect(q.takeFitting(all, 100, { lanes: 8, work: 0 }, { lanes: 0, work: 0 }, { ...limits, maxBytes: 1000, sizeOf: () => 300 })).toHaveLength(3);
  });
});

describe('verification vote', () => {
  const a = 'a' as NodeId,
    b = 'b' as NodeId,
    c = 'c' as NodeId,
    d = 'd' as NodeId;
  it('accepts the first answer without redundancy', () => {
    expect(judge([{ node: a, digest: 'x' }], 1, 0, 1, 1)).toEqual({ kind: 'accept', digest: 'x', agreeing: [a], wrong: [] });
  });
  it('waits for r matching answers, then accepts and names the odd one out', () => {
    expect(judge([{ node: a, digest: 'x' }], 2, 1, 2, 4)).toEqual({ kind: 'wait' });
    expect(
      judge(
        [
          { node: a, digest: 'x' },
          { node: b, digest: 'x' },
        ],
        2,
        0,
        2,
        4,
      ),
    ).toMatchObject({ kind: 'accept', agreeing: [a, b], wrong: [] });
    expect(
      judge(
        [
          { node: a, digest: 'x' },
          { node: b, digest: 'y' },
          { node: c, digest: 'x' },
        ],
        2,
        0,
        3,
        4,
      ),
    ).toMatchObject({ kind: 'accept', digest: 'x', wrong: [b] });
  });
  it('spawns a tie-breaker on disagreement and gives up past the cap', () => {
    expect(
      judge(
        [
          { node: a, digest: 'x' },
          { node: b, digest: 'y' },
        ],
        2,
        0,
        2,
        4,
      ),
    ).toEqual({ kind: 'spawn', count: 1 });
    expect(
      judge(
        [
          { node: a, digest: 'x' },
          { node: b, digest: 'y' },
          { node: c, digest: 'z' },
          { node: d, digest: 'w' },
        ],
        2,
        0,
        4,
        4,
      ),
    ).toMatchObject({ kind: 'fail' });
    expect(
      judge(
        [
          { node: a, digest: 'x' },
          { node: b, digest: 'y' },
          { node: c, digest: 'x' },
        ],
        3,
        0,
        3,
        5,
      ),
    ).toEqual({ kind: 'spawn', count: 1 });
  });
});
