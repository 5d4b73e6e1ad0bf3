// Tabs of one browser share IndexedDB, so each tab claims a numbered slot with the Web Locks
// API and keeps its identity and memory in that slot's database. A lock is held as long as the
// tab lives, so two open tabs never share a slot; the slot number is remembered in
// sessionStorage, which survives a reload of the same tab, so a reloaded tab gets its id back.
const slotLockPrefix = 'tabmesh-slot-';
const slotSessionKey = 'tabmesh-slot';
/** Slots (and so identities) one browser profile can hold at once. */
export const maxSlots = 64;
/** How long a reloading tab waits for its old document to let go of its slot's lock. */
const reclaimWaitMs = 3_000;

function hold(name: string, options: LockOptions): Promise<boolean> {
  return new Promise((resolve) => {
    navigator.locks
      .request(name, options, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        // Never settles: the lock is ours until the tab goes away.
        return new Promise<never>(() => {});
      })
      .catch(() => resolve(false));
  });
}

export async function claimSlot(): Promise<number> {
  const remembered = Number(sessionStorage.getItem(slotSessionKey));
  if (sessionStorage.getItem(slotSessionKey) !== null && Number.isInteger(remembered) && remembered >= 0 && remembered < maxSlots) {
    // On reload the previous document may still hold the lock for a moment: wait for it.
    // A duplicated tab copies sessionStorage too; then the wait times out and we move on.
    if (await hold(slotLockPrefix + remembered, { signal: AbortSignal.timeout(reclaimWaitMs) })) return remember(remembered);
  }
  for (let slot = 0; slot < maxSlots; slot++) {
    if (await hold(slotLockPrefix + slot, { ifAvailable: true })) return remember(slot);
  }
  throw new Error(`all ${maxSlots} node slots of this browser are in use: close some Tabmesh tabs`);
}

function remember(slot: number): number {
  sessionStorage.setItem(slotSessionKey, String(slot));
  return slot;
}
