// Debian's coturn for tests: installed with apt-get when missing (root on Debian), started with
// everything on its command line, stopped by its pid. The TURN test runs it on loopback; the NAT
// lab runs it inside the lab's public namespace as the STUN and TURN server of "the internet".
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianProgram } from '../support/debian-package.ts';
import { freeTcpPort } from '../support/free-port.ts';

export const turnserverPath = '/usr/bin/turnserver';
/** How long coturn may take to open its listener. */
const coturnStartDeadlineMs = 15_000;

/** Debian's coturn, installed with apt-get when missing and we may (root on Debian); else a clear failure. */
export function ensureCoturn(): void {
  ensureDebianProgram({ executable: turnserverPath, debianPackage: 'coturn', neededBy: 'This test' });
}

export interface Coturn {
  process: ChildProcess;
  port: number;
  logFile: string;
  log(): string;
}

/** static: one user and password; rest: coturn's use-auth-secret with a shared secret. */
export type CoturnAuth = { kind: 'static'; user: string; password: string } | { kind: 'rest'; secret: string };

export interface CoturnOptions {
  auth: CoturnAuth;
  realm: string;
  /** Where it listens and relays from. Default 127.0.0.1. */
  ip?: string;
  /** Default: a free port on loopback. */
  port?: number;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
}

export async function startCoturn(dir: string, options: CoturnOptions): Promise<Coturn> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? (await freeTcpPort());
  const logFile = join(dir, 'turn.log');
  const { auth } = options;
  const args = [
    '-n', // no configuration file: everything is on this command line
    `--listening-ip=${ip}`,
    `--relay-ip=${ip}`,
    `--listening-port=${port}`,
    '--min-port=49160',
    '--max-port=49959',
    ...(auth.kind === 'static' ? ['--lt-cred-mech', `--user=${auth.user}:${auth.password}`] : ['--use-auth-secret', `--static-auth-secret=${auth.secret}`]),
    `--realm=${options.realm}`,
    '--fingerprint',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-multicast-peers',
    // Peers on this machine's loopback are relayed to loopback addresses: allowed there only.
    ...(ip.startsWith('127.') ? ['--allow-loopback-peers'] : []),
    '--verbose',
    '--simple-log',
    `--log-file=${logFile}`,
    `--pidfile=${join(dir, 'turn.pid')}`,
  ];
  const child = options.netns
    ? spawn('ip', ['netns', 'exec', options.netns, turnserverPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(turnserverPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + output;
  const deadline = Date.now() + coturnStartDeadlineMs;
  while (!/listener opened on|Total General servers/i.test(log())) {
    if (child.exitCode !== null) throw new Error(`turnserver exited with code ${child.exitCode}:\n${log().slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`turnserver did not open its listener within ${coturnStartDeadlineMs} ms:\n${log().slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { process: child, port, logFile, log };
}

/** Stops the coturn a test started, by its pid, and waits for it to go. */
export async function stopCoturn(coturn: Coturn | undefined): Promise<void> {
  if (!coturn || coturn.process.exitCode !== null) return;
  const exited = new Promise((resolve) => coturn.process.once('exit', resolve));
  coturn.process.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (coturn.process.exitCode === null) coturn.process.kill('SIGKILL');
}
