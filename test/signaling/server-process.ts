// Test helper: the real `npm run serve` entry point (signaling/main.ts) as a child process,
// its output collected, with a wait for a line pattern (failing if the process exits first).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Variables of the server that must not leak in from the shell running the tests. */
const serverEnvNames = [
  'PORT',
  'HOST',
  'ICE_SERVERS',
  'ICE_TRANSPORT_POLICY',
  'ALLOWED_ORIGINS',
  'TABMESH_TURN_URLS',
  'TABMESH_TURN_SECRET',
  'TABMESH_TURN_TTL',
  'TABMESH_DATA_DIR',
  'TABMESH_TLS_CERT',
  'TABMESH_TLS_KEY',
  'TABMESH_NO_TLS',
];

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
  const cleared = Object.fromEntries(serverEnvNames.map((name) => [name, '']));
  // One process (tsx as a loader), so SIGTERM reaches main.ts itself: the tsx command would relay
  // it from a parent process, which on a loaded machine can give up before it learns that the
  // child handles the signal (exit 143 instead of the graceful 0).
  const child = spawn(process.execPath, ['--import', 'tsx', 'signaling/main.ts', ...args], { cwd: repo, env: { ...process.env, ...cleared, ...env } });
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
