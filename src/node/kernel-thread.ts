// One of a Node peer's kernel threads: the same body as a tab's kernel Web Worker.
import { parentPort } from 'node:worker_threads';
import { handleKernelMessage } from '../compute/kernel-host.ts';

parentPort?.on('message', (message: unknown) => handleKernelMessage(message, (reply) => parentPort?.postMessage(reply)));
