import { createStore, get, set, setMany, del, keys, clear, type UseStore } from 'idb-keyval';
import type { Storage } from './storage.ts';

/**
 * IndexedDB storage through idb-keyval. Tabs of one browser share IndexedDB, so each node
 * gets a database of its own, named by the slot its tab holds (idb-keyval wants one database
 * per store).
 */
export class IdbStorage implements Storage {
  private readonly store: UseStore;

  constructor(databaseName: string) {
    this.store = createStore(databaseName, 'kv');
  }
  get(key: string): Promise<unknown> {
    return get(key, this.store);
  }
  set(key: string, value: unknown): Promise<void> {
    return set(key, value, this.store);
  }
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    return setMany(
      entries.map(([k, v]) => [k, v]),
      this.store,
    );
  }
  del(key: string): Promise<void> {
    return del(key, this.store);
  }
  async keys(prefix = ''): Promise<string[]> {
    const all = await keys<IDBValidKey>(this.store);
    return all.filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
  }
  clear(): Promise<void> {
    return clear(this.store);
  }
}

export const slotDatabaseName = (slot: number): string => `tabmesh-node-${slot}`;
