// What the app API (joinRoom and the Room it returns) needs from a running node. A tab's node
// (createMeshNode: a protocol worker behind postMessage) and a Node peer (the runtime in this
// process) both provide it, so `tabmesh` and `tabmesh/node` are one API over two backends.
// Every feature of the Room (channels, memory, consensus, compute) talks to its node only
// through this: commands go in, app events come out (ServiceContext.publishEvent).
import type { MemoryChange, MemoryEntryView, NodeSnapshot } from '../mesh-node.ts';

export interface NodeBackend {
  /**
   * Runs a node command (a service's `commands` entry); resolves with its value, rejects with
   * an Error whose `code` is set when the node gave one (src/worker/command-error.ts).
   */
  command(name: string, ...args: unknown[]): Promise<unknown>;
  /** Calls `listener` with the payload of each app event `name`, unchecked; returns the unsubscribe. */
  onEvent(name: string, listener: (payload: unknown) => void): () => void;
  /** The latest snapshot, or null before the node has published one. */
  snapshot(): NodeSnapshot | null;
  /** Calls `listener` with every new snapshot (and the current one at once); returns the unsubscribe. */
  subscribe(listener: (snapshot: NodeSnapshot) => void): () => void;
  /** Memory changes as they reach this node (`reset`: the list is the whole memory). */
  subscribeMemory(listener: (changes: readonly MemoryChange[], reset: boolean) => void): () => void;
  /** One key of the replicated memory as held here now. */
  memory(key: string): MemoryEntryView | undefined;
  /** Leaves gracefully: last words to peers, leave the room, close every link. */
  close(): void | Promise<void>;
}
