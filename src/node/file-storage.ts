// The Node peer's durable memory: one small file per key in a directory (a node's data dir),
// the third implementation of Storage after IndexedDB and the in-memory map, held to the same
// contract (test/contracts/storage.test.ts).
//
// - Every write is atomic (temp file + rename, see atomic-file.ts) and, by default, flushed to
//   the disk before it counts as done: the runtime relies on "persisted" meaning persisted
//   before it sends a vote or a refutation.
// - setMany lands together or not at all: the batch is first written as one journal file;
//   a crash after that is finished from the journal when the store next opens.
// - A file name is a hash of its key (keys hold '/', and some file systems ignore case); the
//   key itself is inside the file, and an index of keys is built when the store opens.
// - Each file is decoded and checked on its own when read. One that does not check out
//   (edited by hand, truncated by a full disk) is moved to corrupt/, reported, and reads as
//   missing, so one bad file costs one key, never the node.
// - Operations run one after the other in the order they were called, as an IndexedDB
//   transaction queue does, so a read always sees the writes issued before it.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Storage } from '../store/storage.ts';
import { syncDirectory, tempSuffix, writeFileAtomic } from './atomic-file.ts';
import { decodeValue, encodeValue, type DecodedValue } from './value-codec.ts';

/** Format version written into every entry and journal file. */
export const entryFormatVersion = 1;
/** Files set aside in corrupt/ that are kept for a person to inspect; the oldest go first. */
export const maxSetAsideFiles = 100;
const entrySuffix = '.json';
export const journalName = 'batch.journal';
export const setAsideDirName = 'corrupt';

export interface FileStorageOptions {
  /** fsync every write (default true). Off only where losing the last writes on a power cut is fine (tests). */
  durable?: boolean;
  /** Told about every stored file that could not be read and was set aside. */
  onProblem?(message: string): void;
}

type EncodedEntry = readonly [key: string, text: string];

export class FileStorage implements Storage {
  /** Key → file name, for every key stored. Mirrors the directory (this process owns it). */
  private readonly index = new Map<string, string>();
  private readonly ready: Promise<void>;
  private tail: Promise<void> = Promise.resolve();
  private readonly durable: boolean;
  private problemCount = 0;
  private journalPending = false;
  private operationCount = 0;

  constructor(
    readonly dir: string,
    private readonly options: FileStorageOptions = {},
  ) {
    this.durable = options.durable ?? true;
    this.ready = this.open();
    // A failed open is reported by every operation; do not also report it as unhandled.
    this.ready.catch(() => {});
  }

  /** Stored files that could not be read since this store opened. */
  get problems(): number {
    return this.problemCount;
  }

  // ── Storage ──

  async get(key: string): Promise<unknown> {
    checkKey(key);
    return this.enqueue(async () => {
      const file = this.index.get(key);
      if (file === undefined) return undefined;
      const entry = await this.readEntry(file, key);
      if (!entry) this.index.delete(key);
      return entry?.value;
    });
  }

  async set(key: string, value: unknown): Promise<void> {
    const entry = encodeEntry(key, value);
    return this.enqueue(async () => {
      await this.writeEntry(entry, true);
    });
  }

  async setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    // Encode now: what the caller does to its objects afterwards must not change what is stored.
    const latest = new Map<string, EncodedEntry>();
    for (const [key, value] of entries) latest.set(key, encodeEntry(key, value));
    const encoded = [...latest.values()];
    return this.enqueue(async () => {
      if (encoded.length === 0) return;
      if (encoded.length === 1) return this.writeEntry(encoded[0] as EncodedEntry, true);
      const journal = JSON.stringify({ v: entryFormatVersion, entries: encoded.map(([, text]) => text) });
      await writeFileAtomic(join(this.dir, journalName), journal, { mode: 0o600, durable: this.durable });
      try {
        await this.applyBatch(encoded);
      } catch (error) {
        // Journaled but not all applied (a full disk?): finish it before anything else runs.
        this.journalPending = true;
        throw error;
      }
    });
  }

  async del(key: string): Promise<void> {
    checkKey(key);
    return this.enqueue(async () => {
      const file = this.index.get(key);
      if (file === undefined) return;
      await unlink(join(this.dir, file)).catch(ignoreMissing);
      this.index.delete(key);
      if (this.durable) await syncDirectory(this.dir);
    });
  }

  async keys(prefix = ''): Promise<string[]> {
    return this.enqueue(async () => [...this.index.keys()].filter((k) => k.startsWith(prefix)));
  }

  async clear(): Promise<void> {
    return this.enqueue(async () => {
      await Promise.all([...this.index.values()].map((file) => unlink(join(this.dir, file)).catch(ignoreMissing)));
      this.index.clear();
      if (this.durable) await syncDirectory(this.dir);
    });
  }

  /** Operations called so far (to tell whether new ones came while waiting for idle()). */
  get operations(): number {
    return this.operationCount;
  }

  /** Resolves once every operation called so far has finished (e.g. before the process exits). */
  idle(): Promise<void> {
    return this.tail;
  }

  // ── internals ──

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    this.operationCount++;
    const run = this.tail
      .then(() => this.ready)
      .then(async () => {
        if (this.journalPending) {
          await this.finishJournal();
          this.journalPending = false;
        }
        return operation();
      });
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = await readdir(this.dir);
    for (const name of names) if (name.endsWith(tempSuffix)) await unlink(join(this.dir, name)).catch(ignoreMissing);
    if (names.includes(journalName)) await this.finishJournal();
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(entrySuffix)) continue;
      const entry = await this.readEntry(name);
      if (entry) this.index.set(entry.key, name);
    }
  }

  /** A batch was journaled but perhaps not applied before a crash: apply it now. */
  private async finishJournal(): Promise<void> {
    const body = parseJsonText(await readFile(join(this.dir, journalName), 'utf8')) as { v?: unknown; entries?: unknown } | undefined;
    const texts = body && typeof body === 'object' && body.v === entryFormatVersion && Array.isArray(body.entries) ? (body.entries as unknown[]) : [];
    const entries: EncodedEntry[] = [];
    for (const text of texts) {
      const checked = typeof text === 'string' ? checkEntryText(text) : null;
      if (!checked?.value.ok) break;
      entries.push([checked.key, text as string]);
    }
    // The journal was renamed into place whole, so a bad one was not written by this store.
    if (entries.length === 0 || entries.length !== texts.length) {
      await this.setAside(journalName, 'an unreadable batch journal; the batch it held is lost');
      return;
    }
    await this.applyBatch(entries);
  }

  private async applyBatch(entries: readonly EncodedEntry[]): Promise<void> {
    await Promise.all(entries.map((entry) => this.writeEntry(entry, false)));
    if (this.durable) await syncDirectory(this.dir);
    await unlink(join(this.dir, journalName)).catch(ignoreMissing);
    if (this.durable) await syncDirectory(this.dir);
  }

  /** `alone`: flush the directory now; a batch flushes it once for all of its files. */
  private async writeEntry([key, text]: EncodedEntry, alone: boolean): Promise<void> {
    const file = fileNameFor(key);
    await writeFileAtomic(join(this.dir, file), text, { mode: 0o600, durable: this.durable, syncDirectory: this.durable && alone });
    this.index.set(key, file);
  }

  /** Reads and checks one entry file; null (after setting it aside) when it does not check out. */
  private async readEntry(file: string, expectedKey?: string): Promise<{ key: string; value: unknown } | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.report(`stored file ${file} has disappeared from ${this.dir}; its key reads as missing`);
      return null;
    }
    const checked = checkEntryText(text);
    let problem: string | null = null;
    if (!checked) problem = 'not a stored entry: bad JSON or an unknown format';
    else if (fileNameFor(checked.key) !== file) problem = `it holds key ${JSON.stringify(checked.key.slice(0, 80))}, which belongs in another file`;
    else if (expectedKey !== undefined && checked.key !== expectedKey) problem = 'it holds another key than the index says';
    else if (!checked.value.ok) problem = checked.value.error;
    if (problem !== null || !checked?.value.ok) {
      await this.setAside(file, problem ?? 'unreadable');
      return null;
    }
    return { key: checked.key, value: checked.value.value };
  }

  private async setAside(file: string, why: string): Promise<void> {
    const aside = join(this.dir, setAsideDirName);
    await mkdir(aside, { recursive: true, mode: 0o700 });
    const target = `${file}.${Date.now()}`;
    await rename(join(this.dir, file), join(aside, target)).catch(ignoreMissing);
    this.report(`stored file ${file} could not be used (${why}); moved to ${join(aside, target)}, its key reads as missing`);
    const kept = (await readdir(aside)).sort((a, b) => setAsideTime(a) - setAsideTime(b));
    for (const old of kept.slice(0, Math.max(0, kept.length - maxSetAsideFiles))) await rm(join(aside, old), { force: true });
  }

  private report(message: string): void {
    this.problemCount++;
    this.options.onProblem?.(message);
  }
}

/** The file that holds `key`: a hash, since keys hold '/' and some file systems ignore case. */
export function fileNameFor(key: string): string {
  return `${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}${entrySuffix}`;
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`a storage key must be a string, got ${typeof key}`);
}

function encodeEntry(key: string, value: unknown): EncodedEntry {
  checkKey(key);
  return [key, JSON.stringify({ v: entryFormatVersion, key, value: encodeValue(value) })];
}

function checkEntryText(text: string): { key: string; value: DecodedValue } | null {
  const parsed = parseJsonText(text) as { v?: unknown; key?: unknown; value?: unknown } | undefined;
  if (!parsed || typeof parsed !== 'object' || parsed.v !== entryFormatVersion || typeof parsed.key !== 'string' || !('value' in parsed)) return null;
  return { key: parsed.key, value: decodeValue(parsed.value) };
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Set-aside files end in the time they were moved; anything else sorts first (goes first). */
function setAsideTime(name: string): number {
  const stamp = Number(name.slice(name.lastIndexOf('.') + 1));
  return Number.isFinite(stamp) ? stamp : 0;
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
