// Issue 3 in real Chromium: the gossip core runs in each tab's worker over the data channels.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { snapshotOf, startRoom, waitForSnapshot, type Room } from './harness.ts';

describe('gossip across four tabs', () => {
  let room: Room | undefined;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    room = await startRoom(4, 'gossip');
    ({ tabs, ids } = room);
  });

  afterAll(async () => {
    await room?.close();
  });

  test('every tab sees all four members alive', async () => {
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(tab, (s) => ids.every((id) => s.members.some((m) => m.id === id && m.status === 'alive')), `tab ${i} sees four live members`);
    }
  });

  test('a memory key written in one tab appears in all of them, and so does its deletion', async () => {
    await tabs[0]!.evaluate(() => window.tabmesh.setMemory('greeting', { text: 'hello', n: 1 }));
    for (const [i, tab] of tabs.entries()) {
      const s = await waitForSnapshot(tab, (s) => 'greeting' in s.memory, `tab ${i} has the key`);
      expect(s.memory['greeting']).toEqual({ text: 'hello', n: 1 });
      expect(s.memoryEntries.find((e) => e.key === 'greeting')?.origin).toBe(ids[0]);
    }
    // A later write from another tab wins everywhere.
    await tabs[2]!.evaluate(() => window.tabmesh.setMemory('greeting', 'hi again'));
    for (const [i, tab] of tabs.entries()) await waitForSnapshot(tab, (s) => s.memory['greeting'] === 'hi again', `tab ${i} has the newer value`);
    await tabs[3]!.evaluate(() => window.tabmesh.deleteMemory('greeting'));
    for (const [i, tab] of tabs.entries()) await waitForSnapshot(tab, (s) => !('greeting' in s.memory), `tab ${i} saw the delete`);
  });

  test('a write reaches another tab as a delta (onMemory), and getMemory reads it without a snapshot', async () => {
    const heard = tabs[1]!.evaluate(
      () =>
        new Promise<{ key: string; value?: unknown; origin: string } | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), 20_000);
          const stop = window.tabmesh.onMemory((change) => {
            if (change.key !== 'delta-key') return;
            clearTimeout(timer);
            stop();
            resolve(change);
          });
        }),
    );
    await tabs[1]!.evaluate(() => true); // the listener is installed
    await tabs[0]!.evaluate(() => window.tabmesh.setMemory('delta-key', { n: 7 }));
    expect(await heard).toMatchObject({ key: 'delta-key', value: { n: 7 }, origin: ids[0] });
    expect(await tabs[1]!.evaluate(() => window.tabmesh.getMemory('delta-key'))).toEqual({ n: 7 });
    expect((await snapshotOf(tabs[1]!)).memory['delta-key']).toEqual({ n: 7 });
  });

  test('a bad write is refused with a reason and changes nothing', async () => {
    const error = await tabs[1]!.evaluate(() =>
      window.tabmesh.setMemory('big', 'x'.repeat(20_000)).then(
        () => 'accepted',
        (e: Error) => e.message,
      ),
    );
    expect(error).not.toBe('accepted');
    expect(error.length).toBeGreaterThan(10);
    expect('big' in (await snapshotOf(tabs[1]!)).memory).toBe(false);
  });

  // The page sends its worker's leave notice on every link as it closes, so peers see 'left' at
  // once rather than 'dead' after the failure detector's timeouts.
  test('a closed tab turns left in the others: its page says the leave as it goes', async () => {
    const closedId = ids[3]!;
    await tabs[3]!.close({ runBeforeUnload: true });
    for (const [i, tab] of tabs.slice(0, 3).entries()) {
      await waitForSnapshot(tab, (s) => s.members.some((m) => m.id === closedId && m.status === 'left'), `tab ${i} marks the closed tab left`);
    }
  });
});
