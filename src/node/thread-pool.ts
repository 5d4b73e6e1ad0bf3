// The Node peer's compute pool: kernel threads (worker_threads) running the same task kinds
// as a tab's kernel Web Workers, so a headless machine computes for the mesh like a tab.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ComputePool, defaultPoolSize, type KernelWorker } from '../compute/pool.ts';

function spawnKernelThread(): KernelWorker {
  const worker = new Worker(new URL('./kernel-thread-boot.mjs', import.meta.url), { name: 'tabmesh-kernel' });
  // A kernel thread must never keep a stopping process alive.
  worker.unref();
  return {
    post: (request) => worker.postMessage(request),
    onReply: (listener) => worker.on('message', listener),
    onCrash: (listener) => {
      worker.on('error', (error) => listener(error.message));
      worker.on('exit', (code) => {
        if (code !== 0) listener(`the kernel thread exited with code ${code}`);
      });
    },
    terminate: () => void worker.terminate(),
  };
}

export function createThreadComputePool(size = defaultPoolSize(availableParallelism())): ComputePool {
  return new ComputePool(size, spawnKernelThread);
}
