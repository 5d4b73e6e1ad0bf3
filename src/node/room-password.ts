// Reads a private room's password for the Node peer: from the file of --password-file (its
// first line), or as parsed from TABMESH_ROOM_PASSWORD. Never from a flag: a command line is
// visible to every user of the machine, a 0600 file or the process environment is not.
import { readFile, stat } from 'node:fs/promises';
import { passwordProblem } from '../net/room-key.ts';
import type { PasswordSource } from './cli.ts';

/** A password file larger than this is not a password file (refused unread). */
export const maxPasswordFileBytes = 4 * 1024;

export interface LoadedPassword {
  password: string;
  /** Things the person should know (a file others can read). */
  notes: string[];
}

/** The password, or an Error whose message says what to fix. */
export async function loadRoomPassword(source: PasswordSource): Promise<LoadedPassword> {
  if (source.from === 'env') return { password: source.value, notes: [] };
  const path = source.path;
  let size: number;
  let mode: number;
  try {
    ({ size, mode } = await stat(path));
  } catch (error) {
    throw new Error(`--password-file ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  if (size > maxPasswordFileBytes)
    throw new Error(`--password-file ${path}: ${size} bytes; a password file holds one line (at most ${maxPasswordFileBytes} bytes)`);
  const text = await readFile(path, 'utf8');
  // The first line, without its line ending: `echo secret > file` must work.
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  const problem = passwordProblem(password);
  if (problem) throw new Error(`--password-file ${path}: ${problem} (the password is the file's first line)`);
  const notes: string[] = [];
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    notes.push(`${path} can be read by other users of this machine (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
  return { password, notes };
}
