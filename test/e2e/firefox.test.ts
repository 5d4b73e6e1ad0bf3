// Issue 15, Firefox beside Chromium: Debian's firefox-esr, driven by Puppeteer over WebDriver
// BiDi, and Chromium, driven by Playwright, share one room: two Firefox tabs and two Chromium
// tabs, each with storage of its own (a Firefox user context or a Chromium context). They form
// the mesh, spread memory writes both ways, commit a proposal made in Firefox, and compute one
// Mandelbrot job together.
//
// Server and browsers run in a network namespace of the test's own with only loopback in it
// (loopback-netns.ts), so ICE has nothing but 127.0.0.1 to use, and the test checks that it did.
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import puppeteer, { type Browser as FirefoxBrowser, type Page as FirefoxPage } from 'puppeteer-core';
import type { Browser as ChromiumBrowser, Page as ChromiumPage } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, type NodeSnapshot } from './harness.ts';
import { findFirefox, firefoxPrefs, firefoxVersion } from './find-firefox.ts';
import { startLoopbackNamespace, type LoopbackNamespace } from './loopback-netns.ts';
import { iceReportInPage, recordPeerConnectionsInPage, type IceReport } from './ice-candidates.ts';

const room = 'firefox-and-chromium';
/** How long a tab may take to load and join; Firefox's first start in a fresh profile is the slow part. */
const joinDeadlineMs = 30_000;
/** 32 tiles of 64×64 in the main cardioid, ~0.1–0.3 s each: enough that the home cannot finish alone. */
const mandelbrotJob = { width: 512, height: 256, tileSize: 64, maxIterations: 15_000, region: { xMin: -0.5, xMax: 0.1, yMin: -0.3, yMax: 0.3 } };
const mandelbrotTiles = 32;
/** The only addresses ICE may use in the namespace. */
const loopbackAddress = /^(127\.0\.0\.1|::1)$/;

/** A tab of either browser, as the test drives it: evaluate a function in the page. */
interface Tab {
  label: string;
  browser: 'firefox' | 'chromium';
  id: string;
  run<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** An error from a page names the tab it came from. */
const fromTab = (label: string) => (error: unknown) => {
  throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
};

function firefoxTab(label: string, page: FirefoxPage): Tab {
  return { label, browser: 'firefox', id: '', run: (fn, arg) => page.evaluate(fn as (a: unknown) => never, arg).catch(fromTab(label)) };
}

function chromiumTab(label: string, page: ChromiumPage): Tab {
  return { label, browser: 'chromium', id: '', run: (fn, arg) => page.evaluate(fn as (a: unknown) => never, arg).catch(fromTab(label)) };
}

/** The snapshot as JSON text, so both drivers hand back the same plain data. */
async function snapshotOf(tab: Tab): Promise<NodeSnapshot | null> {
  const text = await tab.run(() => JSON.stringify(window.tabmesh?.snapshot() ?? null), undefined);
  return JSON.parse(text) as NodeSnapshot | null;
}

/** harness.ts's waitForSnapshot for a tab of either driver: polls until `predicate` holds, or fails naming `what`. */
async function waitFor(tab: Tab, predicate: (s: NodeSnapshot) => boolean, what: string, timeoutMs = 30_000): Promise<NodeSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await snapshotOf(tab).catch(() => null);
    if (last && predicate(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${tab.label}: ${what}\nlast snapshot: ${JSON.stringify(last)?.slice(0, 4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const jobOf = (s: NodeSnapshot, id: string) => s.jobs.find((j) => j.id === id);

describe('a room of two Firefox and two Chromium tabs', () => {
  let ns: LoopbackNamespace | undefined;
  let firefox: FirefoxBrowser | undefined;
  let chromium: ChromiumBrowser | undefined;
  const tabs: Tab[] = [];
  const firefoxTabs = () => tabs.filter((t) => t.browser === 'firefox');
  const chromiumTabs = () => tabs.filter((t) => t.browser === 'chromium');

  beforeAll(async () => {
    const firefoxPath = findFirefox();
    console.log(`Firefox test: ${firefoxVersion(firefoxPath)} (${firefoxPath}) and Chromium (${inject('chromePath')})`);
    ns = await startLoopbackNamespace(inject('distDir'));
    const url = `${ns.url}?room=${encodeURIComponent(room)}`;

    // Firefox's WebDriver BiDi listens on the namespace's loopback; the test reaches it through
    // a forwarded port of the same number on the host's loopback.
    const debuggingPort = await ns.forwardPort();
    firefox = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: ns.wrap(firefoxPath, 'firefox'),
      headless: true,
      debuggingPort,
      extraPrefsFirefox: firefoxPrefs,
    });
    chromium = await launchBrowser(ns.wrap(inject('chromePath'), 'chromium'));

    // Alternate the browsers, so each joins a room that already holds the other.
    for (let i = 0; i < 2; i++) {
      const firefoxUser = await firefox.createBrowserContext();
      // A window each, as each Chromium context gets: a tab of its own that is not in the
      // background, where Firefox would throttle its timers.
      const firefoxPage = await firefoxUser.newPage({ type: 'window' });
      firefoxPage.on('pageerror', (error) => console.error(`[Firefox page error] ${(error as Error).message}`));
      await firefoxPage.evaluateOnNewDocument(recordPeerConnectionsInPage);
      await firefoxPage.goto(url);
      tabs.push(firefoxTab(`Firefox tab ${i + 1}`, firefoxPage));

      const chromiumUser = await newUser(chromium);
      await chromiumUser.addInitScript(recordPeerConnectionsInPage);
      const chromiumPage = await chromiumUser.newPage();
      chromiumPage.on('pageerror', (error) => console.error(`[Chromium page error] ${error.message}`));
      await chromiumPage.goto(url);
      tabs.push(chromiumTab(`Chromium tab ${i + 1}`, chromiumPage));
    }
    for (const tab of tabs) tab.id = (await waitFor(tab, (s) => s.signaling === 'joined', 'joined the room', joinDeadlineMs)).id;
  }, 300_000);

  afterAll(async () => {
    await firefox?.close();
    await chromium?.close();
    await ns?.close();
  });

  test('the browsers are what they say, each tab is a node of its own, and the namespace has only loopback', async () => {
    for (const tab of tabs) {
      const agent = await tab.run(() => navigator.userAgent, undefined);
      expect(agent, tab.label).toMatch(tab.browser === 'firefox' ? /Firefox\/\d+/ : /Chrome\/\d+/);
      expect(await tab.run(() => document.visibilityState, undefined), `${tab.label} is visible`).toBe('visible');
    }
    expect(new Set(tabs.map((t) => t.id)).size).toBe(4);
    const links = execFileSync('nsenter', [`--net=${ns!.netnsPath}`, 'ip', '-o', 'link', 'show'], { encoding: 'utf8' });
    expect(
      links
        .trim()
        .split('\n')
        .map((line) => line.split(':')[1]?.trim()),
    ).toEqual(['lo']);
    // Firefox itself runs in there (Chromium too: it could not load the page from anywhere else).
    expect(readlinkSync(`/proc/${firefox!.process()!.pid}/ns/net`)).toBe(readlinkSync(ns!.netnsPath));
  });

  test('every tab links to the other three and sees them alive, over loopback only', () => everyTabLinksOverLoopback(tabs));

  test('a memory write in Firefox reaches the Chromium tabs, and one in Chromium reaches the Firefox tabs', async () => {
    const [writer] = firefoxTabs();
    await writer!.run(() => window.tabmesh.setMemory('written-in', { browser: 'firefox', n: 1 }), undefined);
    for (const tab of tabs) {
      const s = await waitFor(tab, (s) => 'written-in' in s.memory, 'has the Firefox write');
      expect(s.memory['written-in']).toEqual({ browser: 'firefox', n: 1 });
      expect(s.memoryEntries.find((e) => e.key === 'written-in')?.origin).toBe(writer!.id);
    }
    const [, chromiumWriter] = chromiumTabs();
    await chromiumWriter!.run(() => window.tabmesh.setMemory('answer-from', 'chromium'), undefined);
    for (const tab of firefoxTabs()) {
      const s = await waitFor(tab, (s) => s.memory['answer-from'] === 'chromium', 'has the Chromium write');
      expect(s.memoryEntries.find((e) => e.key === 'answer-from')?.origin).toBe(chromiumWriter!.id);
    }
  });

  test('a proposal made in Firefox commits in every tab, at the same place in the same log', async () => {
    const all = tabs
      .map((t) => t.id)
      .sort()
      .join();
    for (const tab of tabs) {
      await waitFor(
        tab,
        (s) => [...s.consensus.replicas].sort().join() === all && s.consensus.status === 'replica' && s.consensus.genesis?.settled === true,
        'is one of four replicas under a settled genesis',
        60_000,
      );
    }
    const proposer = firefoxTabs()[1]!;
    const seq = await proposer.run((op) => window.tabmesh.propose(op), { kind: 'kv-set', key: 'proposed-in', value: 'firefox' });
    expect(seq).toBeGreaterThan(0);
    const logs: string[] = [];
    for (const tab of tabs) {
      const s = await waitFor(tab, (s) => s.consensus.lastCommitted >= seq, `committed up to ${seq}`);
      const entry = s.consensus.log.find((e) => e.seq === seq && e.client === proposer.id);
      expect(entry?.op, `${tab.label}: the Firefox proposal at ${seq}`).toEqual({ kind: 'kv-set', key: 'proposed-in', value: 'firefox' });
      logs.push(JSON.stringify(s.consensus.log.filter((e) => e.seq <= seq).map((e) => [e.seq, e.digest, e.op])));
    }
    expect(new Set(logs).size, 'every tab shows the same log up to the proposal').toBe(1);
    for (const tab of tabs) expect((await snapshotOf(tab))!.consensus.rejected['runtime: bad signature'] ?? 0, tab.label).toBe(0);
  });

  test('a Mandelbrot job submitted in Firefox is computed by Firefox and Chromium tabs, and its image is complete', async () => {
    for (const tab of tabs) await waitFor(tab, (s) => s.compute.poolSize >= 1, 'has a compute pool');
    const home = firefoxTabs()[0]!;
    const jobId = await home.run((params) => window.tabmesh.submitJob({ kind: 'mandelbrot', params }), mandelbrotJob);
    const done = await waitFor(home, (s) => jobOf(s, jobId)?.status === 'done', 'the job is done', 90_000);
    const job = jobOf(done, jobId)!;
    expect(job.done).toBe(mandelbrotTiles);
    expect(Object.values(job.shares).reduce((a, b) => a + b, 0)).toBe(mandelbrotTiles);
    const tilesBy = (kind: Tab['browser']) => tabs.filter((t) => t.browser === kind).reduce((sum, t) => sum + (job.shares[t.id] ?? 0), 0);
    console.log(
      `Mandelbrot job of ${mandelbrotTiles} tiles: ${tilesBy('firefox')} computed in Firefox, ${tilesBy('chromium')} in Chromium (${JSON.stringify(job.shares)})`,
    );
    expect(tilesBy('firefox'), 'tiles computed in Firefox tabs').toBeGreaterThanOrEqual(1);
    expect(tilesBy('chromium'), 'tiles computed in Chromium tabs').toBeGreaterThanOrEqual(1);
    // The assembled image, checked in the page that holds it: every pixel written by some tile.
    const image = await home.run(async (id) => {
      const result = (await window.tabmesh.jobResult(id)) as { width: number; height: number; pixels: Uint8ClampedArray };
      let unset = 0;
      for (let i = 3; i < result.pixels.length; i += 4) if (result.pixels[i] !== 255) unset++;
      return { width: result.width, height: result.height, unset };
    }, jobId);
    expect(image).toEqual({ width: 512, height: 256, unset: 0 });
  });

  test('no tab had to restart its protocol worker along the way', async () => {
    for (const tab of tabs) {
      const { recovery } = (await snapshotOf(tab))!;
      expect(recovery.restarts, `${tab.label}: restarts (last reason: ${recovery.lastReason})`).toBe(0);
    }
  });
});

async function everyTabLinksOverLoopback(tabs: Tab[]): Promise<void> {
  for (const tab of tabs) {
    const others = tabs
      .filter((t) => t !== tab)
      .map((t) => t.id)
      .sort();
    await waitFor(
      tab,
      (s) =>
        linkedPeers(s).join() === others.join() &&
        s.links.every((l) => l.rttMs !== null) &&
        others.every((id) => s.members.some((m) => m.id === id && m.status === 'alive')),
      'linked to the other three, which are alive',
    );
  }
  for (const tab of tabs) {
    const ice: IceReport = await tab.run(iceReportInPage, undefined);
    expect(ice.selectedPairs.length, `${tab.label}: a connected RTCPeerConnection per link`).toBeGreaterThanOrEqual(3);
    for (const pair of ice.selectedPairs) {
      // Loopback either way, IPv4 or IPv6 (Firefox gathers ::1 too). The remote end may be
      // peer-reflexive: its connectivity check can arrive before its candidate does over signaling.
      expect(pair.localType, `${tab.label}: the selected pair's local candidate`).toBe('host');
      expect(['host', 'prflx'], `${tab.label}: the selected pair's remote candidate`).toContain(pair.remoteType);
      expect(pair.localAddress, `${tab.label}: the selected pair's local address`).toMatch(loopbackAddress);
      // Chromium redacts a peer-reflexive remote candidate's address in getStats (it reports ''),
      // so only a remote address it does report is checked; every local one always is.
      const redacted = pair.remoteType === 'prflx' && pair.remoteAddress === '';
      if (!redacted) expect(pair.remoteAddress, `${tab.label}: the selected pair's remote address`).toMatch(loopbackAddress);
    }
    for (const candidate of ice.localCandidates) expect(candidate, `${tab.label}: a gathered candidate`).toMatch(/^host /);
    for (const candidate of ice.localCandidates) expect(candidate.split(' ')[1], `${tab.label}: a gathered candidate`).toMatch(loopbackAddress);
  }
}
