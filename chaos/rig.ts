// What the chaos run drives: our real server on loopback (stopped and started again on the same
// port by the adversary) and headless Chromium processes with users (profiles) in them.
import { build } from 'vite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../signaling/server.ts';
import { chromiumArgs } from '../test/e2e/find-chromium.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
/** The chaos run's own build, outside the repository (never dist/, never the tests' build). */
export const chaosDistDir = join(tmpdir(), 'tabmesh-chaos-dist');

/** Vite's production build of the app, always fresh: a stale build would test old code. */
export async function buildForChaos(): Promise<string> {
  await build({ root: repoRoot, logLevel: 'warn', build: { outDir: chaosDistDir, emptyOutDir: true } });
  return chaosDistDir;
}

export interface ChaosRig {
  /** The page's address, with a trailing slash (the same across server restarts). */
  readonly url: string;
  readonly browsers: Browser[];
  readonly serverUp: boolean;
  /** A fresh user (profile: its own IndexedDB, so new node identities) in browser `which`. */
  newUser(which: number): Promise<BrowserContext>;
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  staticDir: string;
  chromePath: string;
  /** Chromium processes (each tab still gets a renderer of its own). */
  browsers: number;
}

export async function startChaosRig(options: RigOptions): Promise<ChaosRig> {
  let server: TabmeshServer | null = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: options.staticDir });
  const { url, port } = await server.listen();
  const browsers: Browser[] = [];
  const close = async () => {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
    await server?.close();
    server = null;
  };
  try {
    for (let i = 0; i < options.browsers; i++) browsers.push(await chromium.launch({ executablePath: options.chromePath, headless: true, args: chromiumArgs }));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url,
    browsers,
    get serverUp() {
      return server !== null;
    },
    async newUser(which) {
      const browser = browsers[which % browsers.length] as Browser;
      // The media permission keeps host ICE candidates as plain loopback addresses (see test/e2e/harness.ts).
      const user = await browser.newContext({ permissions: ['microphone'] });
      // tsx and vitest compile with keepNames, which wraps named inner functions of the callbacks
      // given to page.evaluate in __name(…); the pages need it defined.
      await user.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
      return user;
    },
    async stopServer() {
      const running = server;
      server = null;
      await running?.close();
    },
    async startServer() {
      if (server) return;
      const next = createTabmeshServer({ port, host: '127.0.0.1', staticDir: options.staticDir });
      await next.listen();
      server = next;
    },
    close,
  };
}
