// tabmesh/node's joinRoom (src/api/node.ts) in this test's own process joins a room with a real
// Chromium tab (window.tabmesh.joinRoom): each hears the other join, memory writes cross both
// ways as change events, and the Node side's leave() reaches the tab as a peer-leave.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newUser, openTab, startServer, type RunningServer } from './harness.ts';
import { eventsOf, join, joinsOf, waitFor } from './api-helpers.ts';
import { joinRoom, InvalidArgumentError, type MemoryChangeEvent, type Room } from '../../src/api/node.ts';

describe('tabmesh/node joinRoom with a browser tab', () => {
  let server: RunningServer;
  let browser: Browser;
  let tab: Page;
  let tabId: string;
  let room: Room | undefined;
  const nodeEvents: string[] = [];
  const nodeChanges: MemoryChangeEvent[] = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    tab = await openTab(await newUser(browser), server.url, 'api-node-dashboards');
    tabId = (await join(tab, 'api-node')).id;
    room = await joinRoom({ room: 'api-node', signaling: server.url });
    room.on('peer-join', (peer) => nodeEvents.push(`join ${peer}`));
    room.on('peer-leave', (peer) => nodeEvents.push(`leave ${peer}`));
    room.memory.on('change', (change) => nodeChanges.push(change));
  });

  afterAll(async () => {
    await room?.leave();
    await browser?.close();
    await server?.stop();
  });

  test('the Node node and the tab hear each other join', async () => {
    const node = room!;
    expect(node.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(node.id).not.toBe(tabId);
    await waitFor(
      async () => nodeEvents,
      (events) => events.includes(`join ${tabId}`),
      'the Node side hears the tab join',
    );
    await waitFor(
      () => eventsOf(tab, 0),
      (events) => joinsOf(events).includes(node.id),
      'the tab hears the Node side join',
    );
    expect(node.peers()).toEqual([tabId]);
  });

  test('memory writes cross both ways as change events naming their origin', async () => {
    const node = room!;
    await node.memory.set('from-node', { n: 1 });
    await waitFor(
      () => eventsOf(tab, 0),
      (events) => events.some((e) => e.key === 'from-node' && e.origin === node.id),
      'the tab hears the Node write',
    );
    await tab.evaluate(() => window.apiTest!.rooms[0]!.memory.set('from-tab', 'hello'));
    await waitFor(
      async () => nodeChanges,
      (changes) => changes.some((c) => c.key === 'from-tab'),
      'the Node side hears the tab write',
    );
    expect(nodeChanges.find((c) => c.key === 'from-tab')).toMatchObject({ value: 'hello', origin: tabId, deleted: false });
    expect(node.memory.get('from-tab')).toBe('hello');
    // (The entries in the message: a third key was seen once under load, origin unknown.)
    const entries = node.memory.entries();
    expect(
      entries.map((e) => e.key),
      JSON.stringify(entries),
    ).toEqual(['from-node', 'from-tab']);
  });

  test('bad options are refused with what to change, and leave() reaches the tab as a peer-leave', async () => {
    await expect(joinRoom({ room: 'api-node' } as never)).rejects.toThrow(/options.signaling: is required/);
    await expect(joinRoom({ room: 'api-node', signaling: 'ftp://x' })).rejects.toThrow(InvalidArgumentError);
    await expect(joinRoom({ room: 'api-node', signaling: 'http://127.0.0.1:1', iceTransportPolicy: 'turn' as never })).rejects.toThrow(
      /iceTransportPolicy: .*'all' or 'relay'/,
    );
    const node = room!;
    await node.leave();
    await waitFor(
      () => eventsOf(tab, 0),
      (events) => events.some((e) => e.type === 'leave' && e.peer === node.id),
      'the tab hears the Node side leave',
    );
    await expect(node.memory.set('k', 1)).rejects.toMatchObject({ code: 'room-closed' });
  });
});
