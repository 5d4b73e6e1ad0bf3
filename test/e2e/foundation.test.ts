// Issue 2, in real headless Chromium: tabs in one browser and a page in a second browser
// process form a mesh over WebRTC, exchange messages, notice a closed tab, keep their id over
// a reload, and never see a room they are not in.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, startServer, waitForSnapshot, type RunningServer } from './harness.ts';

const room = 'foundation';

describe('a mesh of three tabs and a second browser', () => {
  let server: RunningServer;
  let browserA: Browser;
  let browserB: Browser;
  let userA: BrowserContext;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    [browserA, browserB] = await Promise.all([launchBrowser(), launchBrowser()]);
    userA = await newUser(browserA);
    const userB = await newUser(browserB);
    tabs = [];
    for (let i = 0; i < 3; i++) tabs.push(await openTab(userA, server.url, room));
    tabs.push(await openTab(userB, server.url, room));
    ids = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
  });

  afterAll(async () => {
    await Promise.all([browserA?.close(), browserB?.close()]);
    await server?.stop();
  });

  test('every node has its own id, and tabs of one browser hold different slots', async () => {
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const slots = await Promise.all(tabs.slice(0, 3).map(async (t) => (await snapshotOf(t)).slot));
    expect(new Set(slots).size).toBe(3);
  });

  test('all four connect to each other over WebRTC and measure round-trip times', async () => {
    for (const [i, tab] of tabs.entries()) {
      const others = ids.filter((_, j) => j !== i).sort();
      const snapshot = await waitForSnapshot(
        tab,
        (s) => linkedPeers(s).join() === others.join() && s.links.every((l) => l.rttMs !== null),
        `tab ${i} linked to the other three with RTTs measured`,
      );
      for (const link of snapshot.links) expect(link.rttMs).toBeGreaterThanOrEqual(0);
    }
  });

  test('they exchange messages over the data channels', async () => {
    for (const [i, tab] of tabs.entries()) {
      const sent = await tab.evaluate((text) => window.tabmesh.broadcast(text), `hello from ${i}`);
      expect(sent).toBe(3);
    }
    for (const [i, tab] of tabs.entries()) {
      const snapshot = await waitForSnapshot(tab, (s) => s.messages.length >= 3, `tab ${i} received three messages`);
      const received = snapshot.messages.map((m) => `${m.from}:${m.text}`).sort();
      const expected = ids.flatMap((id, j) => (j === i ? [] : [`${id}:hello from ${j}`])).sort();
      expect(received).toEqual(expected);
    }
    // A direct message reaches exactly its addressee.
    await tabs[0]!.evaluate(([peer]) => window.tabmesh.send(peer!, 'just for you'), [ids[3]]);
    await waitForSnapshot(tabs[3]!, (s) => s.messages.some((m) => m.text === 'just for you' && m.from === ids[0]), 'direct message arrived');
    const refused = await tabs[0]!.evaluate(() =>
      window.tabmesh.send('x'.repeat(42) + 'A', 'nobody').then(
        () => 'sent',
        (e: Error) => e.message,
      ),
    );
    expect(refused).toMatch(/no direct link/);
  });

  test('a tab in another room sees none of them', async () => {
    const loner = await openTab(userA, server.url, 'elsewhere');
    const lonerId = (await snapshotOf(loner)).id;
    expect(ids).not.toContain(lonerId);
    // By the time every room member has confirmed its full set of links, an introduction to
    // the loner would have arrived too; it must see nobody and nobody must see it.
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(tab, (s) => s.links.length === 3, `tab ${i} still has its three links`);
    }
    const lonerSnapshot = await snapshotOf(loner);
    expect(lonerSnapshot.room).toBe('elsewhere');
    expect(lonerSnapshot.knownPeers).toEqual([]);
    expect(lonerSnapshot.links).toEqual([]);
    for (const tab of tabs) expect((await snapshotOf(tab)).knownPeers).not.toContain(lonerId);
    await loner.close();
  });

  test('a reloaded tab comes back with the same id and links up again', async () => {
    const before = await snapshotOf(tabs[1]!);
    await tabs[1]!.reload();
    const after = await waitForSnapshot(tabs[1]!, (s) => s.signaling === 'joined' && s.links.length === 3, 'reloaded tab relinked');
    expect(after.id).toBe(before.id);
    expect(after.slot).toBe(before.slot);
    expect(after.identity).toBe('loaded');
  });

  test("a tab that closes is gone from the others' links within 5 s", async () => {
    const closing = tabs[2]!;
    const closingId = ids[2]!;
    await closing.close({ runBeforeUnload: true });
    const closedAt = Date.now();
    for (const [i, tab] of tabs.entries()) {
      if (i === 2) continue;
      await waitForSnapshot(tab, (s) => !linkedPeers(s).includes(closingId), `tab ${i} dropped the closed tab`, Math.max(1, 5_000 - (Date.now() - closedAt)));
    }
  });
});
