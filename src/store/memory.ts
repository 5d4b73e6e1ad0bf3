import type { Storage } from './storage.ts';

/**
 * Storage in a Map. Values are deep-copied in and out (structured clone, as IndexedDB does), so
 * a caller that mutates an object after writing it cannot change what was stored.
 */
export class MemoryStorage implements Storage {
  private readonly entries = new Map<string, unknown>();

  async get(key: string): Promise<unknown> {
    const value = this.entries.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.entries.set(key, structuredClone(value));
  }
  async setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    const copies = entries.map(([k, v]) => [k, structuredClone(v)] as const);
    for (const [k, v] of copies) this.entries.set(k, v);
  }
  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }
  async keys(prefix = ''): Promise<string[]> {
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix));
  }
  async clear(): Promise<void> {
    this.entries.clear();
  }
}
