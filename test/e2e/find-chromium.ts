// Which Chromium the browser tests drive: $CHROME_PATH, else Debian's /usr/bin/chromium, else
// one that Playwright installed. On a Debian machine where we are root and none is found, we
// install Debian's chromium package, so `npm install && npm test` works on a fresh machine.
// Browser tests are never skipped: with no browser at all, the run fails and says why.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ensureDebianProgram } from '../support/debian-package.ts';

/**
 * Flags for every headless Chromium we start (tests, benchmarks, screenshots): no network beyond
 * loopback (this machine's network is closed), WebRTC over loopback, and honest timers in
 * background tabs.
 */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

const debianChromium = '/usr/bin/chromium';

function playwrightChromium(): string | null {
  try {
    const path = chromium.executablePath();
    return path && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

export function findChromium(log: (line: string) => void = console.log): string {
  const fromEnv = process.env['CHROME_PATH'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROME_PATH is set to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  if (existsSync(debianChromium)) return debianChromium;
  const installed = playwrightChromium();
  if (installed) return installed;
  return ensureDebianProgram(
    { executable: debianChromium, debianPackage: 'chromium', neededBy: 'The browser tests', withRecommends: true, orElse: 'set CHROME_PATH to a Chromium' },
    log,
  );
}
