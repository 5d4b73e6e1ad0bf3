// Issue 7 in real Chromium: the dashboard of four tabs renders every panel with live data, the
// health score is there and in [0, 1], plots and graph draw, a lone visitor sees how to add
// nodes, every control is labelled and reachable by keyboard with a visible focus ring,
// settings (batch size included) apply live in every tab (refused in the form when out of
// range) and survive a reload.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newUser, openTab, snapshotOf, startServer, waitForSnapshot, type RunningServer } from './harness.ts';

const room = 'dashboard';
const tabCount = 4;

/** Pixels of a canvas that are not fully transparent: > 0 means something was drawn. */
async function paintedPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (canvas) => {
    const c = canvas as HTMLCanvasElement;
    const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
    if (!data) return 0;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
    return painted;
  });
}

/** Waits (no sleeps: polls with a deadline) until `check` holds in the page. */
async function waitInPage(page: Page, check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction(check, undefined, { timeout: timeoutMs, polling: 200 });
  } catch {
    throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
  }
}

describe('the dashboard with four tabs', () => {
  let server: RunningServer;
  let browser: Browser;
  let user: BrowserContext;
  const tabs: Page[] = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    user = await newUser(browser);
    tabs.push(await openTab(user, server.url, room));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a lone visitor sees how to add nodes, with a QR code of the room link; it goes once others join', async () => {
    const first = tabs[0]!;
    await first.getByTestId('welcome').waitFor({ state: 'visible', timeout: 10_000 });
    await expect(first.getByTestId('open-tab').isVisible()).resolves.toBe(true);
    expect(await first.getByTestId('welcome').textContent()).toContain(`room=${room}`);
    expect(await paintedPixels(first, '[data-testid="welcome-qr"]')).toBeGreaterThan(1_000);

    for (let i = 1; i < tabCount; i++) tabs.push(await openTab(user, server.url, room));
    for (const tab of tabs) await waitForSnapshot(tab, (s) => s.links.length === tabCount - 1, 'a full mesh of four', 40_000);
    await first.getByTestId('welcome').waitFor({ state: 'detached', timeout: 10_000 });
  });

  test('every panel renders with live data, and the health score is present and in [0, 1]', () => everyPanelShowsLiveData(tabs));

  test('the plots and the topology graph draw (non-empty canvases and graph, not pixel checks)', async () => {
    const page = tabs[0]!;
    // A proposal gives the latency and throughput plots something to show.
    await page.evaluate(() => window.tabmesh.propose('dashboard test'));
    for (const plot of ['plot-health', 'plot-latency', 'plot-throughput', 'plot-convergence', 'plot-messages', 'plot-load']) {
      const selector = `[data-testid="${plot}"] canvas`;
      await page.locator(selector).first().waitFor({ state: 'attached', timeout: 10_000 });
      expect(await paintedPixels(page, selector), plot).toBeGreaterThan(100);
    }
    const graph = page.getByTestId('topology-graph');
    await waitInPage(page, () => document.querySelectorAll('[data-testid="topology-graph"] circle').length >= 4, 'four nodes in the graph', 20_000);
    expect(await graph.locator('line, path').count()).toBeGreaterThan(0);
    const shot = await page.screenshot({ fullPage: false });
    expect(shot.byteLength).toBeGreaterThan(10_000);
  });

  test('settings out of range are refused in the form with a message; a valid one applies', async () => {
    const page = tabs[1]!;
    await page.getByTestId('setting-fanout').fill('99');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await waitInPage(
      page,
      () => /fanout must be a whole number from 1 to 8/i.test(document.querySelector('[data-testid="settings-message"]')?.textContent ?? ''),
      'the refusal message',
    );
    expect((await snapshotOf(page)).settings.fanout).toBe(3);
    await page.getByTestId('setting-fanout').fill('5');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await waitForSnapshot(page, (s) => s.settings.fanout === 5, 'fanout 5 in force');
    await expect(page.evaluate(() => window.tabmesh.setSettings({ gossipCycleMs: 10 }))).rejects.toThrow(/250 to 10000/);
  });

  test('every form control has a label; Tab walks them in reading order with a visible focus ring', () => formControlsAreLabelledAndFocusable(tabs));

  test('batch size: out of range refused in the form; set live in every tab, consensus keeps committing under it', () => batchSizeAppliesEverywhere(tabs));

  test('link bounds set in every tab change the mesh in all of them, and a reloaded tab keeps its settings', async () => {
    for (const tab of tabs) {
      const applied = await tab.evaluate(() => window.tabmesh.setSettings({ minLinks: 1, maxLinks: 2, gossipCycleMs: 1_000 }));
      expect(applied).toMatchObject({ minLinks: 1, maxLinks: 2, gossipCycleMs: 1_000 });
    }
    // A full mesh of four has three links per tab; with at most two, each tab drops one.
    for (const tab of tabs) {
      const s = await waitForSnapshot(tab, (x) => x.links.length >= 1 && x.links.length <= 2 && x.overlay.config.maxLinks === 2, 'at most two links', 45_000);
      expect(s.settings).toMatchObject({ minLinks: 1, maxLinks: 2 });
    }
    const page = tabs[2]!;
    await page.reload();
    const after = await waitForSnapshot(
      page,
      (s) => s.settings?.maxLinks === 2 && s.settings.gossipCycleMs === 1_000,
      'settings re-applied after the reload',
      30_000,
    );
    expect(after.overlay.config).toEqual({ minLinks: 1, maxLinks: 2 });
  });
});

async function everyPanelShowsLiveData(tabs: Page[]): Promise<void> {
  for (const tab of tabs) {
    const s = await waitForSnapshot(
      tab,
      (x) => x.health !== undefined && x.links.length === tabCount - 1 && x.health.values.quorum === 1 && x.consensus.status === 'replica',
      'health computed with the mesh formed',
      30_000,
    );
    expect(s.health.score).toBeGreaterThanOrEqual(0);
    expect(s.health.score).toBeLessThanOrEqual(1);
    expect(Object.keys(s.health.components).sort()).toEqual(['balance', 'connectivity', 'convergence', 'faults', 'quorum']);
    const sum = Object.values(s.health.components).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - s.health.score)).toBeLessThan(0.01);
  }
  const page = tabs[0]!;
  for (const heading of [
    'Health and history',
    'Mesh',
    'Direct links',
    'Gossip',
    'Replicated memory',
    'Committed log',
    'Messages',
    'Jobs',
    'Settings',
    'Status record',
    'Room',
  ]) {
    await expect(
      page
        .getByRole('heading', { name: new RegExp(`^${heading}`) })
        .first()
        .isVisible(),
      heading,
    ).resolves.toBe(true);
  }
  await expect(page.locator('#consensus-title').isVisible()).resolves.toBe(true);
  await expect(page.locator('#compute-title').isVisible()).resolves.toBe(true);
  // The score shown is the snapshot's score (the dashboard renders at most once a second, so it
  // may take a moment to catch up with the worker).
  await waitInPage(
    page,
    () => {
      const shown = /(\d+) %/.exec(document.querySelector('[data-testid="health-score"]')?.textContent ?? '');
      const score = window.tabmesh.snapshot()?.health?.score;
      return !!shown && typeof score === 'number' && Math.abs(Number(shown[1]) - score * 100) <= 1;
    },
    'the score on screen equal to the snapshot’s',
  );
  // Live data: the links and gossip panels list the three other tabs.
  const others = (await snapshotOf(page)).links.map((l) => l.peer);
  for (const peer of others) {
    expect(await page.locator(`[data-member="${peer}"]`).count()).toBeGreaterThan(0);
    expect(await page.locator(`tr[data-peer="${peer}"]`).count()).toBe(1);
  }
  // The raw status record, as stored: four live nodes, consensus ready.
  await waitInPage(
    page,
    () => /"total_active_nodes": 4/.test(document.querySelector('[data-testid="status-record"]')?.textContent ?? ''),
    'the status record of four nodes',
  );
  const record = JSON.parse((await page.getByTestId('status-record').textContent()) ?? '{}') as {
    swarm_id?: string;
    services_status?: { consensus_ready?: boolean };
  };
  expect(record.swarm_id).toBe(`swarm-${room}`);
  expect(record.services_status?.consensus_ready).toBe(true);
  // Consensus: four replicas listed with a primary, in every tab.
  for (const tab of tabs)
    await waitInPage(tab, () => document.querySelectorAll('[aria-label="Replicas, in primary order"] li').length === 4, 'four replicas in the consensus panel');
}

async function formControlsAreLabelledAndFocusable(tabs: Page[]): Promise<void> {
  const page = tabs[3]!;
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const control = el as HTMLInputElement;
        if (control.type === 'hidden') return false;
        if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
        if (el.tagName === 'BUTTON') return (el.textContent ?? '').trim() === '';
        return (control.labels?.length ?? 0) === 0;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  expect(unlabelled).toEqual([]);
  await page.evaluate(() => {
    const seen: Element[] = [];
    (window as unknown as { focusSeen: Element[] }).focusSeen = seen;
    document.addEventListener('focusin', (e) => seen.push(e.target as Element));
    (document.activeElement as HTMLElement | null)?.blur();
  });
  const rings: string[] = [];
  for (let i = 0; i < 120; i++) {
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return 'body';
      const style = getComputedStyle(el);
      return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 ? 'ring' : `no ring on ${el.outerHTML.slice(0, 80)}`;
    });
    if (ring === 'body') break;
    rings.push(ring);
  }
  expect(rings.filter((r) => r !== 'ring')).toEqual([]);
  const order = await page.evaluate(() => {
    const seen = (window as unknown as { focusSeen: Element[] }).focusSeen;
    const backwards = seen.slice(1).filter((el, i) => !(seen[i]!.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING));
    return { ids: seen.map((el) => el.id).filter(Boolean), backwards: backwards.length };
  });
  expect(order.backwards).toBe(0);
  for (const id of ['memory-key', 'message-input', 'propose-value', 'byzantine-mode', 'job-kind', 'setting-fanout', 'setting-batchSize'])
    expect(order.ids).toContain(id);
}

async function batchSizeAppliesEverywhere(tabs: Page[]): Promise<void> {
  const page = tabs[0]!;
  await page.getByTestId('setting-batchSize').fill('0');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await waitInPage(
    page,
    () => /batch size must be a whole number from 1 to 256/i.test(document.querySelector('[data-testid="settings-message"]')?.textContent ?? ''),
    'the batch size refusal',
  );
  expect((await snapshotOf(page)).settings.batchSize).toBe(32);
  await page.getByTestId('setting-batchSize').fill('1');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await waitForSnapshot(page, (s) => s.settings.batchSize === 1, 'batch size 1 in force');
  for (const tab of tabs.slice(1)) expect((await tab.evaluate(() => window.tabmesh.setSettings({ batchSize: 1 }))).batchSize).toBe(1);
  const before = Math.max(...(await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).consensus.lastCommitted))));
  // Every tab proposes at once, one operation at a time each. (With four tabs at most four
  // requests wait at the primary, which keeps four batches in flight, so batches of one are
  // what any batch size gives here: that the primary honours a smaller size is tested on the
  // pBFT core with 40 clients, test/core/pbft/window.test.ts; this checks the setting
  // reaches every tab and consensus works under it, batches within it.)
  const seqs = await Promise.all(
    tabs.map((t, i) =>
      t.evaluate(async (tab) => {
        const out: number[] = [];
        for (let k = 0; k < 3; k++) out.push(await window.tabmesh.propose(`batch ${tab}.${k}`));
        return out;
      }, i),
    ),
  );
  const top = Math.max(...seqs.flat());
  for (const tab of tabs) {
    const s = await waitForSnapshot(tab, (x) => x.consensus.lastCommitted >= top, 'the proposals executed', 60_000);
    const batches = s.consensus.phases.filter((p) => p.seq > before && p.requests > 0);
    expect(batches.length).toBeGreaterThan(0);
    expect(Math.max(...batches.map((p) => p.requests))).toBe(1);
  }
  for (const tab of tabs) await tab.evaluate(() => window.tabmesh.setSettings({ batchSize: 32 }));
}
