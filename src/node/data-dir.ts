// A Node peer's data directory: its identity (identity.json), its memory (store/) and a lock
// file that keeps a second process off it. Two processes on one directory would be one node
// id twice — the signaling server refuses the second join, and two writers would interleave
// their files — so the second one is told plainly instead. The lock of a process that died
// without cleaning up (SIGKILL, power cut) is recognised by its pid and taken over.
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const lockFileName = 'lock';
export const storeDirName = 'store';

export interface DataDir {
  readonly path: string;
  /** Where FileStorage keeps the node's memory. */
  readonly storePath: string;
  /** Removes the lock; the directory and everything in it stay. */
  release(): Promise<void>;
}

export class DataDirBusyError extends Error {
  override readonly name = 'DataDirBusyError';
}

export async function claimDataDir(path: string): Promise<DataDir> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const lockPath = join(path, lockFileName);
  const body = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(body);
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        path,
        storePath: join(path, storeDirName),
        release: async () => {
          if (released) return;
          released = true;
          await unlink(lockPath).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(lockPath);
    if (holder && holder.host === hostname() && (await isNodePeerRunning(holder.pid))) {
      throw new DataDirBusyError(`another tabmesh-node (pid ${holder.pid}) is using ${path}; stop it, or give this one its own --data directory`);
    }
    if (holder && holder.host !== hostname()) {
      throw new DataDirBusyError(`${path} is in use by a tabmesh-node on ${holder.host} (pid ${holder.pid}); if that is stale, delete ${lockPath}`);
    }
    // The holder is gone (or the lock is unreadable): take it over.
    await unlink(lockPath).catch(() => {});
  }
  throw new DataDirBusyError(`could not lock ${path}: another process keeps taking ${lockPath}`);
}

async function readLock(lockPath: string): Promise<{ pid: number; host: string } | null> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as { pid?: unknown; host?: unknown };
    if (typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0 && typeof parsed.host === 'string')
      return { pid: parsed.pid, host: parsed.host };
  } catch {
    /* unreadable: treated as stale */
  }
  return null;
}

/**
 * Whether `pid` is a live tabmesh-node. Pids are reused (a restarted container gets the same
 * low pid again), so our own pid means a stale lock, and on Linux the command line must fit.
 */
async function isNodePeerRunning(pid: number): Promise<boolean> {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return /tabmesh|--signal/i.test(await readFile(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
}
