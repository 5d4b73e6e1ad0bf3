// Per-client-address quotas: how many connections, opened rooms and seats in one room a single
// address holds. Counted behind a small interface so that a cluster of servers can later keep
// the same counts in a shared store; this file holds the in-process one.
//
// Every take is paired with exactly one release by the caller (hub.ts releases on close, on
// leave and when a room empties), so counts return to zero and the map shrinks with them.
//
// For a cluster store (Redis: INCR with a cap in a Lua script, DECR, keys with a TTL refreshed
// by each live process so a dead process's units expire) the calls would become asynchronous;
// hub.ts takes quota at two points only (a new connection, admitJoin), which can await.

/** What a quota counts. `seat:<room>` is one per room, so no address can fill a room. */
export type QuotaKey = 'connections' | 'rooms' | `seat:${string}`;

export interface AddressQuotaStore {
  /** Takes one unit of `key` for `address` when it holds fewer than `cap`; false at the cap. */
  tryTake(address: string, key: QuotaKey, cap: number): boolean;
  /** Gives one unit back (never below zero). */
  release(address: string, key: QuotaKey): void;
  /** Units held now (stats and tests). */
  held(address: string, key: QuotaKey): number;
  /** Addresses holding anything (stats: how many distinct clients are connected). */
  addresses(): number;
}

/** The single-process store: a map per address, dropped when it holds nothing. */
export class MemoryQuotaStore implements AddressQuotaStore {
  private readonly byAddress = new Map<string, Map<QuotaKey, number>>();

  tryTake(address: string, key: QuotaKey, cap: number): boolean {
    let counts = this.byAddress.get(address);
    const held = counts?.get(key) ?? 0;
    if (held >= cap) return false;
    if (!counts) {
      counts = new Map();
      this.byAddress.set(address, counts);
    }
    counts.set(key, held + 1);
    return true;
  }

  release(address: string, key: QuotaKey): void {
    const counts = this.byAddress.get(address);
    const held = counts?.get(key);
    if (!counts || held === undefined) return;
    if (held > 1) counts.set(key, held - 1);
    else {
      counts.delete(key);
      if (counts.size === 0) this.byAddress.delete(address);
    }
  }

  held(address: string, key: QuotaKey): number {
    return this.byAddress.get(address)?.get(key) ?? 0;
  }

  addresses(): number {
    return this.byAddress.size;
  }
}
