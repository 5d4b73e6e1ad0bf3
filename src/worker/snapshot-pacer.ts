// When the runtime posts a snapshot to the page. Even an idle mesh changes something every
// ~150 ms (a ping's round trip, a gossip counter, a peer's load advert), and each snapshot costs
// a structured clone of ~10 KB in the worker, another on the page, a decode and a render: most
// of an idle tab's CPU. So a snapshot whose only news is in fields that drift by themselves
// (counters, round trips, ages, timestamps) waits until volatileRefreshMs after the last one
// posted; any other change (a link, a member, a memory key, a commit, a job, a setting) is
// posted as promptly as before. Nothing is lost: the next snapshot carries the newest counters.

/**
 * Field names (at any depth) that drift on their own while the mesh is idle. A change confined
 * to them is not news. Named by key, so a new field elsewhere is news by default.
 */
export const volatileSnapshotFields: ReadonlySet<string> = new Set([
  // links and graph: round trips measured every second, link ages, countdowns
  'rttMs',
  'upForMs',
  'linkRttMs',
  'ageMs',
  'forMs',
  // gossip traffic counters (every cycle and probe)
  'cycles',
  'probes',
  'msgsSent',
  'msgsReceived',
  'bytesSent',
  'bytesReceived',
  'msgsPerCycle',
  'bytesPerCycle',
  // ratios over the last syncs and the score made of them, recomputed every few seconds: an
  // idle 4-tab room moved them about once a second, and each move was posted and rendered
  // (bench:idle). A real change (a link, a member, a key) is news of its own.
  'peerAgreement',
  'health',
  // fresh writes still riding on syncs: after a burst it counts down for minutes, one post a
  // second (bench:idle --burst 2000); the writes themselves are news through the fingerprint
  'rumoursQueued',
  // the overlay's own advert counter, bumped at every periodic advert
  'advertSeq',
  // message and storage counters of the overlay, compute and consensus
  'counters',
  'traffic',
  'signatures',
  'storage',
  // "as of" timestamps of records rebuilt on a timer
  'updated_at',
  'at',
  // counters of the runtime itself: frames in by type, snapshots posted and held
  'framesIn',
  'snapshotsPaced',
]);

/**
 * Longest a change confined to volatile fields waits before it is posted: the idle dashboard
 * renders (and its charts sample) this often. It matches the page's own pace for snapshots with
 * no news (uiQuietRefreshMs in src/ui/mesh.svelte.ts, 4 s): at 2 s half of what the worker built,
 * cloned and posted was dropped by the page unrendered (bench:idle).
 */
export const volatileRefreshMs = 4_000;

/** The snapshot as JSON without its volatile fields: equal keys mean "no news". */
export function lastingKey(snapshot: unknown): string {
  return JSON.stringify(snapshot, (key, value: unknown) => (volatileSnapshotFields.has(key) ? undefined : value));
}

/**
 * The page's key: the memory fields (live views of the page's own copy, src/page-memory.ts) are
 * left out, so telling news from drift costs nothing per key. A memory change is still news:
 * it moves gossip.memoryFingerprint and gossip.liveKeys, which the key keeps.
 */
export function pageLastingKey(snapshot: unknown): string {
  return JSON.stringify(snapshot, (key, value: unknown) =>
    volatileSnapshotFields.has(key) || key === 'memory' || key === 'memoryEntries' ? undefined : value,
  );
}

export type PaceDecision = { post: true } | { post: false; dueAt: number };

export class SnapshotPacer {
  private lastKey: string | null = null;
  private lastPostedAt = -Infinity;
  /** Snapshots posted and held back, for the curious (and tests). */
  readonly counts = { posted: 0, held: 0 };

  /** When a snapshot whose only news is in volatile fields will next be posted. */
  volatileDueAt(): number {
    return this.lastPostedAt + volatileRefreshMs;
  }

  /** Post `snapshot` now (news, or the volatile fields are due), or hold it until `dueAt`. */
  decide(snapshot: unknown, now: number): PaceDecision {
    const key = lastingKey(snapshot);
    if (key !== this.lastKey || now - this.lastPostedAt >= volatileRefreshMs) {
      this.lastKey = key;
      this.lastPostedAt = now;
      this.counts.posted++;
      return { post: true };
    }
    this.counts.held++;
    return { post: false, dueAt: this.lastPostedAt + volatileRefreshMs };
  }
}
