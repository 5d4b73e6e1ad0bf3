// Browser-test helpers: a real server on loopback, real headless Chromium processes, tabs
// that run the production build, and waiting on conditions over window.tabmesh (never sleeps).
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { createTabmeshServer, type TabmeshServer, type TabmeshServerOptions } from '../../signaling/server.ts';
import type { NodeSnapshot } from '../../src/mesh-node.ts';
import { chromiumArgs } from './find-chromium.ts';

export type { NodeSnapshot };

export interface RunningServer {
  server: TabmeshServer;
  url: string;
  stop(): Promise<void>;
}

/**
 * `options`: HTTPS beside HTTP (tls), what /config.json tells pages (lanUrls, certFingerprint), and
 * other names the server is reached by (allowedHostNames: a test's made-up LAN name, as --allowed-hosts).
 */
export async function startServer(
  port = 0,
  options: Pick<TabmeshServerOptions, 'tls' | 'lanUrls' | 'certFingerprint' | 'allowedHostNames'> = {},
): Promise<RunningServer> {
  const server = createTabmeshServer({ port, host: '127.0.0.1', staticDir: inject('distDir'), ...options });
  const { url } = await server.listen();
  return { server, url, stop: () => server.close() };
}

/**
 * A separate Chromium process: a separate "device" with its own profile and IndexedDB.
 * `executablePath` may be a wrapper script (one that enters a network namespace, say);
 * `extraArgs` add to chromiumArgs.
 */
export async function launchBrowser(executablePath: string = inject('chromePath'), extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, ...extraArgs] });
}

export async function newUser(browser: Browser): Promise<BrowserContext> {
  // Without a media permission Chromium hides host ICE candidates behind mDNS names, which
  // cannot resolve on a machine with no multicast; with it, tabs on one host connect directly.
  return browser.newContext({ permissions: ['microphone'] });
}

/** `extraQuery`: more of the page address after the room, e.g. `&signal=ws://…` (a cluster's servers). */
export async function openTab(context: BrowserContext, baseUrl: string, room: string, extraQuery = ''): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${baseUrl}?room=${encodeURIComponent(room)}${extraQuery}`);
  await waitForSnapshot(page, (s) => s.signaling === 'joined', 'joined the room', 30_000);
  return page;
}

export interface Room {
  server: RunningServer;
  browser: Browser;
  tabs: Page[];
  ids: string[];
  /** Closes the browser, then the server. */
  close(): Promise<void>;
}

/** A server, one Chromium process with one user, and `count` tabs joined to `room`, with their node ids. */
export async function startRoom(count: number, room: string): Promise<Room> {
  const server = await startServer();
  const browser = await launchBrowser();
  const user = await newUser(browser);
  const tabs: Page[] = [];
  for (let i = 0; i < count; i++) tabs.push(await openTab(user, server.url, room));
  const ids = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
  return {
    server,
    browser,
    tabs,
    ids,
    close: async () => {
      await browser.close();
      await server.stop();
    },
  };
}

export async function snapshotOf(page: Page): Promise<NodeSnapshot> {
  const snapshot = await page.evaluate(() => window.tabmesh?.snapshot() ?? null);
  if (!snapshot) throw new Error('the tab has no snapshot yet');
  return snapshot;
}

/**
 * Waits until `predicate(snapshot)` holds in the tab, polling window.tabmesh.snapshot().
 * On timeout the error names the condition and shows the last snapshot.
 */
export async function waitForSnapshot(page: Page, predicate: (snapshot: NodeSnapshot) => boolean, what: string, timeoutMs = 20_000): Promise<NodeSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await page.evaluate(() => window.tabmesh?.snapshot() ?? null).catch(() => null);
    if (last && predicate(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast snapshot: ${JSON.stringify(last, null, 2)}`);
    }
    await page.waitForTimeout(100);
  }
}

export const linkedPeers = (snapshot: NodeSnapshot): string[] => snapshot.links.map((l) => l.peer).sort();

/**
 * Waits until every tab of a small room (≤ 5 tabs, where the overlay links everyone) is linked
 * to all the others and sees them alive.
 */
export async function waitForFullMesh(room: Pick<Room, 'tabs' | 'ids'>, timeoutMs = 30_000): Promise<void> {
  const others = room.tabs.length - 1;
  for (const [i, tab] of room.tabs.entries()) {
    await waitForSnapshot(
      tab,
      (s) => s.links.length === others && room.ids.every((id) => s.members.some((m) => m.id === id && m.status === 'alive')),
      `tab ${i} is linked to the ${others} others and sees them alive`,
      timeoutMs,
    );
  }
}
