// A NodeBackend for unit tests of the app API: the test plays the node — it publishes
// snapshots, app events and memory messages, and answers commands — and sees what was asked.
import type { NodeBackend } from '../../../src/api/backend.ts';
import type { MemoryChange, MemoryEntryView, NodeSnapshot } from '../../../src/mesh-node.ts';
import { PageMemory } from '../../../src/page-memory.ts';
import { AppEventListeners } from '../../../src/app-event-listeners.ts';

/** A node id of the right shape (43 base64url characters), distinct per `n`. */
export const nodeId = (n: number): string => `${String(n).padStart(3, '0')}${'A'.repeat(40)}`;

export class FakeBackend implements NodeBackend {
  readonly commands: Array<{ name: string; args: unknown[] }> = [];
  /** The command handler (default: resolve with true; 'members' with the lists in `members` and `departed`). */
  answer: (name: string, args: unknown[]) => unknown = (name) => (name === 'members' ? { members: this.members, departed: this.departed } : true);
  members: string[] = [];
  departed: string[] = [];
  closedCount = 0;
  private latest: NodeSnapshot | null = null;
  private readonly snapshotListeners = new Set<(s: NodeSnapshot) => void>();
  private readonly eventListeners = new AppEventListeners();
  private readonly page = new PageMemory();

  async command(name: string, ...args: unknown[]): Promise<unknown> {
    this.commands.push({ name, args });
    return this.answer(name, args);
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
    return this.page.subscribe(listener);
  }

  memory(key: string): MemoryEntryView | undefined {
    return this.page.get(key);
  }

  close(): void {
    this.closedCount++;
  }

  // ── the test's side ──

  /** Publishes a snapshot with `id` (and whatever else the test gives). */
  publishSnapshot(fields: Partial<NodeSnapshot> & { id: string }): void {
    this.latest = this.page.attach({ room: 'r', ...fields } as NodeSnapshot);
    for (const listener of [...this.snapshotListeners]) listener(this.latest);
  }

  /** Delivers app event `name` with `payload`. */
  publishEvent(name: string, payload: unknown): void {
    this.eventListeners.publish(name, payload);
  }

  /** Delivers a memory message as the worker would. */
  publishMemory(changes: MemoryChange[], reset = false): void {
    this.page.apply({ type: 'memory', reset, changes });
  }

  /** Listeners of app event `name` (to check a closed room let go). */
  eventListenerCount(name: string): number {
    return this.eventListeners.count(name);
  }
}
