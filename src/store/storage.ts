// The node's durable memory. Two implementations share one contract test suite:
// idb.ts (IndexedDB through idb-keyval, in tabs) and memory.ts (the simulator and unit tests).

export interface Storage {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  /** Several writes that land together or not at all (one IndexedDB transaction). */
  setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;
  del(key: string): Promise<void>;
  /** Every key, optionally only those starting with `prefix`. */
  keys(prefix?: string): Promise<string[]>;
  /** Removes everything this node stored. */
  clear(): Promise<void>;
}

/** The key under which each node keeps its status record (docs/reference.md, "Mesh topology"). */
export const statusRecordKey = 'swarm/mesh/topology';
