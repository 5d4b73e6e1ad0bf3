// The signaling socket is opened as the node starts, so its handshake (TCP, the WebSocket
// upgrade, the server's welcome: 15–400 ms on a loaded machine) overlaps loading the identity
// and the services' stored state. The join itself is unchanged: the signaling client attaches
// to this socket once the node is ready, and only then sees the welcome and signs its challenge.
// What the socket says before anyone listens is held and replayed in order, never lost.
import type { SocketLike } from '../net/signaling-client.ts';

/**
 * Events held before the client attaches. Before a join the server sends one welcome (and
 * perhaps an error and the close); more would be a misbehaving server, dropped past this.
 */
export const heldSocketEventsLimit = 8;

type Held = { kind: 'open' | 'error'; ev: unknown } | { kind: 'message'; ev: { data: unknown } } | { kind: 'close'; ev: { code: number; reason: string } };

export class EarlySocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  private held: Held[] = [];
  private attached = false;

  constructor(private readonly socket: SocketLike) {
    socket.onopen = (ev) => this.arrive({ kind: 'open', ev });
    socket.onerror = (ev) => this.arrive({ kind: 'error', ev });
    socket.onmessage = (ev) => this.arrive({ kind: 'message', ev });
    socket.onclose = (ev) => this.arrive({ kind: 'close', ev });
  }

  get readyState(): number {
    return this.socket.readyState;
  }

  send(data: string): void {
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  /**
   * The client has set its handlers: what was held is delivered on the next microtask (after
   * the client has finished setting them all), in the order it came, then everything live.
   */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    queueMicrotask(() => {
      const held = this.held;
      this.held = [];
      for (const event of held) this.dispatch(event);
    });
  }

  private arrive(event: Held): void {
    if (this.attached && this.held.length === 0) this.dispatch(event);
    else if (this.held.length < heldSocketEventsLimit || event.kind === 'close') this.held.push(event);
  }

  private dispatch(event: Held): void {
    switch (event.kind) {
      case 'open':
        return this.onopen?.(event.ev);
      case 'error':
        return this.onerror?.(event.ev);
      case 'message':
        return this.onmessage?.(event.ev);
      case 'close':
        return this.onclose?.(event.ev);
    }
  }
}
