// The process of `npx tabmesh-node` (bin/tabmesh-node.js) and `npm run node -- …`.
// Exit codes: 0 after a graceful stop, 1 when the node cannot start or fails, 2 for bad usage.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeUsage, parseNodeArgs, passwordEnvName } from './cli.ts';
import { formatJsonLine, formatReadableLine } from './log-format.ts';
import type { LogEvent } from './log-events.ts';
import { startNodePeer, type NodePeer } from './peer.ts';

const command = parseNodeArgs(process.argv.slice(2), join(homedir(), '.tabmesh-node'), process.env);
// Read once; kernel threads and anything else this process starts need not inherit it.
delete process.env[passwordEnvName];
if (command.kind === 'help') {
  process.stdout.write(nodeUsage);
  process.exit(0);
}
if (command.kind === 'error') {
  process.stderr.write(`tabmesh-node: ${command.message}\n\n${nodeUsage}`);
  process.exit(2);
}

const format = command.options.json ? formatJsonLine : formatReadableLine;
// A closed stdout (piped into `head`) must not take the node down.
process.stdout.on('error', () => {});
const log = (event: LogEvent): void => {
  process.stdout.write(`${format(event, new Date())}\n`);
};
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

let peer: NodePeer | null = null;
let exiting = false;

async function exit(reason: string, code: number): Promise<never> {
  if (exiting) {
    log({ event: 'stopped', reason: `${reason} again: not waiting any longer`, exitCode: 1 });
    process.exit(1);
  }
  exiting = true;
  try {
    await peer?.stop(reason);
  } catch (error) {
    log({ event: 'error', message: `while leaving: ${message(error)}` });
    code = code || 1;
  }
  log({ event: 'stopped', reason, exitCode: code });
  process.exit(code);
}

process.on('SIGINT', () => void exit('SIGINT', 0));
process.on('SIGTERM', () => void exit('SIGTERM', 0));
process.on('uncaughtException', (error) => {
  log({ event: 'error', message: `unexpected failure: ${error.stack ?? message(error)}` });
  void exit('after an unexpected failure', 1);
});
// A stray rejected promise in some edge must not end a node that otherwise works: say so.
process.on('unhandledRejection', (error) =>
  log({ event: 'error', message: `unhandled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` }),
);

// `--data=~/x` reaches us unexpanded (the shell expands ~ only at the start of a word).
const dataDir = resolve(command.options.dataDir.replace(/^~(?=$|[\\/])/, homedir()));
try {
  peer = await startNodePeer({ ...command.options, dataDir }, log);
} catch (error) {
  log({ event: 'error', message: `cannot start: ${message(error)}` });
  log({ event: 'stopped', reason: 'could not start', exitCode: 1 });
  process.exit(1);
}
