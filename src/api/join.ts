// What both joinRoom's share (browser and Node): wait for the node's identity (its first
// snapshot), honour the AbortSignal and the node's fatal errors, then hand back a Room.
import type { NodeBackend } from './backend.ts';
import { AbortError, NodeUnavailableError } from './errors.ts';
import { RoomImpl, type Room } from './room.ts';

/**
 * The Room over `node` once the node knows its id. If `signal` aborts first, or `failed()`
 * reports a fatal problem, the node is closed and the promise rejects.
 */
export function roomWhenReady(
  node: NodeBackend,
  room: string,
  signal: AbortSignal | undefined,
  failed: () => string | null,
  onFailure?: (listener: (message: string) => void) => () => void,
): Promise<Room> {
  return new Promise<Room>((resolve, reject) => {
    let settled = false;
    let stop: (() => void) | null = null;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', aborted);
      queueMicrotask(() => stop?.());
      outcome();
    };
    const giveUp = (error: Error) =>
      finish(() => {
        void Promise.resolve(node.close()).catch(() => {});
        reject(error);
      });
    const aborted = () => giveUp(new AbortError(signal?.reason));
    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted, { once: true });
    // A worker that fails for good before its first snapshot posts none: hear of it directly.
    const stopFailure = onFailure?.((message) => giveUp(new NodeUnavailableError('node-failed', `the node could not start: ${message}`)));
    const stopSnapshots = node.subscribe((snapshot) => {
      const problem = failed();
      if (problem) return giveUp(new NodeUnavailableError('node-failed', `the node could not start: ${problem}`));
      if (typeof snapshot.id === 'string' && snapshot.id !== '') finish(() => resolve(new RoomImpl(node, snapshot.id, room)));
    });
    stop = () => {
      stopSnapshots();
      stopFailure?.();
    };
    if (settled) stop();
    const already = failed();
    if (already) giveUp(new NodeUnavailableError('node-failed', `the node could not start: ${already}`));
  });
}
