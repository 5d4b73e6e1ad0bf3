// Issue 15, item 1: another device opens Tabmesh over HTTPS. The server speaks HTTP and HTTPS on
// one port with the certificate `npm start` generates; Chromium knows the server by a name that
// is not loopback (lan-device.test, so plain HTTP there would be no secure context) and accepts
// the certificate by its public-key hash, as a person accepting the warning would. A page there
// is a secure context, its node starts, and it links with a tab on http://localhost (another
// browser context: another device's storage). Plain HTTP on the LAN name is sent on to https.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, waitForSnapshot } from './harness.ts';
import { lanHost, startLanServer, type LanServer } from './lan-device.ts';

const room = 'across-devices';

describe('HTTPS for other devices', () => {
  let lan: LanServer;
  let browser: Browser;
  let thisMachine: BrowserContext;
  let otherDevice: BrowserContext;
  let desk: Page;
  /** Console lines of every page, to check that no load warns about the Permissions-Policy. */
  const consoleLines: string[] = [];

  beforeAll(async () => {
    lan = await startLanServer();
    browser = await launchBrowser(undefined, lan.browserArgs);
    thisMachine = await newUser(browser);
    otherDevice = await newUser(browser);
    for (const context of [thisMachine, otherDevice]) context.on('console', (message) => consoleLines.push(message.text()));
  });

  afterAll(async () => {
    await browser?.close();
    await lan?.stop();
  });

  test('a plain-HTTP page request for the LAN name is redirected to https on the same port', async () => {
    const page = await otherDevice.newPage();
    const plainUrl = `http://${lanHost}:${lan.port}/?room=redirected`;
    const response = await page.goto(plainUrl);
    expect(response?.url()).toBe(`https://${lanHost}:${lan.port}/?room=redirected`);
    expect(response?.request().redirectedFrom()?.url()).toBe(plainUrl);
    expect(await page.evaluate(() => isSecureContext)).toBe(true);
    await page.close();
  });

  test('the localhost tab, alone, sends other devices to the https LAN URL with the certificate fingerprint', async () => {
    desk = await openTab(thisMachine, lan.localUrl, room);
    const expected = `${lan.lanUrl}?room=${room}`;
    const welcome = desk.getByTestId('welcome');
    await expect.poll(() => welcome.getByRole('link').first().getAttribute('href'), { timeout: 10_000 }).toBe(expected);
    expect(await welcome.getByRole('img').getAttribute('aria-label')).toBe(`QR code of the room link ${expected}`);
    expect(await desk.getByTestId('welcome-fingerprint').textContent()).toContain(lan.tls.fingerprint256);
  });

  test('a page at https://lan-device.test is a secure context, starts, and links with the localhost tab', async () => {
    // Opened as the QR code would: the link the localhost tab shows.
    const link = await desk.getByTestId('welcome').getByRole('link').first().getAttribute('href');
    const phone = await otherDevice.newPage();
    await phone.goto(link!);
    expect(await phone.evaluate(() => ({ secure: isSecureContext, protocol: location.protocol, host: location.hostname }))).toEqual({
      secure: true,
      protocol: 'https:',
      host: lanHost,
    });
    // Joined means signaling over wss:// on the page's origin (a ws:// socket from an https page is blocked as mixed content).
    await waitForSnapshot(phone, (s) => s.signaling === 'joined', 'the https page joined the room', 30_000);
    const deskId = (await snapshotOf(desk)).id;
    const phoneId = (await snapshotOf(phone)).id;
    await waitForSnapshot(phone, (s) => linkedPeers(s).includes(deskId), 'the https page linked with the localhost tab', 30_000);
    await waitForSnapshot(desk, (s) => linkedPeers(s).includes(phoneId), 'the localhost tab linked with the https page', 30_000);
    // Gossip runs over that link, both ways.
    await phone.evaluate(() => window.tabmesh.setMemory('from-phone', 'hello over https'));
    await desk.evaluate(() => window.tabmesh.setMemory('from-desk', 'hello over http'));
    await waitForSnapshot(desk, (s) => s.memory['from-phone'] === 'hello over https', 'the localhost tab has the https page write');
    await waitForSnapshot(phone, (s) => s.memory['from-desk'] === 'hello over http', 'the https page has the localhost tab write');
  });

  test('the production build it serves publishes no source maps', async () => {
    const html = await (await fetch(lan.localUrl)).text();
    const scripts = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      const js = await (await fetch(new URL(src, lan.localUrl))).text();
      expect(js, src).not.toContain('sourceMappingURL');
      expect((await fetch(new URL(`${src}.map`, lan.localUrl))).headers.get('content-type'), `${src}.map`).not.toMatch(/json/);
    }
  });

  test('no page load warned about the Permissions-Policy', () => {
    expect(consoleLines.filter((line) => /permissions-policy|unrecognized feature/i.test(line))).toEqual([]);
  });
});
