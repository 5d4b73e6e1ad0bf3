// The replicated key–value memory and its Scuttlebutt bookkeeping.
//
// Resolution: for each key the entry with the highest hybrid-clock time wins; equal times are
// broken by the writer's node id (higher wins). Every node applies the same total order to the
// same entries, so replicas that have seen the same writes hold the same value, whatever the
// order they arrived in. Only the winning entry of each key is kept.
//
// Reconciliation: each write is numbered in its writer's stream by a version that only ever
// grows (it survives restarts and incarnation changes: it is saved with every write, and a
// write leaves the node only once saved, so versions have no gaps). The writer's incarnation
// rides along on each entry. A node's "mark" for an origin means "I hold every write of that
// origin up to this version, or a write that beats it". Marks are what digests carry: a peer
// sends exactly the entries above our marks (only what we lack), and tells us up to where its
// answer is complete (`upTo`), so a truncated answer never makes us skip anything. Entries
// that arrive as rumours (or our own writes) are applied at once but move a mark only when
// they are the very next version of that origin.
//
// Deletes are tombstones: entries with no value that win like any write, so a delete cannot be
// undone by an older write arriving late. A tombstone is forgotten after `tombstoneTtlMs` of
// clock time. That is safe while no replica stays out of touch with the rest for that long
// (default 24 h, far beyond a partition the mesh rides out): every replica has then received
// the tombstone, or a newer write, before it goes. The one replica that can be out of touch
// that long is a tab closed for days, so a node restored from storage that was last saved
// more than the TTL ago drops its entries older than the TTL (see `dropOlderThan`) and
// relearns them from live peers: an old value it held cannot resurrect a key deleted meanwhile.
// Tombstones beyond `maxTombstones` are forgotten oldest first (counted in metrics).
import { compareHlc, type Hlc } from '../hlc.ts';
import { hashString, type Rng } from '../rng.ts';
import { compareNodeIds, type NodeId } from '../types.ts';
import { maxDigestEntries, maxEntriesPerMessage, maxEntryBytesPerMessage, maxKeys, maxTombstones } from './config.ts';
import type { JsonValue } from './json.ts';
import type { Position, WireEntry } from './messages.ts';

export interface Entry {
  readonly key: string;
  /** undefined when deleted. */
  readonly value: JsonValue | undefined;
  readonly deleted: boolean;
  readonly hlc: Hlc;
  readonly origin: NodeId;
  readonly inc: number;
  readonly ver: number;
  readonly wire: WireEntry;
  /** Size of the wire form, as JSON characters. */
  readonly bytes: number;
}

/**
 * Stored entries are frozen, value and all: values are handed out by get()/view() and the same
 * wire object may be shared (sent to several peers, or between cores in the simulator), so a
 * caller mutating one would silently change replicas. Frozen, such a bug throws instead.
 */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);
  }
  return value;
}

export function entryFromWire(wire: WireEntry): Entry {
  deepFreeze(wire);
  const deleted = wire.d === 1;
  return {
    key: wire.k,
    value: deleted ? undefined : (wire.v as JsonValue),
    deleted,
    hlc: { wall: wire.h[0], count: wire.h[1] },
    origin: wire.o,
    inc: wire.i,
    ver: wire.n,
    wire,
    bytes: (JSON.stringify(wire) as string).length,
  };
}

export function makeEntry(key: string, value: JsonValue | undefined, hlc: Hlc, origin: NodeId, inc: number, ver: number): Entry {
  const wire: WireEntry =
    value === undefined
      ? { k: key, d: 1, h: [hlc.wall, hlc.count], o: origin, i: inc, n: ver }
      : { k: key, v: value, h: [hlc.wall, hlc.count], o: origin, i: inc, n: ver };
  return entryFromWire(wire);
}

/**
 * True when `a` beats `b` for the same key: later clock, then higher writer id. (A writer's
 * clock never repeats, so the version only decides between two writes that claim the same
 * writer and time — a forgery or a bug — and keeps the order total even then.)
 */
export function beats(a: Entry, b: Entry): boolean {
  const byClock = compareHlc(a.hlc, b.hlc);
  if (byClock !== 0) return byClock > 0;
  const byOrigin = compareNodeIds(a.origin, b.origin);
  return byOrigin !== 0 ? byOrigin > 0 : a.ver > b.ver;
}

const sameWrite = (a: Entry, b: Entry): boolean => compareHlc(a.hlc, b.hlc) === 0 && a.origin === b.origin && a.ver === b.ver;

/** A fingerprint of one visible (key, write) pair; the memory's fingerprint is their sum. */
const visibleHash = (e: Entry): number => hashString(`${e.key}\u0000${e.hlc.wall}.${e.hlc.count}\u0000${e.origin}`);

export type ApplyResult = 'new' | 'same' | 'stale' | 'full';

export interface Delta {
  entries: WireEntry[];
  upTo: Position[];
}

export class MemoryStore {
  private readonly byKey = new Map<string, Entry>();
  /** Each origin's held entries, sorted by position. */
  private readonly byOrigin = new Map<NodeId, Entry[]>();
  private readonly marks = new Map<NodeId, number>();
  private live = 0;
  private tombstones = 0;
  private hashSum = 0;
  /** Tombstones forgotten early because there were more than maxTombstones. */
  tombstonesEvicted = 0;

  get liveKeys(): number {
    return this.live;
  }

  get tombstoneCount(): number {
    return this.tombstones;
  }

  /** Fingerprint of what a user sees (live keys and which write each holds). */
  get fingerprint(): number {
    return this.hashSum >>> 0;
  }

  get(key: string): Entry | undefined {
    return this.byKey.get(key);
  }

  entries(): IterableIterator<Entry> {
    return this.byKey.values();
  }

  mark(origin: NodeId): number {
    return this.marks.get(origin) ?? 0;
  }

  /** Stores `entry` if it beats what we hold for its key. Never refuses a deletion. */
  apply(entry: Entry): ApplyResult {
    const current = this.byKey.get(entry.key);
    if (current) {
      if (sameWrite(current, entry)) return 'same';
      if (!beats(entry, current)) {
        this.noteNext(entry);
        return 'stale';
      }
      this.remove(current);
    } else if (!entry.deleted && this.live >= maxKeys) {
      return 'full';
    }
    this.insert(entry);
    this.noteNext(entry);
    if (this.tombstones > maxTombstones) this.evictOldestTombstone();
    return 'new';
  }

  /** Our own write: it always wins (its clock is past everything we have seen). */
  write(entry: Entry): void {
    const current = this.byKey.get(entry.key);
    if (current) this.remove(current);
    this.insert(entry);
    this.noteNext(entry);
    if (this.tombstones > maxTombstones) this.evictOldestTombstone();
  }

  /**
   * Sets the mark of an origin outright: for our own stream after a restart (we hold every
   * write we ever sent, so the saved version) or 0 when some of our old writes were dropped.
   */
  setMark(origin: NodeId, version: number): void {
    this.marks.set(origin, version);
  }

  /** Takes a peer's "complete up to" positions (only from an answer we asked for). */
  advance(upTo: readonly Position[]): void {
    for (const [origin, ver] of upTo) this.raiseMark(origin, ver);
  }

  /** Our marks as a digest; beyond `maxDigestEntries` origins, a random sample (partial). */
  digest(rng: Rng): { positions: Position[]; partial: boolean } {
    let origins = [...this.marks.keys()];
    const partial = origins.length > maxDigestEntries;
    if (partial) origins = rng.shuffle(origins).slice(0, maxDigestEntries);
    return { positions: origins.map((o): Position => [o, this.mark(o)]), partial };
  }

  /** Our positions for the origins where `theirs` is ahead of us: what we should ask for. */
  lacking(theirs: readonly Position[]): Position[] {
    const out: Position[] = [];
    for (const [origin, ver] of theirs) {
      const mine = this.mark(origin);
      if (ver > mine) out.push([origin, mine]);
    }
    return out;
  }

  /**
   * What a peer with digest `theirs` lacks: entries above its positions, origin by origin in
   * position order, within the message budgets, and for each origin how far the answer is
   * complete. With a partial digest, unlisted origins are unknown; a few of them are sent whole
   * (at random) so that a peer that never lists an origin still gets it in time.
   */
  deltaFor(theirs: readonly Position[], partial: boolean, rng: Rng, budgetBytes = maxEntryBytesPerMessage, unlistedSample = 8): Delta {
    const theirPos = new Map<NodeId, number>();
    for (const [origin, ver] of theirs) theirPos.set(origin, ver);
    let origins: NodeId[];
    if (partial) {
      const unlisted = [...this.byOrigin.keys()].filter((o) => !theirPos.has(o));
      origins = [...theirPos.keys(), ...rng.shuffle(unlisted).slice(0, unlistedSample)];
    } else {
      origins = [...new Set([...this.byOrigin.keys(), ...this.marks.keys()])];
    }
    origins = rng.shuffle(origins); // no origin starves when answers are truncated
    const entries: WireEntry[] = [];
    const upTo: Position[] = [];
    let bytes = 0;
    for (const origin of origins) {
      const from = theirPos.get(origin) ?? 0;
      const mark = this.mark(origin);
      const list = this.byOrigin.get(origin) ?? [];
      // Room for this origin's "complete up to" position is kept from the start: a cut-short
      // answer must still move the peer's mark, or a gap left by an overwritten (dropped)
      // version would make every later answer resend the same first entries forever.
      const positionBytes = origin.length + 40;
      const canMark = upTo.length < maxDigestEntries;
      const reserve = canMark ? positionBytes : 0;
      if (bytes + reserve > budgetBytes) continue;
      let complete = true;
      let lastSent: number | undefined;
      for (let i = firstAbove(list, from); i < list.length; i++) {
        const e = list[i] as Entry;
        if (entries.length >= maxEntriesPerMessage || bytes + e.bytes + reserve > budgetBytes) {
          complete = false;
          break;
        }
        entries.push(e.wire);
        bytes += e.bytes;
        lastSent = e.ver;
      }
      if (!canMark || mark <= from) continue;
      if (complete) upTo.push([origin, mark]);
      else if (lastSent !== undefined && lastSent > from) upTo.push([origin, Math.min(lastSent, mark)]);
      else continue;
      bytes += positionBytes;
    }
    return { entries, upTo };
  }

  /**
   * `theirs` with one of our origins moved back to a random version we hold: what a reply
   * resends when a peer's marks equal ours but its fingerprint differs. Marks assume that one
   * (origin, version) is one write; a write altered on the way (a Byzantine relay changed a
   * key byte in a relayed frame, VOPR seed 47 at 150 ticks) claims a position its copies
   * already hold, so no digest ever shows it, and the nodes that hold the altered write and
   * the one that holds the original (its writer refuses nothing of its own below its version
   * but is never sent it) stay apart for good. Resending a stretch of one origin at a time
   * lets each side apply what it lacks (the order of writes decides as usual), so honest
   * nodes agree again; the stretch starts at a random held entry so that an origin larger
   * than one answer is covered too. Only on such a disagreement: an agreeing room sends none.
   */
  rewound(theirs: readonly Position[], rng: Rng): Position[] {
    const origin = rng.pick([...this.byOrigin.keys()]);
    if (origin === undefined) return [...theirs];
    const list = this.byOrigin.get(origin) as Entry[];
    const start = rng.int(list.length);
    const from = start === 0 ? 0 : (list[start - 1] as Entry).ver;
    return [...theirs.filter(([o]) => o !== origin), [origin, from]];
  }

  /** Forgets tombstones whose clock time is before `horizonWall`; returns their keys. */
  purgeTombstones(horizonWall: number): string[] {
    if (this.tombstones === 0) return [];
    const purged: string[] = [];
    for (const entry of this.byKey.values()) {
      if (entry.deleted && entry.hlc.wall < horizonWall) purged.push(entry.key);
    }
    for (const key of purged) this.remove(this.byKey.get(key) as Entry);
    return purged;
  }

  /** Drops every entry (live or not) written before `horizonWall`; returns their keys. */
  dropOlderThan(horizonWall: number): string[] {
    const dropped = [...this.byKey.values()].filter((e) => e.hlc.wall < horizonWall).map((e) => e.key);
    for (const key of dropped) this.remove(this.byKey.get(key) as Entry);
    return dropped;
  }

  private insert(entry: Entry): void {
    this.byKey.set(entry.key, entry);
    let list = this.byOrigin.get(entry.origin);
    if (!list) {
      list = [];
      this.byOrigin.set(entry.origin, list);
    }
    list.splice(firstAbove(list, entry.ver), 0, entry);
    if (entry.deleted) this.tombstones++;
    else {
      this.live++;
      this.hashSum = (this.hashSum + visibleHash(entry)) >>> 0;
    }
  }

  private remove(entry: Entry): void {
    this.byKey.delete(entry.key);
    const list = this.byOrigin.get(entry.origin);
    if (list) {
      const index = list.indexOf(entry);
      if (index >= 0) list.splice(index, 1);
      if (list.length === 0) this.byOrigin.delete(entry.origin);
    }
    if (entry.deleted) this.tombstones--;
    else {
      this.live--;
      this.hashSum = (this.hashSum - visibleHash(entry)) >>> 0;
    }
  }

  /** A write that is the very next one of its origin moves the mark (and any held followers). */
  private noteNext(entry: Entry): void {
    if (entry.ver === this.mark(entry.origin) + 1) this.raiseMark(entry.origin, entry.ver);
  }

  private raiseMark(origin: NodeId, version: number): void {
    if (version <= this.mark(origin)) return;
    let next = version;
    // Entries already held just above the new mark extend it.
    const list = this.byOrigin.get(origin);
    if (list) {
      for (let i = firstAbove(list, next); i < list.length; i++) {
        if ((list[i] as Entry).ver !== next + 1) break;
        next++;
      }
    }
    this.marks.set(origin, next);
  }

  private evictOldestTombstone(): void {
    let oldest: Entry | undefined;
    for (const entry of this.byKey.values()) {
      if (entry.deleted && (!oldest || compareHlc(entry.hlc, oldest.hlc) < 0)) oldest = entry;
    }
    if (oldest) {
      this.remove(oldest);
      this.tombstonesEvicted++;
    }
  }
}

/** Index of the first entry in `list` (sorted by version) with a version above `version`. */
function firstAbove(list: readonly Entry[], version: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as Entry).ver <= version) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
