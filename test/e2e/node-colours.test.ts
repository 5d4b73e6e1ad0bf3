// Issue 7 in real Chromium: a node has the same colour in every tab of the room, and the room's
// nodes get colours far apart (three nodes a quarter of the readable wheel apart, not two oranges).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newUser, openTab, startServer, waitForSnapshot, type RunningServer } from './harness.ts';

const room = 'colours';
const tabCount = 3;

/** The Room panel's chips as the tab draws them: node id → the hue its dot is painted with. */
async function chipHues(page: Page): Promise<Record<string, number>> {
  return page.$$eval('.peers .chip', (chips) =>
    Object.fromEntries(chips.map((chip) => [chip.getAttribute('title') ?? '', Number((chip as HTMLElement).style.getPropertyValue('--hue'))])),
  );
}

/** Smallest distance between two hues on the colour wheel, in degrees. */
function minHueGap(hues: number[]): number {
  const sorted = [...hues].sort((a, b) => a - b);
  let gap = 360;
  for (let i = 0; i < sorted.length; i++) gap = Math.min(gap, (i + 1 < sorted.length ? sorted[i + 1]! : sorted[0]! + 360) - sorted[i]!);
  return gap;
}

describe('node colours across tabs', () => {
  let server: RunningServer;
  let browser: Browser;
  const tabs: Page[] = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const user = await newUser(browser);
    for (let i = 0; i < tabCount; i++) tabs.push(await openTab(user, server.url, room));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('every tab paints each node with the same, clearly different hue', async () => {
    const ids: string[] = [];
    for (const tab of tabs) {
      const s = await waitForSnapshot(tab, (s) => s.members.filter((m) => m.status === 'alive').length === tabCount, `${tabCount} alive members`, 90_000);
      ids.push(s.id);
    }
    // The view renders at most once a second and a tab learns members one gossip round after
    // another, so for a moment two tabs may differ: wait (with a deadline) until every tab draws
    // all three chips and they agree.
    const deadline = Date.now() + 60_000;
    let seen: Array<Record<string, number>> = [];
    const agree = () => seen.every((hues) => JSON.stringify(hues) === JSON.stringify(seen[0]) && Object.keys(hues).length === tabCount);
    for (;;) {
      seen = [];
      for (const tab of tabs) {
        const hues = await chipHues(tab);
        seen.push(Object.fromEntries(Object.entries(hues).sort(([a], [b]) => (a < b ? -1 : 1))));
      }
      if (agree() || Date.now() > deadline) break;
      await tabs[0]!.waitForTimeout(250);
    }
    expect(agree(), `the tabs' chips never agreed: ${JSON.stringify(seen)}`).toBe(true);
    const first = seen[0]!;
    expect(Object.keys(first).sort()).toEqual([...ids].sort());
    const hues = ids.map((id) => first![id]!);
    expect(new Set(hues).size).toBe(tabCount);
    expect(minHueGap(hues), `hues ${hues.join(', ')}`).toBeGreaterThanOrEqual(74.9);
  }, 180_000);
});
