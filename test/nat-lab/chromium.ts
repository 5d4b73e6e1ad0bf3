// Chromium as a device in one of the lab's homes: the browser process runs inside the home's
// network namespace (a wrapper script `ip netns exec`s the real executable), while playwright
// drives it over its pipe from outside. The lab's server speaks plain HTTP on a "public"
// address, which is not a secure context (no crypto.subtle); the lab marks exactly its own
// origins as secure, as a deployment's HTTPS would make them.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { chromiumArgs } from '../e2e/find-chromium.ts';

export interface LabBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowserIn(netns: string, chromePath: string, secureOrigins: string[]): Promise<LabBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'tabmesh-natlab-chromium-'));
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${netns}' '${chromePath}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  try {
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [...chromiumArgs, `--unsafely-treat-insecure-origin-as-secure=${secureOrigins.join(',')}`],
    });
    return {
      browser,
      close: async () => {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
