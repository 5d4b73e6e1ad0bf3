// The compute pool of a tab: kernel Web Workers, spawned from the protocol worker.
import { ComputePool, defaultPoolSize, type KernelWorker } from './pool.ts';

function spawnWebKernel(): KernelWorker {
  const worker = new Worker(new URL('./kernel.worker.ts', import.meta.url), { type: 'module', name: 'tabmesh-kernel' });
  return {
    post: (request) => worker.postMessage(request),
    onReply: (listener) => worker.addEventListener('message', (event: MessageEvent) => listener(event.data)),
    onCrash: (listener) => worker.addEventListener('error', (event: ErrorEvent) => listener(event.message || 'error')),
    terminate: () => worker.terminate(),
  };
}

export function createWebComputePool(size = defaultPoolSize(navigator.hardwareConcurrency)): ComputePool {
  return new ComputePool(size, spawnWebKernel);
}
