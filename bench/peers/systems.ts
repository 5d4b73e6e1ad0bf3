// The systems `npm run bench:peers` compares, each as the handful of page-side questions the
// measurements ask: where its page is, when its mesh is formed, and how to read and write its
// replicated map. Tabmesh is driven through window.tabmesh, y-webrtc through window.ybench
// (yjs-page.ts). A Tabmesh "baseline" is another checkout's build (--baseline), for before/after.
import type { Page } from 'playwright-core';
import { meshIsWhole, type MeshView } from '../browser/mesh-measure.ts';

/**
 * What meshIsWhole reads, taken in the page: a few hundred bytes per tab instead of a whole
 * snapshot (at 16 tabs on a loaded machine, cloning and shipping every snapshot made one poll
 * take seconds, and the mesh looked formed that much later than it was).
 */
export function meshViewOf(page: Page): Promise<MeshView | null> {
  return page
    .evaluate(() => {
      const s = window.tabmesh?.snapshot();
      if (!s) return null;
      return { id: s.id, links: s.links.map((l) => ({ peer: l.peer })), overlay: { config: s.overlay.config } };
    })
    .catch(() => null);
}

export interface System {
  /** Name in the rows and the table. */
  name: string;
  /** Tabmesh has consensus to measure; y-webrtc has none. */
  consensus: boolean;
  pageUrl(room: string): string;
  /** True once every tab is linked into one mesh (Tabmesh: overlay degrees in range and connected; y-webrtc: a full mesh). */
  formed(pages: readonly Page[]): Promise<boolean>;
  /** Each tab's number of links now, for the log when a mesh does not form in time ('-': the tab does not answer). */
  degrees(pages: readonly Page[]): Promise<string>;
}

export function tabmeshSystem(name: string, serverUrl: string): System {
  return {
    name,
    consensus: true,
    pageUrl: (room) => `${serverUrl}?room=${encodeURIComponent(room)}`,
    async formed(pages) {
      const views = await Promise.all(pages.map(meshViewOf));
      return views.every((v) => v !== null) && meshIsWhole(views as MeshView[]);
    },
    async degrees(pages) {
      const views = await Promise.all(pages.map(meshViewOf));
      return views.map((v) => (v ? String(v.links.length) : '-')).join(' ');
    },
  };
}

export function yjsSystem(pageServerUrl: string, signalingUrl: string): System {
  return {
    name: 'y-webrtc',
    consensus: false,
    pageUrl: (room) => `${pageServerUrl}/?room=${encodeURIComponent(room)}&signaling=${encodeURIComponent(signalingUrl)}`,
    async formed(pages) {
      const counts = await Promise.all(
        pages.map((p) => p.evaluate(() => (window as unknown as { ybench?: { peers(): number } }).ybench?.peers() ?? -1).catch(() => -1)),
      );
      return counts.every((c) => c === pages.length - 1);
    },
    async degrees(pages) {
      const counts = await Promise.all(
        pages.map((p) => p.evaluate(() => (window as unknown as { ybench?: { peers(): number } }).ybench?.peers() ?? -1).catch(() => -1)),
      );
      return counts.map((c) => (c < 0 ? '-' : String(c))).join(' ');
    },
  };
}

// ── Page-side helpers (passed to page.evaluate: each must be self-contained) ─────────────────

/** Reads one key of the page's replicated map, whichever system the page runs. */
export const readKeySource = `(key) => {
  const y = window.ybench;
  if (y) return y.get(key);
  const t = window.tabmesh;
  if (!t) return undefined;
  if (typeof t.getMemory === 'function') return t.getMemory(key);
  return t.snapshot()?.memory?.[key];
}`;

/** Writes one key (resolves when the system's call returns). */
export const writeKeySource = `async (key, value) => {
  if (window.ybench) return window.ybench.set(key, value);
  await window.tabmesh.setMemory(key, value);
}`;

/** True when the page holds every key `${prefix}${i}` for i < count. */
export const hasAllSource = `(prefix, count) => {
  const y = window.ybench;
  const t = window.tabmesh;
  if (!y && !t) return false;
  let memory = null;
  if (!y && typeof t.getMemory !== 'function') memory = t.snapshot()?.memory ?? {};
  for (let i = 0; i < count; i++) {
    const key = prefix + i;
    const value = y ? y.get(key) : memory ? memory[key] : t.getMemory(key);
    if (value === undefined) return false;
  }
  return true;
}`;
