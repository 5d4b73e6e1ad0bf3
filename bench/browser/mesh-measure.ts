// Mesh figures: time from opening N tabs to a connected mesh with every degree in range, and
// time to heal after a quarter of them close. "Connected" is judged from the direct links every
// tab reports (window.tabmesh.snapshot().links), not from any one tab's view of the graph.
import type { Page } from 'playwright-core';
import type { NodeSnapshot } from '../../src/mesh-node.ts';
import { openPage, snapshotOf, userFor, waitFor, type BenchRig } from './launch.ts';

/** How long a mesh may take to form or heal before the figure is given up (null). */
const meshTimeoutMs = 60_000;

export interface Tab {
  page: Page;
  id: string;
}

/** The part of a snapshot that meshIsWhole reads (a bench may fetch only this: a whole snapshot per tab per poll is slow). */
export type MeshView = Pick<NodeSnapshot, 'id'> & { links: ReadonlyArray<{ peer: string }>; overlay: { config: { minLinks: number; maxLinks: number } } };

/** Every tab's degree within the overlay's bounds (a full mesh while the swarm is small) and the link graph connected. */
export function meshIsWhole(snapshots: readonly MeshView[]): boolean {
  const ids = new Set(snapshots.map((s) => s.id));
  if (ids.size !== snapshots.length) return false;
  const neighbours = new Map<string, Set<string>>();
  for (const s of snapshots) {
    const peers = s.links.map((l) => l.peer).filter((p) => ids.has(p));
    // A link to a node outside the set (a closed tab) means the mesh has not healed yet.
    if (peers.length !== s.links.length) return false;
    const { minLinks, maxLinks } = s.overlay.config;
    const low = Math.min(minLinks, ids.size - 1);
    if (peers.length < low || peers.length > maxLinks) return false;
    neighbours.set(s.id, new Set(peers));
  }
  const start = snapshots[0]?.id;
  if (start === undefined) return false;
  const seen = new Set([start]);
  const queue = [start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of neighbours.get(at) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen.size === ids.size;
}

async function wholeMesh(pages: readonly Page[]): Promise<NodeSnapshot[] | undefined> {
  const snapshots = await Promise.all(pages.map(snapshotOf));
  if (snapshots.some((s) => s === null)) return undefined;
  return meshIsWhole(snapshots as NodeSnapshot[]) ? (snapshots as NodeSnapshot[]) : undefined;
}

/** Opens `n` tabs at once in `room` (split over both browser processes) and times the mesh forming. */
export async function openMesh(rig: BenchRig, n: number, room: string): Promise<{ tabs: Tab[]; formedS: number | null }> {
  const url = `${rig.url}?room=${encodeURIComponent(room)}`;
  const t0 = performance.now();
  const pages = await Promise.all(Array.from({ length: n }, (_, i) => openPage(userFor(rig, i, n), url)));
  let formedS: number | null = null;
  let snapshots: NodeSnapshot[];
  try {
    snapshots = await waitFor(() => wholeMesh(pages), `${n} tabs form a connected mesh`, meshTimeoutMs);
    formedS = (performance.now() - t0) / 1000;
  } catch (error) {
    console.error(`mesh: ${error instanceof Error ? error.message : String(error)}`);
    snapshots = (await Promise.all(pages.map(snapshotOf))).filter((s): s is NodeSnapshot => s !== null);
  }
  const tabs = pages.map((page, i) => ({ page, id: snapshots[i]?.id ?? '' }));
  return { tabs, formedS };
}

/**
 * Closes a quarter of the tabs (at least one, never the first: it drives the others), the way
 * a person closes a tab, and times until the rest form a whole mesh again. Returns the survivors.
 */
export async function closeQuarterAndHeal(tabs: readonly Tab[]): Promise<{ survivors: Tab[]; healS: number | null }> {
  const closing = Math.max(1, Math.floor(tabs.length / 4));
  const victims = tabs.slice(tabs.length - closing);
  const survivors = tabs.slice(0, tabs.length - closing);
  const t0 = performance.now();
  await Promise.all(victims.map((t) => t.page.close({ runBeforeUnload: true })));
  try {
    await waitFor(() => wholeMesh(survivors.map((t) => t.page)), `the ${survivors.length} remaining tabs heal`, meshTimeoutMs);
    return { survivors, healS: (performance.now() - t0) / 1000 };
  } catch (error) {
    console.error(`heal: ${error instanceof Error ? error.message : String(error)}`);
    return { survivors, healS: null };
  }
}
