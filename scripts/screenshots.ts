// Refreshes the screenshots README and docs/ show from a real run: a server on loopback, headless Chromium,
// four tabs in one room, driven through the dashboard as a visitor would (clicks and typing, not
// window.tabmesh, wherever the walkthrough tells people to click). Run `npm run build` first,
// then `npx tsx scripts/screenshots.ts`. Writes, in docs/screenshots/:
//   dashboard.png           the whole dashboard of one tab of four
//   phone.png               the same room on a phone-sized screen
//   consensus-malicious.png an honest tab's consensus panel after the primary turned equivocating
//   consensus-byzantine.png the malicious tab's own consensus panel (its banner and mode)
//   mandelbrot.png          a shared Mandelbrot render, each tile tinted by the node that computed it
import { chromium, type Page } from 'playwright-core';
import { createTabmeshServer } from '../signaling/server.ts';
import { chromiumArgs } from '../test/e2e/find-chromium.ts';

const tabCount = 4;
const room = 'demo';
const out = 'docs/screenshots';
/** Generous: a loaded 2-core machine forms the mesh and settles consensus slowly. */
const stepTimeoutMs = 90_000;

const say = (line: string) => console.log(`screenshots: ${line}`);

/** Waits for a condition on the page's DOM or snapshot; the error says what was awaited. */
async function until<A = undefined>(page: Page, what: string, check: (arg: A) => boolean, arg?: A): Promise<void> {
  try {
    await page.waitForFunction(check, arg as A, { timeout: stepTimeoutMs, polling: 250 });
  } catch {
    throw new Error(`timed out after ${stepTimeoutMs} ms waiting for: ${what}`);
  }
}

const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: 'dist' });
const { url } = await server.listen();
const browser = await chromium.launch({ executablePath: process.env['CHROME_PATH'] ?? '/usr/bin/chromium', args: chromiumArgs });
try {
  const context = await browser.newContext({ permissions: ['microphone'], viewport: { width: 1280, height: 800 } });
  const pages: Page[] = [];
  for (let i = 0; i < tabCount; i++) {
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
    await page.goto(`${url}?room=${room}`);
    pages.push(page);
  }
  const first = pages[0]!;
  // A settled mesh: every tab linked to every other, the whole graph known, RTTs measured, and
  // all four consensus replicas.
  for (const page of pages) {
    await until(page, 'a settled mesh of four with four replicas', () => {
      const s = window.tabmesh?.snapshot();
      return (
        !!s &&
        s.links.length === 3 &&
        s.topology.links.length === 6 &&
        s.links.every((l) => l.rttMs !== null) &&
        s.consensus?.replicas.length === 4 &&
        s.consensus.status === 'replica'
      );
    });
  }
  say('mesh of four formed');

  // ── the dashboard and the phone layout ──
  await pages[1]!.evaluate(() => window.tabmesh.setMemory('greeting', 'hello from another tab'));
  await pages[2]!.evaluate(() => window.tabmesh.broadcast('hi everyone'));
  await until(
    first,
    'the greeting and the message on screen',
    () => (document.body.textContent ?? '').includes('hello from another tab') && (document.body.textContent ?? '').includes('hi everyone'),
  );
  await first.screenshot({ path: `${out}/dashboard.png`, fullPage: true });
  // The same tab on a phone-sized screen (its plots have minutes of data by now).
  await first.setViewportSize({ width: 390, height: 844 });
  await until(first, 'the plots resized to the phone screen', () =>
    [...document.querySelectorAll('.plot canvas')].every((c) => c.getBoundingClientRect().width <= 390),
  );
  await first.screenshot({ path: `${out}/phone.png`, fullPage: true });
  await first.setViewportSize({ width: 1280, height: 800 });
  say('dashboard.png, phone.png');

  // ── consensus with a malicious tab: the primary equivocates ──
  const ids = await Promise.all(pages.map((p) => p.evaluate(() => window.tabmesh.snapshot()!.id)));
  const primaryId = (await first.evaluate(() => window.tabmesh.snapshot()!.consensus.primary)) as string;
  const malicious = pages[ids.indexOf(primaryId)]!;
  const honest = pages.find((p) => p !== malicious)!;
  // Walkthrough step: in the primary's tab, Consensus → Behaviour → equivocate → Apply.
  await malicious.locator('#byzantine-mode').selectOption('equivocate');
  await malicious.getByRole('button', { name: 'Apply to this node' }).click();
  await until(malicious, 'the Byzantine banner', () => !!document.querySelector('[data-testid="byzantine-banner"]'));
  // Walkthrough step: in another tab, propose a few decisions and watch them commit.
  for (const decision of ['lunch at noon', 'deploy on friday', 'tabs are nodes']) {
    const before = (await honest.locator('.outcome').textContent()) ?? '';
    await honest.locator('#propose-value').fill(decision);
    await honest.getByRole('button', { name: 'Propose', exact: true }).click();
    await until(
      honest,
      `"${decision}" committed`,
      (previous) => {
        const text = document.querySelector('.outcome')?.textContent ?? '';
        return text !== previous && /Committed at #\d+/.test(text);
      },
      before,
    );
  }
  await until(honest, 'a view change away from the malicious primary, shown in the panel', () => {
    const s = window.tabmesh.snapshot();
    return (
      !!s &&
      s.consensus.viewChanges > 0 &&
      s.consensus.primary !== null &&
      document.querySelector('[data-testid="consensus-view"]')?.textContent?.trim().startsWith(String(s.consensus.view)) === true &&
      s.consensus.view > 0
    );
  });
  // Open the event list so the picture shows the view change.
  const events = honest.locator('[data-testid="consensus-panel"] details summary', { hasText: 'Events' });
  if ((await events.count()) > 0) await events.first().click();
  await honest.getByTestId('consensus-panel').screenshot({ path: `${out}/consensus-malicious.png` });
  await malicious.getByTestId('consensus-panel').screenshot({ path: `${out}/consensus-byzantine.png` });
  await malicious.locator('#byzantine-mode').selectOption('honest');
  await malicious.getByRole('button', { name: 'Apply to this node' }).click();
  say('consensus-malicious.png, consensus-byzantine.png');

  // ── a shared Mandelbrot render ──
  // Walkthrough step: Jobs → Kind mandelbrot (the default) → Run on the mesh.
  await first.locator('#job-kind').selectOption('mandelbrot');
  await first.getByRole('button', { name: 'Run on the mesh' }).click();
  await until(first, 'the Mandelbrot job done, every tile drawn, tiles from more than one node', () => {
    const job = window.tabmesh.snapshot()?.jobs.find((j) => j.mine && j.kind === 'mandelbrot');
    const label = document.querySelector('[data-testid="mandelbrot-canvas"]')?.getAttribute('aria-label') ?? '';
    return !!job && job.status === 'done' && label.includes(`${job.total} of ${job.total} tiles drawn`) && Object.keys(job.shares).length > 1;
  });
  await first.locator('section[aria-labelledby="jobs-title"]').screenshot({ path: `${out}/mandelbrot.png` });
  say('mandelbrot.png');
  say(`wrote ${out}/{dashboard,phone,consensus-malicious,consensus-byzantine,mandelbrot}.png`);
} finally {
  await browser.close();
  await server.close();
}
