// Issue 9, item 6 for `npm run dev`: the real Vite dev server of this repository (vite.config.ts,
// with the signaling plugin) sends the security headers, and the app still works under its
// Content-Security-Policy — Vite's HMR client connects, the node joins a room — while the page
// reports no policy violation. (test/signaling/dev-hardening.test.ts checks headers and origins
// without a browser; this checks that the policy does not break development.)
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { devContentSecurityPolicy } from '../../signaling/headers.ts';
import { launchBrowser, newUser, waitForSnapshot } from './harness.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: the first page load transforms the whole app on demand, slowly on a loaded machine. */
const devLoadDeadlineMs = 120_000;

declare global {
  interface Window {
    /** Content-Security-Policy violations the page reported (recorded by this test's init script). */
    __cspViolations?: string[];
  }
}

describe('the dev server under its Content-Security-Policy', () => {
  let vite: ViteDevServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = '';
  const consoleLines: string[] = [];

  beforeAll(async () => {
    vite = await createServer({ root: repo, logLevel: 'warn', server: { port: 0, host: '127.0.0.1', strictPort: false } });
    await vite.listen();
    url = `http://127.0.0.1:${(vite.httpServer?.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
    const user = await newUser(browser);
    await user.addInitScript(() => {
      const seen: string[] = [];
      window.__cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
    });
    page = await user.newPage();
    page.on('console', (message) => consoleLines.push(message.text()));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await vite?.close();
  });

  test('every answer carries the dev policy', async () => {
    for (const path of ['', 'src/main.ts', '@vite/client', 'config.json']) {
      const response = await fetch(`${url}${path}`);
      expect(response.headers.get('content-security-policy'), path).toBe(devContentSecurityPolicy);
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
    }
  }, 60_000);

  test(
    'the app runs: HMR connects and the node joins, with no policy violation',
    async () => {
      await page.goto(`${url}?room=dev-csp`);
      await waitForSnapshot(page, (s) => s.signaling === 'joined', 'the node joined on the dev server', devLoadDeadlineMs);
      await expect.poll(() => consoleLines.some((line) => line.includes('[vite] connected')), { timeout: devLoadDeadlineMs }).toBe(true);
      expect(await page.evaluate(() => window.__cspViolations ?? [])).toEqual([]);
      // The policy is really in force: an injected inline script is refused and reported.
      await page.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.__injected = true';
        document.body.append(script);
      });
      await expect.poll(() => page.evaluate(() => window.__cspViolations ?? []), { timeout: 10_000 }).toEqual([expect.stringMatching(/^script-src/)]);
      expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
    },
    devLoadDeadlineMs + 60_000,
  );
});
