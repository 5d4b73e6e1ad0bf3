// A browser tab that cannot run Tabmesh says why, in real Chromium: a page on a LAN name over
// plain HTTP (not a secure context), then one page per missing feature, each taken away by an
// init script before the app runs. Each page must list what is missing, which browsers have it
// and what to do; the codes on the page are those of createMeshNode's CapabilityError (main.ts
// renders the error it caught); and the protocol worker must never have been started. A normal
// page on the same server starts and shows no refusal. One Chromium process for all of it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { inject } from 'vitest';
import { launchBrowser, startServer, waitForSnapshot, type RunningServer } from './harness.ts';

/** A name that is not loopback to the browser, so http:// on it is not a secure context. */
const lanName = 'lan-device.test';

/**
 * Runs last of the init scripts, so it wraps whatever Worker the page ends up with: records the
 * name of every worker the page tries to start (the protocol worker is 'tabmesh-node').
 */
const recordWorkers = `(() => {
  const Inner = window.Worker;
  const started = [];
  window.__workersStarted = started;
  window.Worker = function Worker(url, options) {
    started.push(options && options.name ? options.name : String(url));
    return new Inner(url, options);
  };
})();`;

/** Init scripts that take one feature away, as a browser without it would look. */
const stubs = {
  // Chrome before 137: crypto.subtle is there, Ed25519 is not.
  'no-ed25519': `(() => {
    const subtle = crypto.subtle;
    const generateKey = subtle.generateKey.bind(subtle);
    subtle.generateKey = (algorithm, ...rest) =>
      String(typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name).toLowerCase() === 'ed25519'
        ? Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
        : generateKey(algorithm, ...rest);
  })();`,
  'no-web-locks': `delete Navigator.prototype.locks;`,
  // A Firefox private window before 115: open() fails with InvalidStateError.
  'no-indexeddb': `IDBFactory.prototype.open = function () {
    const request = new EventTarget();
    Object.defineProperty(request, 'error', { value: new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError') });
    setTimeout(() => request.dispatchEvent(new Event('error', { cancelable: true })));
    return request;
  };`,
  // A browser that ignores { type: 'module' } and runs the script as a classic worker.
  'no-module-worker': `(() => {
    const Real = window.Worker;
    window.Worker = function Worker(url, options) {
      return new Real(url, options && options.type === 'module' ? { ...options, type: 'classic' } : options);
    };
  })();`,
  'no-webrtc': `delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;`,
} as const;

interface Refusal {
  errorName: string | null;
  errorCode: string | null;
  codes: string[];
  /** Each listed item's code and text. */
  items: Array<{ code: string; text: string }>;
  workersStarted: string[];
}

let server: RunningServer;
let browser: Browser;
let port: string;

beforeAll(async () => {
  // The server is reached by the LAN name too, as `--allowed-hosts lan-device.test` would say.
  server = await startServer(0, { allowedHostNames: [lanName] });
  port = new URL(server.url).port;
  // The harness's browser plus one rule: the LAN name resolves to this machine's loopback.
  browser = await launchBrowser(inject('chromePath'), [`--host-resolver-rules=MAP ${lanName} 127.0.0.1`]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh user (its own storage) opening `url` with `scripts` run before the app's own. */
async function open(url: string, scripts: string[]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  for (const script of [...scripts, recordWorkers]) await context.addInitScript(script);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(url);
  return { context, page };
}

/** Waits for the refusal to show and reads it. */
async function refusalOn(page: Page): Promise<Refusal> {
  const section = page.getByTestId('capability-refusal');
  await section.waitFor({ state: 'visible', timeout: 20_000 });
  const items = await page
    .locator('[data-testid^="capability-missing-"]')
    .evaluateAll((nodes) => nodes.map((node) => ({ code: node.getAttribute('data-code') ?? '', text: node.textContent ?? '' })));
  return {
    errorName: await section.getAttribute('data-error-name'),
    errorCode: await section.getAttribute('data-error-code'),
    codes: ((await section.getAttribute('data-error-codes')) ?? '').split(' ').filter(Boolean),
    items,
    workersStarted: await page.evaluate(() => (window as unknown as { __workersStarted: string[] }).__workersStarted),
  };
}

describe('a browser that cannot run Tabmesh is told why', () => {
  test('an http:// page on a LAN name: not a secure context, sent to the https:// address on the same port', async () => {
    const url = `http://${lanName}:${port}/?room=caps`;
    const { context, page } = await open(url, []);
    try {
      const refusal = await refusalOn(page);
      expect(await page.evaluate(() => isSecureContext)).toBe(false);
      expect(refusal).toMatchObject({ errorName: 'CapabilityError', errorCode: 'insecure-context', codes: ['insecure-context'] });
      const text = refusal.items[0]?.text ?? '';
      expect(text).toContain('A secure context (HTTPS)');
      expect(text).toContain(`http://${lanName}:${port}, which is not a secure context`);
      expect(text).toContain('Browsers hide WebCrypto signatures (crypto.subtle) and Web Locks (navigator.locks) from such pages');
      expect(text).toContain(`Open https://${lanName}:${port}/?room=caps instead`);
      expect(await page.getByTestId('open-instead').getAttribute('href')).toBe(`https://${lanName}:${port}/?room=caps`);
      // The old failure is gone, and the protocol worker was never started.
      expect(await page.locator('body').textContent()).not.toContain('Cannot read properties');
      expect(refusal.workersStarted).not.toContain('tabmesh-node');
    } finally {
      await context.close();
    }
  });

  const cases = [
    [
      'no-ed25519',
      'Ed25519 signatures in WebCrypto',
      'NotSupportedError',
      'Chrome and Edge 137 or newer, Firefox 129 or newer, Safari 17 or newer',
      'Update this browser',
    ],
    ['no-web-locks', 'Web Locks (navigator.locks)', 'navigator.locks is not available', 'Firefox 96 or newer, Safari 15.4 or newer', 'Update this browser'],
    ['no-indexeddb', 'IndexedDB storage', 'InvalidStateError', 'private windows', 'Allow this site to store data'],
    [
      'no-module-worker',
      'Module workers',
      "a worker started with { type: 'module' } failed to run",
      'Firefox 114 or newer, Safari 15 or newer',
      'Update this browser',
    ],
    ['no-webrtc', 'WebRTC (RTCPeerConnection)', 'RTCPeerConnection is not defined', 'privacy extension or setting', 'Turn WebRTC back on'],
  ] as const;

  test.each(cases)('%s: the page names %s, what failed, the browsers that have it and what to do', async (code, feature, found, browsers, advice) => {
    const { context, page } = await open(`${server.url}?room=caps`, [stubs[code]]);
    try {
      const refusal = await refusalOn(page);
      expect(refusal).toMatchObject({ errorName: 'CapabilityError', errorCode: code, codes: [code] });
      const text = refusal.items[0]?.text ?? '';
      for (const words of [feature, found, browsers, advice]) expect(text).toContain(words);
      expect(refusal.workersStarted).not.toContain('tabmesh-node');
    } finally {
      await context.close();
    }
  });

  test('a browser lacking several things is told all of them, most important first', async () => {
    const { context, page } = await open(`${server.url}?room=caps`, [stubs['no-webrtc'], stubs['no-ed25519'], stubs['no-web-locks']]);
    try {
      const refusal = await refusalOn(page);
      expect(refusal.codes).toEqual(['no-ed25519', 'no-web-locks', 'no-webrtc']);
      expect(refusal.items.map((item) => item.code)).toEqual(refusal.codes);
      expect(refusal.errorCode).toBe('no-ed25519');
      expect(refusal.workersStarted).not.toContain('tabmesh-node');
    } finally {
      await context.close();
    }
  });

  test('a browser with everything starts its node and shows no refusal', async () => {
    const { context, page } = await open(`${server.url}?room=caps-ok`, []);
    try {
      await waitForSnapshot(page, (s) => s.signaling === 'joined', 'joined the room', 30_000);
      expect(await page.getByTestId('capability-refusal').count()).toBe(0);
      const workers = await page.evaluate(() => (window as unknown as { __workersStarted: string[] }).__workersStarted);
      expect(workers.slice(0, 2)).toEqual(['tabmesh-capability-probe', 'tabmesh-node']);
    } finally {
      await context.close();
    }
  });
});
