// Issue 17, "an example app": examples/poll built only on the packed package. The repository is
// packed, the example is installed from its own package.json with the tarball, built with its
// own `npm run build` (tsc + Vite), served by its own server.mjs (tabmesh/server), and three
// Chromium tabs use it as people would: one asks, all three vote, all three show the same tally
// and the same decision.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newUser } from './harness.ts';
import { installApp, packRepository, repoRoot, run, startAppProcess, type AppProcess } from './packed-app.ts';

const room = 'lunch';

/** Waits until the page's element `testid` has text satisfying `predicate`; the error shows the text. */
async function waitForText(page: Page, testid: string, predicate: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await page.getByTestId(testid).textContent().catch(() => null)) ?? '';
    if (predicate(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\nlast text of [data-testid=${testid}]: ${JSON.stringify(text)}`);
    await page.waitForTimeout(100);
  }
}

/** The vote counts a tab shows, in the answers' order. */
const countsOf = (page: Page): Promise<number[]> => page.getByTestId('count').evaluateAll((spans) => spans.map((s) => Number(s.textContent)));

describe('examples/poll from the packed tarball, in three tabs', () => {
  let work: string;
  let app: string;
  let browser: Browser;
  let server: AppProcess;
  const tabs: Page[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tabmesh-pack-'));
    const tarball = await packRepository(work);
    app = await installApp(join(repoRoot, 'examples/poll'), tarball, {}, 'tabmesh-example-poll');
    await run('the example’s npm run build', 'npm', ['run', 'build', '--silent'], app);
    server = await startAppProcess(app, 'server.mjs', ['dist'], 60_000);
    browser = await launchBrowser();
    const user = await newUser(browser);
    for (let i = 0; i < 3; i++) {
      const page = await user.newPage();
      page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
      await page.goto(`${String(server.first['url'])}?room=${room}`);
      tabs.push(page);
    }
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    for (const dir of [app, work]) if (dir) rmSync(dir, { recursive: true, force: true });
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
