// Each tab shows only the newest 64 entries of its committed log (snapshot().consensus.log, the
// replicated state's tail). The chaos run samples every tab often and stitches the samples into
// one history per node and genesis, so the logs can be compared over the whole run. Pure: the
// runner feeds samples in, the checks read the histories out.
//
// Stitching is itself a check: a sample must line up with what was seen before (same entries at
// the same positions); anything else is recorded as a conflict — a node whose own log changed
// under our eyes. A sample that starts after the history ends (the tab was not sampled for 64
// entries) leaves a gap, which the checks treat as unverified, never as agreement.

/** Entries in snapshot().consensus.log (the state machine's tail, `logTailEntries`). */
export const logTailEntries = 64;

export interface LogEntryView {
  seq: number;
  digest: string;
  client: string;
  ts: number;
  op: unknown;
}

export interface LogHistory {
  node: string;
  genesis: string;
  entries: LogEntryView[];
  /**
   * The first sequence number whose entries are all known: 1 when the first sample held the whole
   * log (fewer than 64 entries), else the one after the first sample's first (possibly cut) batch.
   */
  coveredFrom: number;
  /** Sequence numbers (inclusive ranges) that fell between two samples: unverified. */
  gaps: Array<{ from: number; to: number }>;
  /** Samples that did not line up with the history. */
  conflicts: string[];
  samples: number;
}

/** Most conflicts kept per history (one is already a failure). */
const maxConflictsKept = 20;
/**
 * Entries kept per history (hours of a chaos run at a few operations a second); beyond, the
 * oldest go and the history covers less — which the checks see, as for a late first sample.
 */
export const maxHistoryEntries = 100_000;

/** An operation as text with its keys sorted, to find a proposal in a log whatever the key order. */
export const opKey = (op: unknown): string =>
  JSON.stringify(op, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );

/**
 * What identifies an entry: one request may carry several operations (each an entry with the
 * same seq, client, ts and batch digest), so the operation is part of the key.
 */
export const entryKey = (e: LogEntryView): string => `${e.seq}|${e.client}|${e.ts}|${e.digest}|${opKey(e.op)}`;

export function newHistory(node: string, genesis: string): LogHistory {
  return { node, genesis, entries: [], coveredFrom: Infinity, gaps: [], conflicts: [], samples: 0 };
}

function conflict(history: LogHistory, text: string): void {
  // The same mismatch seen again by a later sample is one conflict, not many.
  if (history.conflicts.length < maxConflictsKept && !history.conflicts.includes(text)) history.conflicts.push(text);
}

/**
 * Keys that tell every entry of a list apart: one request may carry the same operation twice (a
 * membership vote said again and packed with the first), and such entries share an entryKey, so
 * each gets its place among its equals (within its batch, since the key holds the seq).
 */
function occurrenceKeys(list: readonly LogEntryView[]): string[] {
  const seen = new Map<string, number>();
  return list.map((e) => {
    const key = entryKey(e);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return `${key}#${n}`;
  });
}

const describe = (e: LogEntryView | undefined): string => (e ? `seq ${e.seq} ${opKey(e.op).slice(0, 80)} (digest ${e.digest.slice(0, 8)})` : 'nothing');

/** Adds one sample (a tab's log tail, oldest first) to the history of its node and genesis. */
export function mergeSample(history: LogHistory, sample: readonly LogEntryView[]): void {
  history.samples++;
  try {
    merge(history, sample);
  } finally {
    if (history.entries.length > maxHistoryEntries) {
      history.entries.splice(0, history.entries.length - maxHistoryEntries);
      history.coveredFrom = Math.max(history.coveredFrom, (history.entries[0] as LogEntryView).seq + 1);
    }
  }
}

function merge(history: LogHistory, sample: readonly LogEntryView[]): void {
  if (sample.length === 0) return;
  const first = sample[0] as LogEntryView;
  const whole = sample.length < logTailEntries;
  if (history.entries.length === 0) {
    history.entries.push(...sample);
    history.coveredFrom = whole ? 1 : first.seq + 1;
    return;
  }
  const index = new Map<string, number>();
  occurrenceKeys(history.entries).forEach((key, i) => index.set(key, i));
  const keys = occurrenceKeys(sample);
  const last = history.entries[history.entries.length - 1] as LogEntryView;
  // Align on the first entry of the sample that the history holds — preferably after the
  // sample's first batch, which a full sample may show cut (its equal entries then numbered
  // from the cut, not from the batch's start).
  const firstWhole = whole ? 0 : sample.findIndex((e) => e.seq > first.seq);
  const alignFrom = (from: number): number => {
    let at = from;
    while (at < sample.length && !index.has(keys[at] as string)) at++;
    return at;
  };
  let k = firstWhole > 0 ? alignFrom(firstWhole) : sample.length;
  if (k === sample.length) k = alignFrom(0);
  if (k === sample.length) {
    if (first.seq <= last.seq || whole) {
      conflict(
        history,
        `${history.node.slice(0, 8)}: a sample starting at ${describe(first)} shares no entry with the log seen so far (ending at ${describe(last)})`,
      );
      return;
    }
    history.gaps.push({ from: last.seq + 1, to: first.seq });
    history.entries.push(...sample);
    return;
  }
  // Entries of the sample before the alignment point must be older than the history's start.
  const head = history.entries[0] as LogEntryView;
  for (let j = 0; j < k; j++) {
    const e = sample[j] as LogEntryView;
    if (!whole && e.seq === first.seq && index.has(keys[j] as string)) continue; // the (cut) first batch, already known
    if (e.seq >= head.seq && e.seq >= history.coveredFrom)
      conflict(history, `${history.node.slice(0, 8)}: ${describe(e)} appeared where the log already had other entries`);
  }
  let at = index.get(keys[k] as string) as number;
  for (let j = k; j < sample.length; j++, at++) {
    const e = sample[j] as LogEntryView;
    const known = history.entries[at];
    if (known === undefined) {
      history.entries.push(e);
      continue;
    }
    if (entryKey(known) !== entryKey(e) || opKey(known.op) !== opKey(e.op)) {
      conflict(history, `${history.node.slice(0, 8)}: position ${at} held ${describe(known)}, a later sample shows ${describe(e)}`);
      return;
    }
  }
}

/** The entries of each sequence number the history fully covers (gaps and the cut first batch left out). */
export function coveredBatches(history: LogHistory): Map<number, LogEntryView[]> {
  const out = new Map<number, LogEntryView[]>();
  const inGap = (seq: number) => history.gaps.some((g) => seq >= g.from && seq <= g.to);
  for (const e of history.entries) {
    if (e.seq < history.coveredFrom || inGap(e.seq)) continue;
    const batch = out.get(e.seq);
    if (batch) batch.push(e);
    else out.set(e.seq, [e]);
  }
  return out;
}

/** True when `seq` lies in the stretch the history covers (an empty batch counts as covered). */
export function covers(history: LogHistory, seq: number): boolean {
  const last = history.entries[history.entries.length - 1];
  if (!last || seq < history.coveredFrom || seq > last.seq) return false;
  return !history.gaps.some((g) => seq >= g.from && seq <= g.to);
}

export const lastSeq = (history: LogHistory): number => history.entries[history.entries.length - 1]?.seq ?? 0;
