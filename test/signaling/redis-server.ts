// Test helper: Debian's redis-server on 127.0.0.1, started by the test on a free port with no
// persistence (so a restart really loses everything, as a crashed Redis without disk would).
// Installed with apt when missing, as the TURN test installs coturn; otherwise the test fails
// with what to install — never skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { ensureDebianProgram } from '../support/debian-package.ts';
import { freeTcpPort } from '../support/free-port.ts';

export { freeTcpPort };

export const redisServerPath = '/usr/bin/redis-server';
/** How long to wait for redis-server to take connections (a deadline, not a sleep). */
const startDeadlineMs = 10_000;

export function ensureRedis(): void {
  ensureDebianProgram({ executable: redisServerPath, debianPackage: 'redis-server', neededBy: 'The cluster tests' });
}

export interface TestRedis {
  url: string;
  port: number;
  /** SIGKILL, then wait for the exit. */
  stop(): Promise<void>;
  /** Starts again on the same port, empty. */
  start(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  ensureRedis();
  const port = await freeTcpPort();
  let child: ChildProcess | null = null;
  let output = '';
  const start = async (): Promise<void> => {
    output = '';
    const proc = spawn(
      redisServerPath,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (d) => (output += String(d)));
    proc.stderr?.on('data', (d) => (output += String(d)));
    child = proc;
    const deadline = Date.now() + startDeadlineMs;
    while (!(await answersPing(port))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${startDeadlineMs} ms: ${output}`);
      await new Promise((r) => setTimeout(r, 50)); // polling a condition with a deadline
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: async () => {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** One PING over a plain socket: whether redis-server takes connections yet. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(String(d).startsWith('+PONG')));
  });
}
