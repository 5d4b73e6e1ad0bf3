// A NodeBackend over a Node peer (src/node/peer.ts): the tab's runtime and services in this
// process, on Node edges (a data directory, node-datachannel, `ws`). App events and memory
// changes come straight from the runtime; the memory is kept here as a tab's page keeps it.
import type { NodeBackend } from './backend.ts';
import type { MemoryChange, MemoryEntryView, NodeSnapshot } from '../mesh-node.ts';
import { PageMemory } from '../page-memory.ts';
import { AppEventListeners } from '../app-event-listeners.ts';
import { startNodePeer, type NodePeer, type NodePeerHooks } from '../node/peer.ts';
import type { NodeRunOptions } from '../node/cli.ts';
import type { LogEvent } from '../node/log-events.ts';

export class NodePeerBackend implements NodeBackend {
  private peer: NodePeer | null = null;
  private latest: NodeSnapshot | null = null;
  private readonly memoryCopy = new PageMemory();
  private readonly snapshotListeners = new Set<(snapshot: NodeSnapshot) => void>();
  private readonly eventListeners = new AppEventListeners();
  private closing: Promise<void> | null = null;
  private readonly cleanups: Array<() => Promise<void>> = [];

  /** Starts the node; resolves once it runs (its identity loaded, the room being joined). */
  static async start(options: NodeRunOptions, log: (event: LogEvent) => void, hooks: Pick<NodePeerHooks, 'createPeer'> = {}): Promise<NodePeerBackend> {
    const backend = new NodePeerBackend();
    backend.peer = await startNodePeer(options, log, {
      ...hooks,
      publishEvent: (name, payload) => {
        backend.eventListeners.publish(name, payload);
      },
      publishMemory: (message) => backend.memoryCopy.apply(message),
      publishSnapshot: (snapshot) => backend.takeSnapshot(snapshot as unknown as NodeSnapshot),
    });
    const first = backend.peer.snapshot();
    if (first && !backend.latest) backend.takeSnapshot(first as unknown as NodeSnapshot);
    return backend;
  }

  async command(name: string, ...args: unknown[]): Promise<unknown> {
    if (!this.peer || this.closing) throw new Error('this node has been closed');
    return await this.peer.command(name, args);
  }

  onEvent(name: string, listener: (payload: unknown) => void): () => void {
    return this.eventListeners.on(name, listener);
  }

  snapshot(): NodeSnapshot | null {
    return this.latest;
  }

  subscribe(listener: (snapshot: NodeSnapshot) => void): () => void {
    this.snapshotListeners.add(listener);
    if (this.latest) listener(this.latest);
    return () => this.snapshotListeners.delete(listener);
  }

  subscribeMemory(listener: (changes: readonly MemoryChange[], reset: boolean) => void): () => void {
    return this.memoryCopy.subscribe(listener);
  }

  memory(key: string): MemoryEntryView | undefined {
    return this.memoryCopy.get(key);
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.peer?.stop('left the room');
      for (const cleanup of this.cleanups) await cleanup();
    })());
  }

  /** Runs `cleanup` once the node has stopped (a temporary data directory is removed). */
  afterClose(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  private takeSnapshot(snapshot: NodeSnapshot): void {
    this.latest = this.memoryCopy.attach({ ...snapshot });
    for (const listener of [...this.snapshotListeners]) listener(this.latest);
  }
}
