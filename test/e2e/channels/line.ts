// Three tabs in a line, for the channel test and benchmark: two ends with one link each and a
// middle that links both, so the ends reach each other only through the middle. Which tab ends
// up in the middle is the overlay's choice (a tab at its link bound keeps a link rather than cut
// someone off), so the roles are read from the tabs' snapshots once the line has formed.
import type { Page } from 'playwright-core';
import type { NodeSnapshot } from '../../../src/mesh-node.ts';

export interface Line {
  /** The ends (one link each, not linked to each other) and the middle, with their node ids. */
  a: Page;
  b: Page;
  c: Page;
  ids: { a: string; b: string; c: string };
}

/**
 * Waits until `tabs` (three) form a line that every tab sees the same way, then names its ends
 * a and c and its middle b. Call after setting each tab's link bounds to 1–1 at two of them.
 */
export async function waitForLine(tabs: readonly Page[], snapshot: (page: Page) => Promise<NodeSnapshot | null>, timeoutMs = 90_000): Promise<Line> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshots = await Promise.all(tabs.map(snapshot));
    const degrees = snapshots.map((s) => s?.links.length ?? -1);
    const middle = degrees.indexOf(2);
    const ends = [0, 1, 2].filter((i) => i !== middle);
    const agreed = snapshots.every((s) => s !== null && s.topology.nodes.length === 3 && s.topology.links.length === 2);
    if (middle >= 0 && ends.every((i) => degrees[i] === 1) && agreed) {
      const [ia, ic] = ends as [number, number];
      return {
        a: tabs[ia]!,
        b: tabs[middle]!,
        c: tabs[ic]!,
        ids: { a: snapshots[ia]!.id, b: snapshots[middle]!.id, c: snapshots[ic]!.id },
      };
    }
    const last = `degrees ${degrees.join(', ')}; links known: ${snapshots.map((s) => s?.topology.links.length ?? '?').join(', ')}`;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for three tabs in a line (${last})`);
    await tabs[0]!.waitForTimeout(200);
  }
}
