// The chaos run's tabs, by position: a position always names one open tab (a killed tab is
// replaced in the same position). Opening waits for the node to join the room (a condition, with
// a deadline, never a fixed sleep); killing closes the page (it says goodbye) or crashes its
// renderer over CDP (it does not).
import type { BrowserContext, Page } from 'playwright-core';
import type { ChaosRig } from './rig.ts';
import type { Replacement } from './schedule.ts';

/** How long a tab may take to load and join the room on a loaded machine. */
export const tabJoinTimeoutMs = 90_000;
/** Polling period while waiting for a tab. */
const pollMs = 250;
/** Page errors kept for the report (the count goes on). */
const maxPageErrorsKept = 20;

export interface Tab {
  position: number;
  page: Page;
  user: BrowserContext;
  /** The node id, once the tab has joined (a reload keeps it; a replacement may or may not). */
  id: string;
  openedAtMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a call into a page waits for a (re)loading page to set up window.tabmesh. */
export const apiReadyTimeoutMs = 30_000;

/**
 * Resolves once the page has set up window.tabmesh (a condition wait, not a sleep). A tab the
 * adversary is reloading has none for a moment; a proposal made then failed with "Cannot read
 * properties of undefined (reading 'propose')" and was counted as a proposal error of the mesh.
 */
export async function apiReady(page: Page): Promise<void> {
  await page.waitForFunction(() => window.tabmesh !== undefined, undefined, { timeout: apiReadyTimeoutMs });
}

export class TabPool {
  private readonly tabs: Array<Tab | null>;
  /** The profile each position opens its tabs in (a new profile gives new identities). */
  private readonly users: Array<BrowserContext | null>;
  readonly pageErrors: string[] = [];
  pageErrorCount = 0;

  constructor(
    private readonly rig: ChaosRig,
    private readonly address: string,
    size: number,
    private readonly clock: () => number,
  ) {
    this.tabs = Array.from({ length: size }, () => null);
    this.users = Array.from({ length: size }, () => null);
  }

  get size(): number {
    return this.tabs.length;
  }

  tab(position: number): Tab | null {
    return this.tabs[position] ?? null;
  }

  open(): Tab[] {
    return this.tabs.filter((t): t is Tab => t !== null);
  }

  /** Opens the tab of `position` and waits until its node has joined the room. */
  async openAt(position: number, replacement: Replacement = 'same-profile'): Promise<Tab> {
    let user = this.users[position] ?? null;
    if (!user || replacement === 'new-profile') {
      const old = user;
      user = await this.sharedOrNewUser(position, replacement === 'new-profile');
      this.users[position] = user;
      if (old && !this.users.includes(old)) await old.close().catch(() => {});
    }
    const page = await user.newPage();
    page.on('pageerror', (error) => this.pageError(position, error.message));
    const tab: Tab = { position, page, user, id: '', openedAtMs: this.clock() };
    this.tabs[position] = tab;
    await page.goto(this.address, { timeout: tabJoinTimeoutMs });
    tab.id = await this.waitJoined(page);
    return tab;
  }

  /** Closes (it says goodbye) or crashes (it does not) the tab of `position`; the position stays empty until openAt. */
  async kill(position: number, how: 'close' | 'crash'): Promise<string | null> {
    const tab = this.tabs[position];
    if (!tab) return null;
    this.tabs[position] = null;
    if (how === 'crash') {
      const crashed = new Promise<void>((resolve) => tab.page.once('crash', () => resolve()));
      const session = await tab.page.context().newCDPSession(tab.page);
      // Page.crash never answers: the renderer is gone before it could.
      void session.send('Page.crash').catch(() => {});
      await Promise.race([crashed, sleep(10_000)]);
    }
    await tab.page.close().catch(() => {});
    return tab.id;
  }

  /** Reloads the tab (same sessionStorage, so the same slot and identity) and waits until it has joined again. */
  async reload(position: number): Promise<Tab | null> {
    const tab = this.tabs[position];
    if (!tab) return null;
    await tab.page.reload({ timeout: tabJoinTimeoutMs });
    tab.id = await this.waitJoined(tab.page);
    return tab;
  }

  async closeAll(): Promise<void> {
    for (const [i, tab] of this.tabs.entries()) {
      this.tabs[i] = null;
      await tab?.page.close().catch(() => {});
    }
    for (const user of new Set(this.users)) await user?.close().catch(() => {});
  }

  /**
   * Positions start in one profile per browser process (tabs of a profile share IndexedDB and
   * take numbered slots in it); a new profile is made for a 'new-profile' replacement.
   */
  private async sharedOrNewUser(position: number, fresh: boolean): Promise<BrowserContext> {
    const browser = position % this.rig.browsers.length;
    if (!fresh) {
      const shared = this.users.find((u, i) => u !== null && i % this.rig.browsers.length === browser);
      if (shared) return shared;
    }
    return this.rig.newUser(browser);
  }

  private async waitJoined(page: Page): Promise<string> {
    const deadline = Date.now() + tabJoinTimeoutMs;
    for (;;) {
      const state = await page
        .evaluate(() => {
          const s = window.tabmesh?.snapshot();
          return s ? { id: s.id, signaling: s.signaling } : null;
        })
        .catch(() => null);
      if (state && state.signaling === 'joined') return state.id;
      if (Date.now() > deadline) throw new Error(`the tab did not join the room within ${tabJoinTimeoutMs / 1000} s (last: ${JSON.stringify(state)})`);
      await sleep(pollMs);
    }
  }

  private pageError(position: number, message: string): void {
    this.pageErrorCount++;
    if (this.pageErrors.length < maxPageErrorsKept) this.pageErrors.push(`tab ${position}: ${message}`);
  }
}
