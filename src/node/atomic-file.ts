// Writing a file so that a crash or a power cut leaves either the old content or the new one,
// never half of each: write a temporary file next to it, flush it to the disk, rename it over
// the old one (rename is atomic within a directory), then flush the directory entry.
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Suffix of temporary files; any left over by a crash are removed when a store opens. */
export const tempSuffix = '.tmp';
let tempCounter = 0;

export interface AtomicWriteOptions {
  /** Permission bits of a new file (e.g. 0o600 for a secret). Default 0o644 less the umask. */
  mode?: number;
  /**
   * Flush to the disk before renaming (fsync), so the write survives a power cut, not only a
   * crash of this process. Default true; a caller that journals a batch may skip it per file.
   */
  durable?: boolean;
  /** Also flush the directory entry (default: same as durable). Off when the caller flushes it once for many files. */
  syncDirectory?: boolean;
}

export async function writeFileAtomic(path: string, data: string, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const temp = `${path}.${process.pid}-${++tempCounter}${tempSuffix}`;
  const handle = await open(temp, 'wx', options.mode ?? 0o644);
  try {
    try {
      await handle.writeFile(data, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  if (options.syncDirectory ?? durable) await syncDirectory(dirname(path));
}

/**
 * Flushes a directory's entries (a rename or an unlink) to the disk. Not every platform can
 * open a directory for this (Windows cannot); there the file system's own ordering has to do.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    /* not supported here */
  } finally {
    await handle?.close().catch(() => {});
  }
}
