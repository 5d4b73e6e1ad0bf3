// Issue 17, "a package people can install": `npm pack` this repository, install the tarball into
// a fresh Vite + TypeScript app in a temporary folder (test/e2e/package-app/), typecheck it
// against the package's .d.ts, build it with Vite and, separately, with esbuild (copying the
// workers as docs/packaging.md says), serve each build with `tabmesh/server` from the tarball in
// its own Node process, and open tabs in Chromium that join one room and exchange a message.
// A Node peer from `tabmesh/node` (from the tarball too) joins the same room.
//
// Issue 17, "an example app": examples/poll, installed from its own package.json with the same
// tarball, built with its own `npm run build` (tsc + Vite), served by its own server.mjs
// (tabmesh/server); three tabs use it as people would: one asks, all three vote, all three show
// the same tally and the same decision. One file, so the repository is packed once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newUser } from './harness.ts';
import { installApp, packRepository, repoRoot, repoVersionOf, run, startAppProcess, waitForApp, type AppProcess } from './packed-app.ts';

const template = join(repoRoot, 'test/e2e/package-app');

/** What test/e2e/package-app/src/main.ts publishes at `window.app`. */
interface AppState {
  id: string;
  peers: string[];
  heard: { from: string; text: string }[];
  error: string | null;
}

let work: string;
let tarball: string;
let browser: Browser;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tabmesh-pack-'));
  tarball = await packRepository(work);
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball in a fresh app', () => {
  let app: string;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    app = await installApp(template, tarball, { vite: repoVersionOf('vite'), typescript: repoVersionOf('typescript'), esbuild: repoVersionOf('esbuild') });
  }, 300_000);

  afterAll(async () => {
    for (const p of processes) await p.stop();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  test('the package holds its entries, workers, types and licence', () => {
    for (const file of [
      'lib/index.js',
      'lib/node.js',
      'lib/server.js',
      'lib/node.worker.js',
      'lib/kernel.worker.js',
      'lib/module-probe.worker.js',
      'lib/types/src/api/index.d.ts',
      'lib/types/src/api/node.d.ts',
      'lib/types/signaling/index.d.ts',
      'LICENSE',
      'CHANGELOG.md',
    ]) {
      expect(existsSync(join(app, 'node_modules/tabmesh', file)), `node_modules/tabmesh/${file} is missing from the tarball`).toBe(true);
    }
  });

  test('the app typechecks against the package types', async () => {
    await run('tsc on the app', join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app);
  });

  /** Opens `count` tabs of `url` in one browser user and waits until each has joined with every other. */
  async function openJoinedTabs(context: BrowserContext, url: string, room: string, count: number): Promise<Page[]> {
    const tabs: Page[] = [];
    for (let i = 0; i < count; i++) {
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
      await page.goto(`${url}?room=${encodeURIComponent(room)}`);
      tabs.push(page);
    }
    for (const tab of tabs)
      await waitForApp<AppState>(tab, (s) => s.error !== null || s.peers.length >= count - 1, `the tab sees the other ${count - 1} tab(s) join`);
    for (const tab of tabs) expect((await waitForApp<AppState>(tab, () => true, 'state')).error).toBeNull();
    return tabs;
  }

  /** Every tab says hello; every tab hears every other tab's hello. */
  async function expectEveryoneHears(tabs: Page[]): Promise<void> {
    const ids: string[] = [];
    for (const tab of tabs) ids.push((await waitForApp<AppState>(tab, (s) => s.id !== '', 'an id')).id);
    for (const [i, tab] of tabs.entries())
      await tab.evaluate((text) => (window as unknown as { say(text: string): Promise<void> }).say(text), `hello from tab ${i}`);
    for (const [i, tab] of tabs.entries()) {
      const others = ids.filter((_, j) => j !== i);
      const state = await waitForApp<AppState>(tab, (s) => others.every((id) => s.heard.some((h) => h.from === id)), `tab ${i} hears every other tab's hello`);
      for (const [j, id] of ids.entries()) if (j !== i) expect(state.heard).toContainEqual({ from: id, text: `hello from tab ${j}` });
    }
  }

  test('built with Vite and served by tabmesh/server: three tabs join one room and talk; a tabmesh/node peer joins them', async () => {
    await run('vite build of the app', join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], app);
    const server = await startAppProcess(app, 'serve.mjs', ['dist']);
    processes.push(server);
    const url = String(server.first['url']);
    const tabs = await openJoinedTabs(await newUser(browser), url, 'vite-room', 3);
    await expectEveryoneHears(tabs);

    const nodePeer = await startAppProcess(app, 'node-peer.mjs', [url.replace(/^http/, 'ws') + 'signal', 'vite-room']);
    processes.push(nodePeer);
    const nodeId = String(nodePeer.first['id']);
    for (const tab of tabs) await waitForApp<AppState>(tab, (s) => s.peers.includes(nodeId), 'the tab sees the Node peer join');
    for (const [i, tab] of tabs.entries())
      await tab.evaluate((text) => (window as unknown as { say(text: string): Promise<void> }).say(text), `hello Node, from tab ${i}`);
    await nodePeer.waitForLine(
      (line) => Array.isArray(line['heard']) && (line['heard'] as unknown[]).length >= 3,
      'the Node peer hears the three tabs on the chat channel',
    );
    await nodePeer.stop();
    await server.stop();
  });

  test('bundled with esbuild (workers copied beside the bundle): two tabs join one room and talk', async () => {
    await run('esbuild build of the app', process.execPath, ['build-esbuild.mjs'], app);
    const server = await startAppProcess(app, 'serve.mjs', ['dist-esbuild']);
    processes.push(server);
    const tabs = await openJoinedTabs(await newUser(browser), String(server.first['url']), 'esbuild-room', 2);
    await expectEveryoneHears(tabs);
    await server.stop();
  });
});

/** Waits until the page's element `testid` has text satisfying `predicate`; the error shows the text. */
async function waitForText(page: Page, testid: string, predicate: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text =
      (await page
        .getByTestId(testid)
        .textContent()
        .catch(() => null)) ?? '';
    if (predicate(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast text of [data-testid=${testid}]: ${JSON.stringify(text)}`);
    await page.waitForTimeout(100);
  }
}

/** The vote counts a tab shows, in the answers' order. */
const countsOf = (page: Page): Promise<number[]> => page.getByTestId('count').evaluateAll((spans) => spans.map((s) => Number(s.textContent)));

describe('examples/poll from the packed tarball, in three tabs', () => {
  const room = 'lunch';
  let app: string;
  let server: AppProcess;
  const tabs: Page[] = [];

  beforeAll(async () => {
    app = await installApp(join(repoRoot, 'examples/poll'), tarball, {}, 'tabmesh-example-poll');
    await run('the example’s npm run build', 'npm', ['run', 'build', '--silent'], app);
    server = await startAppProcess(app, 'server.mjs', ['dist'], 60_000);
    const user = await newUser(browser);
    for (let i = 0; i < 3; i++) {
      const page = await user.newPage();
      page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
      await page.goto(`${String(server.first['url'])}?room=${room}`);
      tabs.push(page);
    }
  }, 300_000);

  afterAll(async () => {
    for (const tab of tabs) await tab.close();
    await server?.stop();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  test('the tabs see each other, one asks, all vote, all render the same tally and decision', async () => {
    for (const tab of tabs) await waitForText(tab, 'status', (t) => t.includes('you and 2 others here'), 'the tab sees the two other tabs');

    await tabs[0]!.getByLabel('Question').fill('Where do we eat?');
    await tabs[0]!.getByLabel('Answers, one per line').fill('Pizza\nNoodles\nSalad');
    await tabs[0]!.getByRole('button', { name: 'Ask the room' }).click();
    for (const tab of tabs) await waitForText(tab, 'question', (t) => t === 'Where do we eat?', 'the question reaches the tab');

    const choices = ['Pizza', 'Noodles', 'Pizza'];
    for (const [i, tab] of tabs.entries()) await tab.getByRole('button', { name: choices[i], exact: true }).click();

    for (const [i, tab] of tabs.entries()) {
      await waitForText(tab, 'result', (t) => t === 'The room decided: Pizza', `tab ${i} shows the room's decision`);
      expect(await countsOf(tab), `tab ${i}'s tally`).toEqual([2, 1, 0]);
      expect(await tab.getByRole('button', { name: choices[i], exact: true }).getAttribute('aria-pressed'), `tab ${i} shows its own vote`).toBe('true');
    }
  });
});
