// Issue 15, item 5: a phone. Chromium's mobile emulation (touch, 390×844 CSS pixels, a mobile
// viewport, device scale 3) opens the HTTPS LAN URL the way the QR code would — the link of the
// desktop tab's welcome card. The node starts and joins the desktop's room, and the phone
// layout works: no sideways scrolling, and every control (button, input, select, link, summary)
// can be scrolled into view, lies inside the screen, is the element a tap at its centre hits,
// and has text of at least 12 px.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, waitForSnapshot } from './harness.ts';
import { startLanServer, type LanServer } from './lan-device.ts';

const room = 'pocket';
const phoneWidthPx = 390;
const phoneHeightPx = 844;
const minFontPx = 12;
/** Android Chrome on a current phone; the app has no user-agent switches, but pages should see a phone. */
const phoneUserAgent = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36';

interface ControlProblem {
  control: string;
  problem: string;
}

const controlSelector = 'button, input:not([type=hidden]), select, textarea, a[href], summary';

/**
 * Scrolls to every rendered control of `page` and lists what a person on the phone could not
 * do with it: see all of it, tap it (the element at the centre of its first line box is the
 * control itself — nothing covers it), or read it. Also returns how many controls it checked.
 */
async function layoutProblems(page: Page): Promise<{ problems: ControlProblem[]; checked: number; inPage: number }> {
  return page.evaluate(
    async ({ minFontPx, controlSelector }) => {
      const found: ControlProblem[] = [];
      let checked = 0;
      const controls = [...document.querySelectorAll<HTMLElement>(controlSelector)];
      const describe = (el: HTMLElement) =>
        `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
      for (const el of controls) {
        // Not rendered at all (inside a closed <details>, a hidden panel): not a control on screen now.
        if (!el.checkVisibility()) continue;
        checked++;
        el.scrollIntoView({ block: 'center', inline: 'center' });
        await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
        const box = el.getBoundingClientRect();
        if (box.width < 1 || box.height < 1) {
          found.push({ control: describe(el), problem: `has no size (${box.width}×${box.height})` });
          continue;
        }
        if (box.left < -0.5 || box.right > innerWidth + 0.5)
          found.push({
            control: describe(el),
            problem: `sticks out of the screen sideways (${Math.round(box.left)}…${Math.round(box.right)} of ${innerWidth})`,
          });
        // Taller than the screen is fine as long as scrolling brought it in.
        if ((box.top < -0.5 || box.bottom > innerHeight + 0.5) && box.height <= innerHeight) {
          found.push({
            control: describe(el),
            problem: `not fully on screen after scrolling to it (${Math.round(box.top)}…${Math.round(box.bottom)} of ${innerHeight})`,
          });
        }
        // A link that wraps over lines has gaps in its bounding box: tap its first line.
        const first = el.getClientRects()[0] ?? box;
        const x = Math.min(Math.max(first.left + first.width / 2, 0), innerWidth - 1);
        const y = Math.min(Math.max(first.top + first.height / 2, 0), innerHeight - 1);
        const hit = document.elementFromPoint(x, y);
        const viaLabel = el instanceof HTMLInputElement && !!el.labels && [...el.labels].some((label) => !!hit && label.contains(hit));
        if (!hit || !(el === hit || el.contains(hit) || viaLabel)) {
          found.push({
            control: describe(el),
            problem: `a tap at its centre hits ${hit ? hit.tagName.toLowerCase() + (hit.className ? `.${String(hit.className).split(' ')[0]}` : '') : 'nothing'} instead`,
          });
        }
        const fontPx = parseFloat(getComputedStyle(el).fontSize);
        if (fontPx < minFontPx) found.push({ control: describe(el), problem: `text is ${fontPx}px, under ${minFontPx}px` });
      }
      return { problems: found, checked, inPage: controls.length };
    },
    { minFontPx, controlSelector },
  );
}

const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

describe('a phone on the LAN', () => {
  let lan: LanServer;
  let browser: Browser;
  let phoneContext: BrowserContext;
  let desk: Page;
  let phone: Page;

  beforeAll(async () => {
    lan = await startLanServer();
    browser = await launchBrowser(undefined, lan.browserArgs);
    desk = await openTab(await newUser(browser), lan.localUrl, room);
    phoneContext = await browser.newContext({
      permissions: ['microphone'], // as newUser: host ICE candidates instead of unresolvable mDNS names
      viewport: { width: phoneWidthPx, height: phoneHeightPx },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 3,
      userAgent: phoneUserAgent,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await lan?.stop();
  });

  test('opens the QR code link over HTTPS, starts, and joins the desktop room', async () => {
    const link = await desk.getByTestId('welcome').getByRole('link').first().getAttribute('href');
    expect(link).toBe(`${lan.lanUrl}?room=${room}`);
    phone = await phoneContext.newPage();
    phone.on('pageerror', (error) => console.error(`[phone page error] ${error.message}`));
    await phone.goto(link!);
    expect(await phone.evaluate(() => ({ secure: isSecureContext, touch: navigator.maxTouchPoints > 0, width: innerWidth }))).toEqual({
      secure: true,
      touch: true,
      width: phoneWidthPx,
    });
    await waitForSnapshot(phone, (s) => s.signaling === 'joined', 'the phone joined', 30_000);
    const deskId = (await snapshotOf(desk)).id;
    await waitForSnapshot(phone, (s) => linkedPeers(s).includes(deskId), 'the phone linked with the desktop tab', 30_000);
  });

  test('the dashboard fits the phone: no sideways scrolling, every control reachable, inside the screen, tappable and readable', async () => {
    // The dashboard of a node with a peer: the welcome card gone, every panel there.
    await waitForSnapshot(phone, (s) => s.links.length === 1, 'the phone has its link');
    await phone.getByTestId('welcome').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await pageWidth(phone)).toBeLessThanOrEqual(phoneWidthPx);
    const { problems, checked, inPage } = await layoutProblems(phone);
    console.log(`phone dashboard: checked ${checked} controls on screen of ${inPage} in the page`);
    expect(checked).toBeGreaterThan(10); // the dashboard, not an error page
    expect(problems).toEqual([]);
    // Scrolling to every control did not widen the page either.
    expect(await pageWidth(phone)).toBeLessThanOrEqual(phoneWidthPx);
  });

  test('a phone alone in its room: the welcome card fits too', async () => {
    const lone = await phoneContext.newPage();
    await lone.goto(`${lan.lanUrl}?room=only-me`);
    await lone.getByTestId('welcome').waitFor({ timeout: 30_000 });
    expect(await pageWidth(lone)).toBeLessThanOrEqual(phoneWidthPx);
    const { problems, checked } = await layoutProblems(lone);
    expect(checked).toBeGreaterThan(3);
    expect(problems).toEqual([]);
    expect(await pageWidth(lone)).toBeLessThanOrEqual(phoneWidthPx);
    await lone.close();
  });
});
