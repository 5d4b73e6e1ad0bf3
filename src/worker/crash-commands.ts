// Debug commands that break this protocol worker for real, so the page's supervisor
// (src/worker-supervisor.ts) can be seen and tested bringing it back from IndexedDB:
// window.tabmesh.debug.crashWorker() and hangWorker(). Both act after the reply has gone out,
// so the caller learns the command was taken before the worker goes.
import type { NodeRuntime } from './runtime.ts';

type Command = (runtime: NodeRuntime, args: unknown[]) => unknown;

/** The error message a requested crash throws (the restart reason quotes it). */
export const requestedCrashMessage = 'crash requested by tabmesh.debug.crashWorker()';

export const crashCommands: Record<string, Command> = {
  /** Throws an uncaught error in the worker, as a bug in a timer callback would. */
  crashWorker: (runtime) => {
    runtime.timers.setTimeout(() => {
      throw new Error(requestedCrashMessage);
    }, 0);
    return true;
  },
  /** Keeps the worker busy for good (an endless loop): it stops answering, as a hung worker does. */
  hangWorker: (runtime) => {
    runtime.timers.setTimeout(() => {
      // Never ends, on purpose.
      for (;;) {
        // spin
      }
    }, 0);
    return true;
  },
};
