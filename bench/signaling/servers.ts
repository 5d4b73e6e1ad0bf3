// The servers under test, as child processes of the bench, so that CPU and memory are measured
// per server process (from /proc) and never mixed with the simulated clients' own work:
//   - one `signaling/main.ts` process (the default, embedded single process), or
//   - three of them started with `--redis URL`, sharing a `redis-server` the bench starts on
//     loopback with persistence off.
// Everything listens on 127.0.0.1 only; only processes started here are ever signalled.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearedServerEnv, runServer } from '../../test/signaling/server-process.ts';
import { freeTcpPort } from '../../test/support/free-port.ts';
import type { SignalingStats } from '../../signaling/hub.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** How long a server process may take to print its URL (tsx compiles on first start). */
const startDeadlineMs = 30_000;
/** How long a process gets to exit after SIGTERM before it is killed. */
const stopGraceMs = 3_000;
/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on Linux everywhere we run). */
const clockTicksPerS = readClockTicks();

/** CPU time (user + system) and memory of one process, read from /proc. */
export interface ProcSample {
  cpuS: number;
  rssBytes: number;
  /** Peak RSS since the start or the last resetPeak(). */
  peakRssBytes: number;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN) * 1024;
    return { cpuS: ticks / clockTicksPerS, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return null; // the process is gone
  }
}

/** Resets the kernel's peak-RSS mark (VmHWM) of a process we own, so a phase's own peak can be read. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not allowed here: the sampled RSS (Monitor) still gives a peak, only coarser.
  }
}

export interface SignalingProcess {
  pid: number;
  port: number;
  /** ws://127.0.0.1:PORT/signal */
  wsUrl: string;
  health(): Promise<SignalingStats>;
  stop(): Promise<void>;
  output(): { stdout: string; stderr: string };
}

/** Starts `signaling/main.ts` on 127.0.0.1 and a free port; resolves once it prints its URL. */
export async function startSignaling(extraArgs: string[] = []): Promise<SignalingProcess> {
  const proc = runServer(['--no-tls', '--host', '127.0.0.1', '--port', '0', ...extraArgs]);
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error('could not start signaling/main.ts');
  let port: number;
  try {
    const match = await withDeadline(proc.waitFor(/http:\/\/127\.0\.0\.1:(\d+)\//), startDeadlineMs, 'signaling/main.ts did not print its URL');
    port = Number(match[1]);
  } catch (err) {
    proc.kill();
    const { stdout, stderr } = proc.output();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${stdout}${stderr}`.slice(0, 4_000), { cause: err });
  }
  const httpUrl = `http://127.0.0.1:${port}`;
  return {
    pid,
    port,
    wsUrl: `ws://127.0.0.1:${port}/signal`,
    health: async () => (await (await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()) as SignalingStats,
    stop: () => stopProcess(proc.child, proc.exited),
    output: () => proc.output(),
  };
}

/** Whether this checkout's server knows `--redis` (the cluster mode needs it). */
export function serverHasRedisFlag(): boolean {
  const help = execFileSync(process.execPath, ['--import', 'tsx', 'signaling/main.ts', '--help'], {
    cwd: repo,
    env: { ...process.env, ...clearedServerEnv },
    encoding: 'utf8',
    timeout: startDeadlineMs,
  });
  return /--redis\b/.test(help);
}

export interface RedisProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts Debian's redis-server on loopback: no snapshots, no append-only file, a scratch directory. */
export async function startRedis(): Promise<RedisProcess> {
  const port = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), 'tabmesh-bench-redis-'));
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (err) {
    throw new Error(`cannot start redis-server (install it: apt-get install redis-server): ${String(err)}`, { cause: err });
  }
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`cannot start redis-server (install it: apt-get install redis-server): ${err.message}`)));
    child.stdout?.on('data', (d) => {
      output += String(d);
      if (/Ready to accept connections/.test(output)) resolve();
    });
    child.stderr?.on('data', (d) => (output += String(d)));
    void exited.then((code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output.slice(-2_000)}`)));
  });
  await withDeadline(ready, startDeadlineMs, 'redis-server did not get ready');
  return {
    pid: child.pid as number,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await stopProcess(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), delay(stopGraceMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Samples processes every `intervalMs` and keeps the peak RSS of each, as a cross-check of VmHWM. */
export class Monitor {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: readonly number[],
    intervalMs = 200,
  ) {
    for (const pid of pids) resetPeak(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    for (const pid of this.pids) {
      const s = sampleProc(pid);
      if (s) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, s.rssBytes, s.peakRssBytes));
    }
  }

  /** Stops sampling; the peak RSS of each process since the monitor started. */
  stop(): Map<number, number> {
    clearInterval(this.timer);
    this.sample();
    return this.peaks;
  }
}

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
