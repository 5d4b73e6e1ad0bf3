// The page's copy of the replicated memory. The worker posts the whole memory once (a 'memory'
// message with reset) and then every change as it happens, so a write shows on the page at
// once and no snapshot copies every key. Snapshots handed out on the page get `memory` and
// `memoryEntries` as enumerable getters over this copy: always current, built only when read,
// and rebuilt only after a change (structuredClone and JSON.stringify read them like fields).
import type { MemoryEntryView } from './core/gossip/index.ts';
import type { MemoryChange, MemoryMessage } from './worker/protocol.ts';

export class PageMemory {
  private readonly entries = new Map<string, MemoryEntryView>();
  private version = 0;
  private built: { version: number; record: Record<string, unknown>; list: MemoryEntryView[] } | null = null;
  private readonly listeners = new Set<(changes: readonly MemoryChange[], reset: boolean) => void>();

  /** Applies a message from the worker (already decoded) and tells the listeners. */
  apply(message: MemoryMessage): void {
    if (message.reset) this.entries.clear();
    for (const change of message.changes) {
      if (!('value' in change) || change.value === undefined) this.entries.delete(change.key);
      else
        this.entries.set(change.key, {
          key: change.key,
          value: change.value as MemoryEntryView['value'],
          origin: change.origin as MemoryEntryView['origin'],
          hlc: change.hlc,
        });
    }
    this.version++;
    for (const listener of this.listeners) listener(message.changes, message.reset);
  }

  get(key: string): MemoryEntryView | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Calls `listener` with each batch of changes as it arrives; returns the unsubscribe function. */
  subscribe(listener: (changes: readonly MemoryChange[], reset: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Gives `snapshot` live `memory` (key → value) and `memoryEntries` (sorted by key) fields. */
  attach<T extends object>(snapshot: T): T {
    Object.defineProperty(snapshot, 'memory', { enumerable: true, configurable: true, get: () => this.build().record });
    Object.defineProperty(snapshot, 'memoryEntries', { enumerable: true, configurable: true, get: () => this.build().list });
    return snapshot;
  }

  private build(): { record: Record<string, unknown>; list: MemoryEntryView[] } {
    if (this.built?.version === this.version) return this.built;
    const list = [...this.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const record: Record<string, unknown> = {};
    for (const e of list) record[e.key] = e.value;
    this.built = { version: this.version, record, list };
    return this.built;
  }
}
