// Tabs of one browser share IndexedDB, so each node claims a numbered slot with the Web Locks
// API and keeps its identity and memory in that slot's database. A lock is held as long as the
// node lives, so two live nodes never share a slot. A page may run several nodes (joinRoom more
// than once): the slots it claims are remembered in sessionStorage in the order it claimed them,
// which survives a reload of the same tab, so a reloaded tab that starts its nodes in the same
// order gets their ids back.
const slotLockPrefix = 'tabmesh-slot-';
/** The first node's slot (the key older versions used; kept so a reload across versions keeps the id). */
const slotSessionKey = 'tabmesh-slot';
/** Every slot this tab has claimed, in order, as a JSON array. */
const slotsSessionKey = 'tabmesh-slots';
/** Slots (and so identities) one browser profile can hold at once. */
export const maxSlots = 64;
/** How long a reloading tab waits for its old document to let go of its slot's lock. */
const reclaimWaitMs = 3_000;

/** A claimed slot: its number, and how to give it back once its node has stopped. */
export interface SlotClaim {
  readonly slot: number;
  /** Lets go of the slot's lock (idempotent); the next claim in this browser may take it. */
  release(): void;
}

/** Slots held by this document right now. */
const heldHere = new Set<number>();
/** Set once a reclaim wait timed out (a duplicated tab): later claims do not wait again. */
let reclaimTimedOut = false;

function hold(name: string, options: LockOptions): Promise<(() => void) | null> {
  return new Promise((resolve) => {
    navigator.locks
      .request(name, options, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        // Settles only on release: the lock is ours until then (or until the tab goes away).
        return new Promise<void>((released) => resolve(released));
      })
      .catch(() => resolve(null));
  });
}

function rememberedSlots(): number[] {
  const valid = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < maxSlots;
  let list: unknown;
  try {
    list = JSON.parse(sessionStorage.getItem(slotsSessionKey) ?? 'null');
  } catch {
    list = null;
  }
  const slots = Array.isArray(list) ? list.filter(valid) : [];
  const first = sessionStorage.getItem(slotSessionKey);
  if (slots.length === 0 && first !== null && valid(Number(first))) slots.push(Number(first));
  return [...new Set(slots)];
}

function remember(slot: number): void {
  const slots = rememberedSlots();
  if (!slots.includes(slot)) slots.push(slot);
  sessionStorage.setItem(slotsSessionKey, JSON.stringify(slots.slice(0, maxSlots)));
  sessionStorage.setItem(slotSessionKey, String(slots[0] ?? slot));
}

/**
 * Claims a slot for a new node of this page: one this tab used before (so a reload keeps the
 * node's id) if it is free, else the lowest free one. Rejects when all maxSlots are in use.
 */
export async function claimSlot(): Promise<SlotClaim> {
  for (const slot of rememberedSlots()) {
    if (heldHere.has(slot)) continue;
    heldHere.add(slot);
    // On reload the previous document may still hold the lock for a moment: wait for it once.
    // A duplicated tab copies sessionStorage too; then the wait times out and we move on.
    const release = await hold(slotLockPrefix + slot, reclaimTimedOut ? { ifAvailable: true } : { signal: AbortSignal.timeout(reclaimWaitMs) });
    if (release) return claimed(slot, release);
    heldHere.delete(slot);
    reclaimTimedOut = true;
  }
  for (let slot = 0; slot < maxSlots; slot++) {
    if (heldHere.has(slot)) continue;
    heldHere.add(slot);
    const release = await hold(slotLockPrefix + slot, { ifAvailable: true });
    if (release) return claimed(slot, release);
    heldHere.delete(slot);
  }
  throw new Error(`all ${maxSlots} node slots of this browser are in use: close some Tabmesh tabs or leave some rooms`);
}

function claimed(slot: number, release: () => void): SlotClaim {
  remember(slot);
  let released = false;
  return {
    slot,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(slot);
      release();
    },
  };
}
