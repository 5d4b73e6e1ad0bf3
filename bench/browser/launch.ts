// What the browser benchmark runs on: the production build (app + the floor page), our real
// server on loopback, and two headless Chromium processes (two "devices") with tabs in them.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { chromiumArgs, findChromium } from '../../test/e2e/find-chromium.ts';
import type { NodeSnapshot } from '../../src/mesh-node.ts';

/** Where the floor page lands in the build (builds.ts; Vite keeps an HTML entry's path under the root). */
export const floorPath = '/bench/browser/floor.html';

export interface BenchRig {
  url: string;
  server: TabmeshServer;
  browsers: Browser[];
  /** One context (a user, one profile) per browser process. */
  users: BrowserContext[];
  chromium: string;
  close(): Promise<void>;
}

export async function startRig(staticDir: string): Promise<BenchRig> {
  const executablePath = findChromium((line) => console.error(line));
  const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir });
  const { url } = await server.listen();
  const browsers: Browser[] = [];
  try {
    for (let i = 0; i < 2; i++) browsers.push(await chromium.launch({ executablePath, headless: true, args: chromiumArgs }));
    const users = await Promise.all(browsers.map(benchContext));
    return {
      url,
      server,
      browsers,
      users,
      chromium: (browsers[0] as Browser).version(),
      async close() {
        await Promise.all(browsers.map((b) => b.close().catch(() => {})));
        await server.close();
      },
    };
  } catch (error) {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
    await server.close();
    throw error;
  }
}

/** A browser context (a user, one profile) as every bench's pages need it. */
export async function benchContext(browser: Browser): Promise<BrowserContext> {
  // The media permission keeps host ICE candidates as plain loopback addresses (see test/e2e/harness.ts).
  const context = await browser.newContext({ permissions: ['microphone'] });
  // tsx compiles the benches with esbuild's keepNames, which wraps named inner functions of
  // the callbacks we pass to page.evaluate in __name(…); the pages need it defined.
  await context.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
  return context;
}

/**
 * Opens `n` tabs, tab `i` at `urlOf(i)`, each in a browser context of its own (as bench:peers
 * measures: one user per tab). Each context is pushed to `contexts` as soon as it exists, so the
 * caller closes them all even when an open fails; `watch` sees each page before it loads.
 */
export async function openTabsInOwnContexts(
  browser: Browser,
  n: number,
  urlOf: (i: number) => string,
  contexts: BrowserContext[],
  watch: (page: Page, i: number) => void = () => {},
): Promise<Page[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const context = await benchContext(browser);
      contexts.push(context);
      const page = await context.newPage();
      watch(page, i);
      await page.goto(urlOf(i));
      return page;
    }),
  );
}

/** Which process tab `i` of `n` lives in: the first half in the first, the rest in the second. */
export const userFor = (rig: BenchRig, i: number, n: number): BrowserContext => rig.users[i < Math.ceil(n / 2) ? 0 : 1] as BrowserContext;

export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(url);
  return page;
}

export async function snapshotOf(page: Page): Promise<NodeSnapshot | null> {
  return page.evaluate(() => window.tabmesh?.snapshot() ?? null).catch(() => null);
}

/** Polls until `check()` returns a value (not undefined); throws naming `what` on timeout. */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs: number, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
