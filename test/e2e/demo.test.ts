// Issue 20 in real Chromium: four tabs opened from the demo's join link (they accept its fault
// clicks) and a fifth on the demo view. The view shows the four nodes; a proposal's real
// messages are drawn in protocol order between the right nodes; clicking the primary and
// choosing `silent` brings a view change that the view shows; presenter mode is screenshotted
// at 1920×1080 and in a phone's viewport (into TABMESH_SCREENSHOTS_DIR when set, e.g.
// docs/screenshots, else a temporary directory).
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newUser, openTab, snapshotOf, startServer, waitForSnapshot, type RunningServer } from './harness.ts';

const room = 'demo-e2e';
const screenshotsDir = process.env['TABMESH_SCREENSHOTS_DIR'] ? resolve(process.env['TABMESH_SCREENSHOTS_DIR']) : mkdtempSync(join(tmpdir(), 'tabmesh-demo-'));

interface Logged {
  kind: string;
  from: string;
  to: string;
  seq: string;
  sample: string;
}

/** The demo view's message log: every message drawn, in the order it left. */
const logOf = (demo: Page): Promise<Logged[]> =>
  demo.$$eval('[data-testid="demo-log"] li', (items) =>
    items.map((li) => {
      const d = (li as HTMLElement).dataset;
      return { kind: d['kind'] ?? '', from: d['from'] ?? '', to: d['to'] ?? '', seq: d['seq'] ?? '', sample: d['sample'] ?? '' };
    }),
  );

/** Polls `check` on the page until it returns a value (not undefined), with a deadline. */
async function until<T>(page: Page, what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await page.waitForTimeout(150);
  }
}

/** The demo screen and the four tabs it watches. */
interface DemoRoom {
  demo: Page;
  tabs: Page[];
  ids: string[];
}

describe('the consensus demo view', () => {
  let server: RunningServer;
  let browser: Browser;
  let demo: Page;
  let demoId: string;
  const tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const user = await newUser(browser);
    // The demo screen first: its node id goes into the join link the others open.
    demo = await openTab(user, server.url, room, '&view=demo');
    demoId = (await snapshotOf(demo)).id;
    for (let i = 0; i < 4; i++) tabs.push(await openTab(user, server.url, room, `&controller=${demoId}`));
    ids = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
    const all = [...ids].sort().join();
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => [...s.consensus.replicas].sort().join() === all && s.consensus.genesis?.settled === true,
        `tab ${i} is one of the four replicas`,
        90_000,
      );
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('shows the four nodes, and not the demo screen, which only watches', async () => {
    const shown = await until(demo, 'the demo view draws four nodes with their roles', async () => {
      const nodes = await demo.$$eval('[data-kind="node"]', (els) =>
        els.map((el) => ({ id: (el as HTMLElement).dataset['node'] ?? '', role: (el as HTMLElement).dataset['role'] ?? '' })),
      );
      return nodes.length === 4 && nodes.filter((n) => n.role === 'primary').length === 1 ? nodes : undefined;
    });
    expect(shown.map((n) => n.id).sort()).toEqual([...ids].sort());
    expect(shown.map((n) => n.id)).not.toContain(demoId);
    const watcher = await snapshotOf(demo);
    expect(watcher.consensus.replicas).not.toContain(demoId);
    // Every node is a button with a label a screen reader reads out.
    const label = await demo.getAttribute(`[data-kind="node"][data-node="${ids[0]}"]`, 'aria-label');
    expect(label).toMatch(/^Node .+(primary|replica)/);
  });

  test('a proposal draws its messages in order — request, pre-prepare, prepare, commit, reply — between the right nodes', () =>
    proposalDrawsItsMessages({ demo, tabs, ids }));

  test('clicking the primary and choosing silent leads to a view change shown on the view', () => silentPrimaryLeadsToViewChange({ demo, tabs, ids }));

  test('the tour steps with the arrow keys, and its first step proposes from the demo screen', async () => {
    await demo.keyboard.press('ArrowRight');
    await demo.waitForSelector('[data-testid="demo-tour"][data-step="silent-primary"]');
    await demo.keyboard.press('ArrowLeft');
    await demo.waitForSelector('[data-testid="demo-tour"][data-step="normal"]');
    await demo.keyboard.press('r');
    // The demo screen is a client too: its request is drawn leaving the middle of the ring.
    const request = await until(
      demo,
      'a request from the demo screen drawn',
      async () => (await logOf(demo)).find((e) => e.kind === 'request' && e.from === demoId),
      90_000,
    );
    expect(ids).toContain(request.to);
    expect((await snapshotOf(demo)).consensus.replicas).not.toContain(demoId);
  });

  test('presenter mode: big counters, the QR join link, and screenshots at 1920×1080 and on a phone', async () => {
    mkdirSync(screenshotsDir, { recursive: true });
    await demo.setViewportSize({ width: 1920, height: 1080 });
    await demo.keyboard.press('p');
    await demo.waitForSelector('[data-testid="demo-view"][data-presenter="true"]');
    const joinHref = await demo.getAttribute('[data-testid="demo-join-link"]', 'href');
    expect(joinHref).toContain(`controller=${demoId}`);
    expect(joinHref).toContain(`room=${room}`);
    const tolerated = await demo.textContent('[data-testid="demo-tolerated"]');
    // Four replicas (f = 1), whatever the links allow: the room tolerates one failure.
    expect(tolerated?.trim()).toBe('1');
    expect(await demo.textContent('[data-testid="demo-tolerance-parts"]')).toMatch(/consensus f = 1/);
    for (const [name, size] of [
      ['demo-presenter-1920x1080.png', { width: 1920, height: 1080 }],
      ['demo-presenter-phone.png', { width: 390, height: 844 }],
    ] as const) {
      await demo.setViewportSize(size);
      // A request in flight makes the picture worth a thousand words.
      const seq = await tabs[1]!.evaluate((text) => window.tabmesh.propose(text), `for the ${name} screenshot`);
      await demo.waitForSelector(`g.msg[data-seq="${seq}"][data-kind="prepare"]`, { timeout: 60_000 });
      // No hover or focus ring on a node in the picture.
      await demo.mouse.move(0, size.height - 1);
      await demo.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const path = join(screenshotsDir, name);
      await demo.screenshot({ path });
      expect(statSync(path).size).toBeGreaterThan(10_000);
    }
  });
  test('the tour’s Mandelbrot step: tiles fly to the nodes that computed them, and idle nodes steal tasks', async () => {
    await demo.setViewportSize({ width: 1920, height: 1080 });
    for (let i = 0; i < 4; i++) await demo.keyboard.press('ArrowRight');
    await demo.waitForSelector('[data-testid="demo-tour"][data-step="mandelbrot"]');
    await demo.keyboard.press('r');
    await demo.waitForSelector('[data-testid="demo-tiles"]', { timeout: 30_000 });
    // Results accepted from the other tabs: their tiles fly to them.
    const computedBy = await until(demo, 'a tile computed by one of the four tabs', async () => {
      const nodes = await demo.$$eval('[data-kind="tile"]', (els) => els.map((el) => (el as HTMLElement).dataset['node'] ?? ''));
      const others = nodes.filter((id) => ids.includes(id));
      return others.length > 0 ? others : undefined;
    });
    expect(computedBy.length).toBeGreaterThan(0);
    // The hand-overs themselves, from the balancers' traces: each is drawn for a moment (marks
    // with data-phase="steal"), and the running totals stay.
    const totals = await until(
      demo,
      'tasks handed over to idle nodes, counted on the view',
      async () => {
        // Whitespace as a reader sees it (the markup wraps the sentence over lines).
        const text = ((await (await demo.$('[data-testid="demo-steals"]'))?.textContent()) ?? '').replace(/\s+/g, ' ');
        const m = /(\d+) tasks stolen by idle nodes, (\d+) shed/.exec(text);
        return m && Number(m[1]) + Number(m[2]) > 0 ? text : undefined;
      },
      90_000,
    );
    expect(totals).toMatch(/results sent home/);
  });
});

async function proposalDrawsItsMessages({ demo, tabs, ids }: DemoRoom): Promise<void> {
  const primary = (await snapshotOf(tabs[0]!)).consensus.primary as string;
  const proposerIndex = ids.findIndex((id) => id !== primary);
  const proposer = ids[proposerIndex]!;
  const seq = await tabs[proposerIndex]!.evaluate(() => window.tabmesh.propose('shown on the demo view'));
  const sample = `seq:${seq}`;
  // While it is replayed, its messages are drawn on the ring with their kind and phase.
  const drawn = await until(demo, `a message of ${sample} on the ring`, async () => {
    const marks = await demo.$$eval(`g.msg[data-seq="${seq}"]`, (els) =>
      els.map((el) => `${(el as HTMLElement).dataset['kind']}/${(el as HTMLElement).dataset['phase']}`),
    );
    return marks.length > 0 ? marks : undefined;
  });
  expect(drawn.every((m) => m.endsWith('/normal-case'))).toBe(true);
  const log = await until(demo, `every message of ${sample} drawn, up to the replies`, async () => {
    const entries = (await logOf(demo)).filter((e) => e.sample === sample);
    return entries.filter((e) => e.kind === 'reply').length >= 3 ? entries : undefined;
  });
  const kinds = log.map((e) => e.kind);
  const first = (kind: string) => kinds.indexOf(kind);
  expect(first('request')).toBe(0);
  expect(first('request')).toBeLessThan(first('pre-prepare'));
  expect(first('pre-prepare')).toBeLessThan(first('prepare'));
  expect(first('prepare')).toBeLessThan(first('commit'));
  expect(first('commit')).toBeLessThan(first('reply'));
  const backups = ids.filter((id) => id !== primary).sort();
  // The request goes from the proposer to the primary; the primary pre-prepares to each backup.
  expect(log.filter((e) => e.kind === 'request').every((e) => e.from === proposer && e.to === primary)).toBe(true);
  expect(log.filter((e) => e.kind === 'pre-prepare').every((e) => e.from === primary)).toBe(true);
  expect([...new Set(log.filter((e) => e.kind === 'pre-prepare').map((e) => e.to))].sort()).toEqual(backups);
  // Only backups prepare; commits go between replicas; replies go to the proposer.
  expect(log.filter((e) => e.kind === 'prepare').every((e) => e.from !== primary && ids.includes(e.to))).toBe(true);
  expect(log.filter((e) => e.kind === 'commit').every((e) => ids.includes(e.from) && ids.includes(e.to))).toBe(true);
  expect(log.filter((e) => e.kind === 'reply').every((e) => e.to === proposer && ids.includes(e.from))).toBe(true);
}

async function silentPrimaryLeadsToViewChange({ demo, tabs, ids }: DemoRoom): Promise<void> {
  const before = await demo.$eval('[data-testid="demo-consensus"]', (el) => ({
    view: Number((el as HTMLElement).dataset['view']),
    primary: (el as HTMLElement).dataset['primary'] ?? '',
  }));
  const primaryIndex = ids.indexOf(before.primary);
  expect(primaryIndex).toBeGreaterThanOrEqual(0);
  await demo.click(`[data-kind="node"][data-node="${before.primary}"]`);
  await demo.click('[data-testid="fault-menu"] [data-fault="byzantine"][data-mode="silent"]');
  await demo.waitForSelector('[data-testid="fault-outcome"]:has-text("accepted")', { timeout: 20_000 });
  await demo.keyboard.press('Escape');
  await demo.waitForSelector('[data-testid="fault-menu"]', { state: 'detached' });
  await waitForSnapshot(tabs[primaryIndex]!, (s) => s.consensus.byzantine === 'silent', 'the primary tab carried out the click');
  // A request the silent primary ignores: the backups time out and change view.
  const other = tabs[(primaryIndex + 1) % tabs.length]!;
  const committed = other.evaluate(() => window.tabmesh.propose('after the primary fell silent'));
  const after = await until(
    demo,
    'the demo view shows a later view with another primary',
    async () => {
      const now = await demo.$eval('[data-testid="demo-consensus"]', (el) => ({
        view: Number((el as HTMLElement).dataset['view']),
        primary: (el as HTMLElement).dataset['primary'] ?? '',
      }));
      return now.view > before.view && now.primary !== before.primary && now.primary !== '' ? now : undefined;
    },
    90_000,
  );
  expect(ids).toContain(after.primary);
  await demo.waitForSelector(`[data-kind="node"][data-node="${after.primary}"][data-role="primary"]`);
  await demo.waitForSelector(`[data-kind="node"][data-node="${before.primary}"][data-fault="Byzantine: silent"]`);
  // The view-change messages themselves are replayed from the traces.
  await until(demo, 'view-change messages drawn', async () => ((await logOf(demo)).some((e) => e.kind === 'view-change') ? true : undefined), 60_000);
  expect(await committed).toBeGreaterThan(0);
  // Bring it back, from the same menu.
  await demo.click(`[data-kind="node"][data-node="${before.primary}"]`);
  await demo.click('[data-testid="fault-menu"] [data-fault="restore"]');
  await demo.waitForSelector('[data-testid="fault-outcome"]:has-text("accepted")', { timeout: 20_000 });
  await demo.keyboard.press('Escape');
  await demo.waitForSelector('[data-testid="fault-menu"]', { state: 'detached' });
  await waitForSnapshot(tabs[primaryIndex]!, (s) => s.consensus.byzantine === null, 'the old primary is honest again');
}
