// A tab's kernel worker: one of the compute pool's Web Workers. Kernels never run on the UI
// thread or in the protocol worker.
import { handleKernelMessage } from './kernel-host.ts';

const scope = self as unknown as {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
};
scope.addEventListener('message', (event) => handleKernelMessage(event.data, (reply) => scope.postMessage(reply)));
