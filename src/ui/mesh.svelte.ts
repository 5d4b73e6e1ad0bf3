// The UI's view of the node: the worker's immutable snapshots held in $state.raw, and the
// commands the panels may send. Components read getters; they never mutate a snapshot.
//
// The worker posts a snapshot when something changed (src/worker/snapshot-pacer.ts: news at
// once, drifting counters every 2 s). Rendering the whole dashboard is most of an idle tab's
// CPU, so the view shows news at most once per uiRefreshIntervalMs, a snapshot whose only news
// is in counters and round trips at most once per uiQuietRefreshMs, every snapshot for a moment
// after a command (so a click shows its effect at once), and nothing while the tab is hidden (it
// catches up when shown). window.tabmesh.snapshot() is not throttled.
import type { NodeSnapshot } from '../mesh-node.ts';
import type { Room } from '../api/index.ts';
import type { RoomAdmin } from '../api/admin.ts';
import { assignNodeHues, nodeHue as hueAmong } from './node-colours.ts';
import { RefreshGate } from './refresh-gate.ts';
import { pageLastingKey } from '../worker/snapshot-pacer.ts';

/** Least time between two renders of a new snapshot while nobody acts: a dashboard read by eye. */
export const uiRefreshIntervalMs = 1_000;
/** Least time between two renders when only counters, round trips and ages moved (an idle mesh). */
export const uiQuietRefreshMs = 4_000;
/** After a command, every snapshot is rendered for this long, so its effect shows at once. */
export const uiFollowAfterCommandMs = 3_000;

/** The page's visibility, where there is a document (absent in unit tests). */
function pageVisible(): boolean {
  return typeof document === 'undefined' || document.visibilityState !== 'hidden';
}

export class MeshState {
  snapshot = $state.raw<NodeSnapshot | null>(null);
  lastError = $state<string | null>(null);
  /** Whether the tab is shown; hidden tabs render nothing and let their plots rest. */
  visible = $state(pageVisible());
  private readonly gate: RefreshGate<NodeSnapshot>;

  /** @param room the dashboard's node, joined with the library API (src/main.ts) */
  constructor(private readonly room: Room) {
    this.gate = new RefreshGate<NodeSnapshot>({
      intervalMs: uiRefreshIntervalMs,
      quietIntervalMs: uiQuietRefreshMs,
      key: pageLastingKey,
      followMs: uiFollowAfterCommandMs,
      now: () => performance.now(),
      schedule: (fn, ms) => {
        const timer = setTimeout(fn, ms);
        return () => clearTimeout(timer);
      },
      show: (snapshot) => {
        roomPalette.update(snapshot);
        this.snapshot = snapshot;
      },
    });
    this.gate.setVisible(this.visible);
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', () => {
        this.visible = pageVisible();
        this.gate.setVisible(this.visible);
      });
    }
    const first = room.snapshot();
    if (first) this.gate.offer(first);
    room.on('snapshot', (snapshot) => this.gate.offer(snapshot));
  }

  /** The node's controls (settings, jobs, consensus demo…): call them through `act` so a refusal is shown. */
  get admin(): RoomAdmin {
    return this.room.admin;
  }

  /** The room's replicated memory. */
  get memory(): Room['memory'] {
    return this.room.memory;
  }

  /** The newest snapshot from the worker, not reactive (for samplers that run on their own clock). */
  get latest(): NodeSnapshot | null {
    return this.room.closed ? null : this.room.snapshot();
  }

  /** Every snapshot the worker posts, rendered or not (the charts sample them); returns the unsubscribe function. */
  onEverySnapshot(listener: (snapshot: NodeSnapshot) => void): () => void {
    const latest = this.latest;
    if (latest) listener(latest);
    return this.room.on('snapshot', listener);
  }

  /** Why the node was given up on (its worker failed again and again), or null. */
  get startupError(): string | null {
    return this.snapshot?.recovery?.gaveUp ?? null;
  }

  /** Runs an action on the node; a refusal is shown to the person (lastError) and resolves undefined instead of throwing. */
  async act<T>(action: (admin: RoomAdmin) => Promise<T>): Promise<T | undefined> {
    this.gate.follow();
    try {
      const value = await action(this.room.admin);
      this.lastError = null;
      return value;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      return undefined;
    } finally {
      // The reply may come before the snapshot that shows its effect: keep following.
      this.gate.follow();
    }
  }
}

/** Ids are 43 characters; people recognise the first few. */
export const shortId = (id: string): string => id.slice(0, 8);

/**
 * The room's colours: a hue per member of the snapshot on show (src/ui/node-colours.ts), the same
 * in every tab once gossip agrees on the members. One per page, as a page shows one node; held
 * here so a chip needs only an id. Recomputed only when the member set changes.
 */
class RoomPalette {
  hues = $state.raw<ReadonlyMap<string, number>>(new Map());
  private key = '';

  update(snapshot: NodeSnapshot): void {
    const ids = [...new Set([snapshot.id, ...(snapshot.members ?? []).map((m) => m.id)])].sort();
    const key = ids.join(' ');
    if (key === this.key) return;
    this.key = key;
    this.hues = assignNodeHues(ids);
  }
}
export const roomPalette = new RoomPalette();

/** A node's hue on this page, so a node has the same colour everywhere in the UI and in every tab. */
export function nodeHue(id: string): number {
  return hueAmong(id, roomPalette.hues);
}
