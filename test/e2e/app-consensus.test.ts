// An app's own state machine over pBFT in real Chromium: four tabs (f = 1) each run a counter
// machine in the page (window.tabmesh.consensus → src/api/consensus.ts); two tabs propose at
// once while a third tab's replica is Byzantine, and every tab's counter ends equal, with each
// proposal resolved by the total after it. Then a tab of another user arrives late and catches
// up by restoring the certified snapshot and applying the operations after it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { newUser, openTab, snapshotOf, startRoom, waitForSnapshot, type Room } from './harness.ts';
import type { Consensus } from '../../src/api/consensus.ts';

const roomName = 'app-consensus';

interface CounterInPage {
  handle: Consensus<{ add: number }, number>;
  machine: { total: number };
  restored: number[];
  diverged: number;
  /** Operations applied one by one (not counting those a restored snapshot covered). */
  appliedOneByOne: number;
}

declare global {
  interface Window {
    /** This test's counter machine in the page. */
    __counter?: CounterInPage;
  }
}

/** Starts the counter machine in the tab: the app's code lives in the page, as an app's would. */
async function startCounter(tab: Page): Promise<void> {
  await tab.evaluate(() => {
    const machine = {
      total: 0,
      apply(op: { add: number }) {
        if (typeof op?.add !== 'number') throw new Error('an operation is { add: number }');
        this.total += op.add;
        return this.total;
      },
      snapshot() {
        return this.total;
      },
      restore(total: number) {
        this.total = total;
      },
    };
    const handle = window.tabmesh.consensus<{ add: number }, number, number>('counter', machine);
    const counter: CounterInPage = { handle, machine, restored: [], diverged: 0, appliedOneByOne: 0 };
    handle.on('applied', () => counter.appliedOneByOne++);
    handle.on('restored', (e) => counter.restored.push(e.index));
    handle.on('diverged', () => counter.diverged++);
    window.__counter = counter;
  });
}

const counterOf = (tab: Page) =>
  tab.evaluate(() => {
    const c = window.__counter!;
    return {
      total: c.machine.total,
      applied: c.handle.applied,
      restored: c.restored,
      diverged: c.diverged,
      appliedOneByOne: c.appliedOneByOne,
      stats: c.handle.stats(),
    };
  });

/** Proposes `count` additions of `add` from the tab at once; resolves with their results. */
const proposeMany = (tab: Page, add: number, count: number) =>
  tab.evaluate(({ add, count }) => Promise.all(Array.from({ length: count }, () => window.__counter!.handle.propose({ add }))), { add, count });

/** Waits until every tab's counter shows `total` after `applied` operations. */
async function countersAt(tabs: Page[], total: number, applied: number, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const counters = await Promise.all(tabs.map(counterOf));
    if (counters.every((c) => c.total === total && c.applied === applied)) return;
    if (Date.now() > deadline) throw new Error(`the counters do not agree (${what}): ${JSON.stringify(counters)}`);
    await tabs[0]!.waitForTimeout(100);
  }
}

describe("an app's own state machine across four tabs, one of them Byzantine", () => {
  let room: Room | undefined;
  let tabs: Page[] = [];

  beforeAll(async () => {
    room = await startRoom(4, roomName);
    tabs = room.tabs;
    const all = [...room.ids].sort().join();
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => [...s.consensus.replicas].sort().join() === all && s.consensus.genesis?.settled === true,
        `tab ${i} is one of four replicas under a settled genesis`,
        60_000,
      );
    }
    for (const tab of tabs) await startCounter(tab);
  });

  afterAll(async () => {
    await room?.close();
  });

  test('two tabs propose while a third is Byzantine: every tab ends with the same counter', async () => {
    const byzantine = tabs[3]!;
    await byzantine.evaluate(() => window.tabmesh.setByzantine('wrong-digest'));
    await waitForSnapshot(byzantine, (s) => s.consensus.byzantine === 'wrong-digest', 'tab 3 is Byzantine');
    const [ones, tens] = await Promise.all([proposeMany(tabs[0]!, 1, 20), proposeMany(tabs[1]!, 10, 20)]);
    // Each result is the total right after that operation: 40 different totals, the last 220.
    const results = [...ones, ...tens].sort((a, b) => a - b);
    expect(new Set(results).size).toBe(40);
    expect(results.at(-1)).toBe(220);
    await countersAt(tabs, 220, 40, 'after 40 proposals from two tabs');
    // The Byzantine replica's wrong votes were refused by the honest ones.
    const refused = await Promise.all(tabs.slice(0, 3).map(async (t) => (await snapshotOf(t)).consensus.rejected['wrong-digest'] ?? 0));
    expect(refused.some((n) => n > 0)).toBe(true);
    await byzantine.evaluate(() => window.tabmesh.setByzantine(null));
    // Replicas' apps voted snapshots every 16 operations; f+1 matched, and nobody diverged.
    const s = await waitForSnapshot(
      tabs[2]!,
      (x) => x.consensus.machines.some((m) => m.name === 'counter' && m.certifiedIndex === 32),
      'the counter has a certified snapshot at 32',
      30_000,
    );
    expect(s.consensus.machines.find((m) => m.name === 'counter')).toMatchObject({
      ordered: 40,
      divergences: 0,
      local: { threw: 0, diverged: 0, 'bad-snapshot': 0 },
    });
    for (const c of await Promise.all(tabs.map(counterOf))) expect(c.diverged).toBe(0);
  });

  test('a tab that arrives late restores the certified snapshot, applies the rest, and then takes part', async () => {
    const late = await openTab(await newUser(room!.browser), room!.server.url, roomName);
    await startCounter(late);
    await countersAt([late], 220, 40, 'the late tab caught up');
    const caughtUp = await counterOf(late);
    // It restored a certified snapshot (voted at 16 or 32, whichever its node's state transfer
    // carried) and applied only the operations after it one by one.
    expect(caughtUp.restored).toHaveLength(1);
    const from = caughtUp.restored[0]!;
    expect([16, 32]).toContain(from);
    expect(caughtUp.appliedOneByOne).toBe(40 - from);
    expect(caughtUp.stats).toMatchObject({ restores: 1, threw: 0, divergences: 0 });
    // Its proposals count like anyone's.
    expect(await late.evaluate(() => window.__counter!.handle.propose({ add: 100 }))).toBe(320);
    await countersAt([...tabs, late], 320, 41, 'after the late tab proposed');
  });
});
