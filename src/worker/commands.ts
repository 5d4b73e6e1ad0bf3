// Commands the page may ask of the node (window.tabmesh methods and UI actions). Arguments
// cross the postMessage boundary, so each command checks its own before acting.
import type { NodeRuntime } from './runtime.ts';
import { debugCommands } from './debug-commands.ts';
import { crashCommands } from './crash-commands.ts';
import { demoCommands } from './demo-commands.ts';

/** How long a leaving node's last frames get before it leaves the room (as the Node peer's leaveLingerMs). */
export const leaveLingerMs = 300;

type Command = (runtime: NodeRuntime, args: unknown[]) => unknown;

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} must be a string`);
  return value;
}

const commands: Record<string, Command> = {
  send: (runtime, [peer, message]) => {
    runtime.sendMessage(text(peer, 'peer'), text(message, 'message'));
    return true;
  },
  broadcast: (runtime, [message]) => runtime.broadcastMessage(text(message, 'message')),
  dropLink: (runtime, [peer]) => {
    runtime.dropLink(text(peer, 'peer'));
    return true;
  },
  // A graceful leave the page waits for (room.leave()): last words, goodbyes, then out of the room.
  leave: async (runtime) => {
    // The goodbyes get a moment on the wire before the room is left (the server then tells the
    // room at once, and a peer that hears it drops the link with whatever is still in flight).
    await runtime.shutdown('left the room', leaveLingerMs);
    return true;
  },
  reconnectSignaling: (runtime) => {
    runtime.reconnectSignaling();
    return true;
  },
  // Fault injection for the chaos run (flood): see debug-commands.ts.
  ...debugCommands,
  // Breaking the worker for real (the supervisor restarts it): see crash-commands.ts.
  ...crashCommands,
  // The demo view's partition and sleep: see demo-commands.ts.
  ...demoCommands,
};

const commandNames = Object.keys(commands);

export async function runCommand(runtime: NodeRuntime, name: string, args: unknown[]): Promise<unknown> {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command) return command(runtime, args);
  const fromService = runtime.runServiceCommand(name, args);
  if (fromService.found) return await fromService.value;
  throw new Error(`unknown command "${name}"; known: ${[...commandNames, ...runtime.serviceCommandNames()].join(', ')}`);
}
