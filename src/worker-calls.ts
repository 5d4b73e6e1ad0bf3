// The page's side of the commands it asks of its protocol worker and of the app events the
// worker posts: each command gets an id, its reply settles it; a restart or a leave rejects
// what is still waiting, so no caller waits forever.
import type { PageToWorker, WorkerToPage } from './worker/protocol.ts';
import { AppEventListeners } from './app-event-listeners.ts';

type Reply = Extract<WorkerToPage, { type: 'reply' }>;
interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class WorkerCalls {
  private readonly pending = new Map<number, Waiter>();
  private readonly eventListeners = new AppEventListeners();
  private nextId = 1;

  constructor(private readonly post: (message: PageToWorker) => void) {}

  /** Runs `name` in the worker; rejects with the worker's explanation (and `code`, if given). */
  call(name: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ type: 'command', id, name, args });
    });
  }

  /** Like call(), but a refusal settles it too: for a goodbye that must not throw. */
  settle(name: string, args: unknown[]): Promise<unknown> {
    return this.call(name, args).catch((error: unknown) => error);
  }

  reply(message: Reply): void {
    const waiter = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.ok) waiter?.resolve(message.value);
    else waiter?.reject(Object.assign(new Error(message.error ?? 'the node refused the command'), message.code ? { code: message.code } : {}));
  }

  event(name: string, payload: unknown): void {
    this.eventListeners.publish(name, payload);
  }

  onEvent(name: string, listener: (payload: unknown) => void): () => void {
    return this.eventListeners.on(name, listener);
  }

  /** Rejects every command still waiting with `reason`. */
  rejectAll(reason: string): void {
    for (const waiter of this.pending.values()) waiter.reject(new Error(reason));
    this.pending.clear();
  }
}
