// The page of a simulated node, as the app library sees it (NodeBackend, src/api/backend.ts):
// commands go into the node's runtime as a tab's worker runs them, app events and snapshots
// come out as copies after the current step (as postMessage delivers them). Pass `setup()` when
// adding the node; then createCompute(page) and the rest of src/api run on a real node.
import type { NodeBackend } from '../../../src/api/backend.ts';
import { AppEventListeners } from '../../../src/app-event-listeners.ts';
import type { MemoryChange, MemoryEntryView, NodeSnapshot } from '../../../src/mesh-node.ts';
import type { SimNode } from './real-cluster.ts';
import type { NodeSetup } from './node-setup.ts';

export class SimPage implements NodeBackend {
  node: SimNode | null = null;
  /** App events the node posted, in order. */
  readonly events: Array<{ name: string; payload: unknown }> = [];
  private readonly listeners = new AppEventListeners();
  private readonly snapshotListeners = new Set<(snapshot: NodeSnapshot) => void>();
  private latest: NodeSnapshot | null = null;

  /** The node's edges that reach this page. */
  setup(): NodeSetup {
    return {
      publishEvent: (name, payload) => {
        const copy = structuredClone(payload);
        this.events.push({ name, payload: copy });
        queueMicrotask(() => this.emit(name, copy));
      },
      publishSnapshot: (snapshot) => {
        const copy = structuredClone(snapshot) as unknown as NodeSnapshot;
        queueMicrotask(() => {
          this.latest = copy;
          for (const listener of [...this.snapshotListeners]) listener(copy);
        });
      },
    };
  }

  /** Hands `payload` to the page's listeners of `name`, as if the node had posted it (a broken node's events). */
  emit(name: string, payload: unknown): void {
    this.listeners.publish(name, payload);
  }

  async command(name: string, ...args: unknown[]): Promise<unknown> {
    const runtime = this.node?.runtime;
    if (!runtime || !this.node?.isUp) throw new Error('this node is not running');
    const result = runtime.runServiceCommand(name, args);
    if (!result.found) throw new Error(`no command ${name}`);
    return await result.value;
  }

  onEvent(name: string, listener: (payload: unknown) => void): () => void {
    return this.listeners.on(name, listener);
  }

  snapshot(): NodeSnapshot | null {
    return this.latest;
  }

  subscribe(listener: (snapshot: NodeSnapshot) => void): () => void {
    this.snapshotListeners.add(listener);
    if (this.latest) listener(this.latest);
    return () => void this.snapshotListeners.delete(listener);
  }

  subscribeMemory(_listener: (changes: readonly MemoryChange[], reset: boolean) => void): () => void {
    return () => {};
  }

  memory(_key: string): MemoryEntryView | undefined {
    return undefined;
  }

  close(): void {}
}
