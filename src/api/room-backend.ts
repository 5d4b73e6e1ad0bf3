// The node as the room's features see it: the same NodeBackend, but fenced by the room's life.
// Once the room is left, every command rejects with a RoomClosedError, every event and snapshot
// subscription is dropped, and errors from the node come back as typed TabmeshErrors. Features
// (channels, consensus, compute) are handed this, so each gets "closed means closed" for free.
import type { NodeBackend } from './backend.ts';
import { RoomClosedError, fromNodeError } from './errors.ts';

export class RoomBackend implements NodeBackend {
  private readonly stops = new Set<() => void>();
  private closed = false;

  constructor(private readonly node: NodeBackend) {}

  /** True once the room was left. */
  get isClosed(): boolean {
    return this.closed;
  }

  async command(name: string, ...args: unknown[]): Promise<unknown> {
    if (this.closed) throw new RoomClosedError();
    try {
      return await this.node.command(name, ...args);
    } catch (error) {
      throw this.closed ? new RoomClosedError() : fromNodeError(error);
    }
  }

  onEvent(name: string, listener: (payload: unknown) => void): () => void {
    return this.track(this.node.onEvent(name, (payload) => !this.closed && listener(payload)));
  }

  snapshot(): ReturnType<NodeBackend['snapshot']> {
    return this.node.snapshot();
  }

  subscribe(listener: Parameters<NodeBackend['subscribe']>[0]): () => void {
    return this.track(this.node.subscribe((snapshot) => !this.closed && listener(snapshot)));
  }

  subscribeMemory(listener: Parameters<NodeBackend['subscribeMemory']>[0]): () => void {
    return this.track(this.node.subscribeMemory((changes, reset) => !this.closed && listener(changes, reset)));
  }

  memory(key: string): ReturnType<NodeBackend['memory']> {
    return this.node.memory(key);
  }

  /** Drops every subscription, then leaves through the node. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const stop of this.stops) stop();
      this.stops.clear();
    }
    await this.node.close();
  }

  private track(stop: () => void): () => void {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      this.stops.delete(once);
      stop();
    };
    if (this.closed) once();
    else this.stops.add(once);
    return once;
  }
}
