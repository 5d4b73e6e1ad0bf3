// The library API (issue 17) in real Chromium: tabs call joinRoom (through window.tabmesh.joinRoom,
// the app's own build) beside the dashboard's node, and see each other's peer-join, memory
// changes and peer-leave; one page holds two nodes of one room and a node of another room.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newUser, openTab, startServer, type RunningServer } from './harness.ts';
import { eventsOf, join, joinsOf, waitFor } from './api-helpers.ts';

describe('joinRoom across three tabs', () => {
  let server: RunningServer;
  let browser: Browser;
  const tabs: Page[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const user = await newUser(browser);
    // The dashboards are in a room of their own: the library's nodes below meet only each other.
    for (let i = 0; i < 3; i++) tabs.push(await openTab(user, server.url, 'api-dashboards'));
    for (const tab of tabs) ids.push((await join(tab, 'api-e2e')).id);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('each node gets a peer-join for each other node, once, and peers() lists them', async () => {
    expect(new Set(ids).size).toBe(3);
    for (const [i, tab] of tabs.entries()) {
      const others = ids.filter((_, j) => j !== i);
      const events = await waitFor(
        () => eventsOf(tab, 0),
        (ev) => others.every((id) => joinsOf(ev).includes(id)),
        `tab ${i} hears both others join`,
      );
      expect(joinsOf(events).sort()).toEqual([...others].sort());
      expect(events.some((e) => e.type === 'leave')).toBe(false);
      expect((await tab.evaluate(() => window.apiTest!.rooms[0]!.peers())).sort()).toEqual([...others].sort());
    }
  });

  test('a memory write in one tab reaches the others as a change event naming its origin', async () => {
    await tabs[0]!.evaluate(() => window.apiTest!.rooms[0]!.memory.set('poll', { question: 'lunch?', votes: 2 }));
    for (const [i, tab] of tabs.entries()) {
      const events = await waitFor(
        () => eventsOf(tab, 0),
        (ev) => ev.some((e) => e.type === 'change' && e.key === 'poll'),
        `tab ${i} hears of the write`,
      );
      expect(events.find((e) => e.key === 'poll')).toMatchObject({ value: { question: 'lunch?', votes: 2 }, origin: ids[0], deleted: false });
      expect(await tab.evaluate(() => window.apiTest!.rooms[0]!.memory.get('poll'))).toEqual({ question: 'lunch?', votes: 2 });
    }
    await tabs[1]!.evaluate(() => window.apiTest!.rooms[0]!.memory.delete('poll'));
    await waitFor(
      () => eventsOf(tabs[2]!, 0),
      (ev) => ev.some((e) => e.type === 'change' && e.key === 'poll' && e.deleted === true && e.origin === ids[1]),
      'tab 2 hears of the delete by tab 1',
    );
    // A bad argument is refused in the page with a typed error, before it reaches the node.
    const refusal = await tabs[0]!.evaluate(() =>
      window.apiTest!.rooms[0]!.memory.set('', 1).then(
        () => null,
        (e: { name: string; code: string; message: string }) => ({ name: e.name, code: e.code, message: e.message }),
      ),
    );
    expect(refusal).toEqual({ name: 'InvalidArgumentError', code: 'invalid-argument', message: 'memory.set: key: must be a string of 1–256 characters' });
  });

  test('one page holds two nodes of one room and a node of another, each with its own id', async () => {
    const second = await join(tabs[0]!, 'api-e2e');
    const elsewhere = await join(tabs[0]!, 'api-elsewhere');
    expect(new Set([...ids, second.id, elsewhere.id]).size).toBe(5);
    // The page's two nodes of api-e2e meet like any two nodes, and the others hear of the newcomer.
    await waitFor(
      () => eventsOf(tabs[0]!, 0),
      (ev) => joinsOf(ev).includes(second.id),
      'the first node of tab 0 hears its sibling join',
    );
    const events = await waitFor(
      () => eventsOf(tabs[0]!, second.index),
      (ev) => ids.every((id) => joinsOf(ev).includes(id)),
      'the second node of tab 0 hears all three join',
    );
    expect(joinsOf(events).sort()).toEqual([...ids].sort());
    await waitFor(
      () => eventsOf(tabs[1]!, 0),
      (ev) => joinsOf(ev).includes(second.id),
      'tab 1 hears the second node of tab 0 join',
    );
    // The node of the other room is alone there: it hears of nobody.
    expect(await eventsOf(tabs[0]!, elsewhere.index)).toEqual([]);
    expect(await tabs[0]!.evaluate((i) => window.apiTest!.rooms[i]!.peers(), elsewhere.index)).toEqual([]);
    // Every node has its own slot, and the dashboard's node still runs beside them.
    const slots = await tabs[0]!.evaluate(() => window.apiTest!.rooms.map((r) => r.snapshot()?.slot));
    expect(new Set([...slots, await tabs[0]!.evaluate(() => window.tabmesh.snapshot()?.slot)]).size).toBe(4);
  });

  test('leave() tells the others (peer-leave after its join), and the left room refuses every call', async () => {
    const leaving = ids[2]!;
    await tabs[2]!.evaluate(() => window.apiTest!.rooms[0]!.leave());
    for (const i of [0, 1]) {
      const events = await waitFor(
        () => eventsOf(tabs[i]!, 0),
        (ev) => ev.some((e) => e.type === 'leave' && e.peer === leaving),
        `tab ${i} hears tab 2 leave`,
      );
      const about = events.filter((e) => e.peer === leaving).map((e) => e.type);
      expect(about).toEqual(['join', 'leave']);
      expect(await tabs[i]!.evaluate(() => window.apiTest!.rooms[0]!.peers())).not.toContain(leaving);
    }
    const after = await tabs[2]!.evaluate(async () => {
      const room = window.apiTest!.rooms[0]!;
      const sync = (() => {
        try {
          room.peers();
          return null;
        } catch (e) {
          return (e as { code: string }).code;
        }
      })();
      const async = await room.memory.set('k', 1).then(
        () => null,
        (e: { code: string; name: string }) => `${e.name}/${e.code}`,
      );
      await room.leave(); // again: resolves, does nothing
      return { sync, async, closed: room.closed };
    });
    expect(after).toEqual({ sync: 'room-closed', async: 'RoomClosedError/room-closed', closed: true });
  });
});
