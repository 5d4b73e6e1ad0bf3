// Test helper: the real `npm run serve` entry point (signaling/main.ts) as a child process,
// its output collected, with a wait for a line pattern (failing if the process exits first).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serverEnvNames } from '../../signaling/cli.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The server's variables set empty, so none leaks in from the shell running the tests or benches. */
export const clearedServerEnv: Readonly<Record<string, string>> = Object.fromEntries(serverEnvNames.map((name) => [name, '']));

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** SIGKILL if still running. */
  kill(): void;
}

export function runServer(args: string[], env: Record<string, string> = {}): ServerProcess {
  // One process (tsx as a loader), so SIGTERM reaches main.ts itself: the tsx command would relay
  // it from a parent process, which on a loaded machine can give up before it learns that the
  // child handles the signal (exit 143 instead of the graceful 0).
  const child = spawn(process.execPath, ['--import', 'tsx', 'signaling/main.ts', ...args], { cwd: repo, env: { ...process.env, ...clearedServerEnv, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = stdout.match(pattern);
        if (m) resolve(m);
      };
      child.stdout.on('data', check);
      void exited.then(() => reject(new Error(`exited before printing ${pattern}: ${stdout}${stderr}`)));
      check();
    });
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitFor,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
