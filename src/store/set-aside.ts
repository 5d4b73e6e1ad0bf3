// Records a node reads back from its store are input like any other: an older version's
// record, a write cut short, a person poking at devtools. A record that does not decode is
// not applied and not silently dropped either: it is moved aside under a quarantine key (so a
// person can still look at it), reported, and the part of the node that owned it starts clean.
// Every loader (identity, gossip, consensus, stealing) goes through this one helper, so the
// quarantine has one shape and one bound.
import type { Storage } from './storage.ts';

/** Quarantine keys start with this; no loader reads under it. */
export const setAsidePrefix = 'corrupt/';
/** Records kept in quarantine per node; when full, the oldest set aside goes first. */
export const maxSetAsideRecords = 8;
/** Longest reason kept with a record (decoder messages can quote input). */
const maxReasonChars = 300;

/** What the quarantine holds under each of its keys. */
export interface SetAsideRecord {
  /** The key the record was stored under. */
  key: string;
  /** Why it did not check out. */
  reason: string;
  /** Wall-clock ms when it was set aside. */
  at: number;
  /** The record as it was found. */
  value: unknown;
}

/** One quarantined record as the snapshot shows it (without the value). */
export interface SetAsideView {
  key: string;
  reason: string;
  at: number;
  /** The quarantine key it now lives under. */
  movedTo: string;
}

/** The quarantine key for `key` set aside at `at` (ms); the time sorts and keeps them apart. */
export const setAsideKey = (key: string, at: number): string => `${setAsidePrefix}${key}@${Math.max(0, Math.floor(at))}`;

function timeOf(quarantineKey: string): number {
  const at = Number(quarantineKey.slice(quarantineKey.lastIndexOf('@') + 1));
  return Number.isFinite(at) ? at : 0;
}

/**
 * Moves the record under `key` into quarantine with the reason, removes it from its place and
 * trims the quarantine to its bound. The copy is written before the original goes, so a crash
 * in between at worst sets the same record aside twice.
 */
export async function setAside(storage: Storage, key: string, value: unknown, reason: string, at: number): Promise<SetAsideView> {
  let movedTo = setAsideKey(key, at);
  // Two records of one key set aside in one millisecond must not overwrite each other.
  for (let bump = 1; (await storage.get(movedTo)) !== undefined && bump < 1_000; bump++) movedTo = setAsideKey(key, at + bump);
  const clipped = reason.length > maxReasonChars ? `${reason.slice(0, maxReasonChars)}…` : reason;
  const record: SetAsideRecord = { key, reason: clipped, at, value };
  try {
    await storage.set(movedTo, record);
  } catch {
    // A value the store cannot hold again (it came from elsewhere): keep the reason at least.
    await storage.set(movedTo, { ...record, value: null });
  }
  await storage.del(key);
  const kept = (await storage.keys(setAsidePrefix)).sort((a, b) => timeOf(a) - timeOf(b) || (a < b ? -1 : 1));
  for (const old of kept.slice(0, Math.max(0, kept.length - maxSetAsideRecords))) await storage.del(old);
  return { key, reason: clipped, at, movedTo };
}

/**
 * Reads every record under `prefix`; a record for which `check` names a problem is set aside,
 * the rest are returned for the loader to use. `check` returns null for a good record.
 */
export async function loadChecked(
  storage: Storage,
  prefix: string,
  check: (key: string, value: unknown) => string | null,
  at: number,
): Promise<{ entries: Array<[string, unknown]>; setAside: SetAsideView[] }> {
  const entries: Array<[string, unknown]> = [];
  const asides: SetAsideView[] = [];
  for (const key of await storage.keys(prefix)) {
    const value = await storage.get(key);
    if (value === undefined) continue;
    let problem: string | null;
    try {
      problem = check(key, value);
    } catch (error) {
      problem = `could not be checked: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (problem === null) entries.push([key, value]);
    else asides.push(await setAside(storage, key, value, problem, at));
  }
  return { entries, setAside: asides };
}

/** The quarantine, newest first; an entry in it that is itself damaged is listed as such. */
export async function listSetAside(storage: Storage): Promise<SetAsideView[]> {
  const out: SetAsideView[] = [];
  for (const movedTo of await storage.keys(setAsidePrefix)) {
    const raw = (await storage.get(movedTo)) as Partial<SetAsideRecord> | undefined;
    const fromKey = movedTo.slice(setAsidePrefix.length, movedTo.lastIndexOf('@'));
    out.push({
      key: typeof raw?.key === 'string' ? raw.key : fromKey,
      reason: typeof raw?.reason === 'string' ? raw.reason : 'set aside (no reason recorded)',
      at: typeof raw?.at === 'number' ? raw.at : timeOf(movedTo),
      movedTo,
    });
  }
  return out.sort((a, b) => b.at - a.at).slice(0, maxSetAsideRecords);
}
