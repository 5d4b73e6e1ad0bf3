// Fakes of what the page starts, for unit tests of one piece: a signaling WebSocket the test
// opens, feeds and drops, and a Worker the test makes speak. One of each for every test file.
import type { SocketLike } from '../../src/net/signaling-client.ts';

/** A signaling socket: `sent` holds what the code sent (parsed); the test calls open, deliver and drop. */
export class FakeSocket implements SocketLike {
  readonly sent: Array<Record<string, unknown>> = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;

  /** @param readyState 0 (connecting, the default) or 1 (already open). */
  constructor(public readyState = 0) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number, reason: string): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

type Listener = (event: Event & { data?: unknown; message?: string }) => void;

/** A worker: `posted` holds what the page posted; `fire` makes it raise an event. */
export class FakeWorker {
  readonly posted: unknown[] = [];
  terminated = false;
  private readonly listeners = new Map<string, Listener[]>();
  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  terminate(): void {
    this.terminated = true;
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  fire(type: string, fields: { data?: unknown; message?: string } = {}): Event {
    const event = Object.assign(new Event(type, { cancelable: true }), fields);
    for (const listener of this.listeners.get(type) ?? []) listener(event);
    return event;
  }
}
