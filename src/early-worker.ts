// The protocol worker's script (~300 KB) takes 50–600 ms to fetch and compile on a loaded
// machine; the page meanwhile claims its IndexedDB slot and fetches /config.json, which the
// worker's init message needs. Starting the worker first lets the two overlap. Until the
// supervisor attaches its listeners, whatever the worker says is held here, so an early failure
// (a script that throws as it loads) is still seen and handled as a crash, never lost.
import type { WorkerLike } from './worker-supervisor.ts';

type WorkerEventType = 'message' | 'error' | 'messageerror';
type WorkerEvent = Event & { data?: unknown; message?: string };

/** The slice of a browser Worker used here (a fake one in tests). */
export interface RawWorker {
  postMessage(message: unknown, transfer: Transferable[]): void;
  terminate(): void;
  addEventListener(type: WorkerEventType, listener: (event: Event) => void): void;
}

/** Events held before anyone listens; a worker says nothing before its init, so a few is plenty. */
export const heldWorkerEventsLimit = 16;

export class EarlyWorker implements WorkerLike {
  private readonly listeners = new Map<WorkerEventType, Array<(event: WorkerEvent) => void>>();
  private held: Array<{ type: WorkerEventType; event: WorkerEvent }> = [];
  /** Events dropped because the hold was full (never expected from a worker before its init). */
  dropped = 0;

  constructor(private readonly worker: RawWorker) {
    for (const type of ['message', 'error', 'messageerror'] as const) worker.addEventListener(type, (event) => this.deliver(type, event as WorkerEvent));
  }

  postMessage(message: unknown, transfer?: Transferable[]): void {
    this.worker.postMessage(message, transfer ?? []);
  }

  terminate(): void {
    this.held = [];
    this.worker.terminate();
  }

  addEventListener(type: WorkerEventType, listener: (event: WorkerEvent) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
    const due = this.held.filter((h) => h.type === type);
    if (due.length === 0) return;
    this.held = this.held.filter((h) => h.type !== type);
    // Later, as a browser would: the caller is still setting up (a crash handled at once
    // would find the page's node half built).
    queueMicrotask(() => {
      for (const { event } of due) listener(event);
    });
  }

  private deliver(type: WorkerEventType, event: WorkerEvent): void {
    const list = this.listeners.get(type);
    if (list && list.length > 0) {
      for (const listener of list) listener(event);
      return;
    }
    // The page will handle it once it listens: the browser must not report it as uncaught.
    if (type === 'error') event.preventDefault();
    if (this.held.length >= heldWorkerEventsLimit) this.dropped++;
    else this.held.push({ type, event });
  }
}
