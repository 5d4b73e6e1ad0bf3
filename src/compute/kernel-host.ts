// The body of a kernel worker, the same in a Web Worker and in worker_threads: it receives a
// run request, runs the registered kind's kernel with a deadline on its own clock, and answers.
// Only kinds built into the app's bundle can run; a peer names a kind, never sends code.
import { createKindRegistry } from './kernels/index.ts';
import { deadlineAfter } from './kernels/registry.ts';
import { decodeKernelRequest, type KernelReply } from './kernel-protocol.ts';

const registry = createKindRegistry();

export function handleKernelMessage(raw: unknown, reply: (message: KernelReply) => void): void {
  const started = performance.now();
  const decoded = decodeKernelRequest(raw);
  if (!decoded.ok) {
    const id = typeof (raw as { id?: unknown } | null)?.id === 'number' ? (raw as { id: number }).id : -1;
    reply({ type: 'done', id, ok: false, error: `bad request to the kernel worker: ${decoded.error}`, ms: 0 });
    return;
  }
  const { id, kind, task, budgetMs } = decoded.value;
  const outcome = registry.runTask(
    kind,
    task,
    deadlineAfter(() => performance.now(), budgetMs),
  );
  const ms = performance.now() - started;
  reply(
    outcome.ok ? { type: 'done', id, ok: true, result: outcome.result, bytes: outcome.bytes, ms } : { type: 'done', id, ok: false, error: outcome.error, ms },
  );
}
