// Where a tab keeps the password of its private room: sessionStorage only, per room. It
// survives a reload of this tab (the node restarts with it, which is how a password takes
// effect) and nothing else: not the URL, not the QR code, not other tabs, not a closed tab.
// The worker derives the room key from it; the password itself never leaves the tab.
import { passwordProblem } from '../net/room-key.ts';

const keyPrefix = 'tabmesh-room-password/';

function store(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled by the browser: private rooms work for this page only
  }
}

/** The password this tab remembers for `room`, if any and if still usable. */
export function storedRoomPassword(room: string): string | null {
  const text = store()?.getItem(keyPrefix + room) ?? null;
  if (text === null) return null;
  if (passwordProblem(text) !== null) {
    // Damaged or from an older rule: drop it rather than fail the start.
    store()?.removeItem(keyPrefix + room);
    return null;
  }
  return text;
}

/**
 * Remembers `password` for `room` in this tab (null forgets it) and reloads the page so the
 * node starts again with it. Refuses an unusable password with what to change.
 */
export function useRoomPassword(room: string, password: string | null): void {
  if (password !== null) {
    const problem = passwordProblem(password);
    if (problem) throw new Error(problem);
  }
  const storage = store();
  if (!storage) throw new Error('this browser keeps no session storage for this page, so a room password cannot be kept across the restart');
  if (password === null) storage.removeItem(keyPrefix + room);
  else storage.setItem(keyPrefix + room, password);
  location.reload();
}
