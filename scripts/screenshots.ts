// Refreshes the README's screenshots from a real run: a server on loopback, headless Chromium,
// several tabs in one room. Run `npm run build` first, then `npx tsx scripts/screenshots.ts`.
import { chromium } from 'playwright-core';
import { createTabmeshServer } from '../signaling/server.ts';
import { chromiumArgs } from '../test/e2e/find-chromium.ts';

const tabCount = 4;

const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: 'dist' });
const { url } = await server.listen();
const browser = await chromium.launch({ executablePath: process.env['CHROME_PATH'] ?? '/usr/bin/chromium', args: chromiumArgs });
try {
  const context = await browser.newContext({ permissions: ['microphone'], viewport: { width: 1280, height: 800 } });
  const pages = [];
  for (let i = 0; i < tabCount; i++) {
    const page = await context.newPage();
    await page.goto(`${url}?room=demo`);
    pages.push(page);
  }
  const first = pages[0]!;
  // A settled mesh: every tab linked to every other, the whole graph known, RTTs measured.
  await first.waitForFunction(
    (n) => {
      const s = window.tabmesh?.snapshot();
      return !!s && s.links.length === n - 1 && s.topology.links.length === (n * (n - 1)) / 2 && s.links.every((l) => l.rttMs !== null);
    },
    tabCount,
    { timeout: 30_000 },
  );
  await pages[1]!.evaluate(() => window.tabmesh.setMemory('greeting', 'hello from another tab'));
  await pages[2]!.evaluate(() => window.tabmesh.broadcast('hi everyone'));
  await first.waitForFunction(() => 'greeting' in (window.tabmesh.snapshot()?.memory ?? {}) && window.tabmesh.snapshot()!.messages.length > 0);
  await first.waitForTimeout(1_500); // let the force layout settle for the picture
  await first.screenshot({ path: 'docs/screenshots/dashboard.png', fullPage: true });
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${url}?room=demo`);
  await phone.waitForFunction(() => (window.tabmesh?.snapshot()?.links.length ?? 0) >= 3, undefined, { timeout: 30_000 });
  await phone.waitForTimeout(1_500);
  await phone.screenshot({ path: 'docs/screenshots/phone.png', fullPage: true });
  console.log('wrote docs/screenshots/dashboard.png and docs/screenshots/phone.png');
} finally {
  await browser.close();
  await server.close();
}
