// The command line: parsing rules directly, then the real entry point in a child process
// (bad usage exits 2; a started server prints where to go, answers, and stops on SIGTERM).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openUrls, parseCliArgs } from '../../signaling/cli.ts';
import type { NetworkInterfaceInfo } from 'node:os';

describe('parseCliArgs', () => {
  it('defaults to port 8080 on every interface', () => {
    expect(parseCliArgs([], {})).toEqual({ kind: 'run', port: 8080, host: '0.0.0.0', staticDir: undefined, iceServers: [], iceTransportPolicy: 'all', turnRest: null });
  });

  it('takes PORT and HOST from the environment, and flags over them', () => {
    expect(parseCliArgs([], { PORT: '3000', HOST: '127.0.0.1' })).toMatchObject({ port: 3000, host: '127.0.0.1' });
    expect(parseCliArgs(['--port', '4000', '--host=::'], { PORT: '3000', HOST: '127.0.0.1' })).toMatchObject({ port: 4000, host: '::' });
    expect(parseCliArgs(['--port=0', '--static', 'build'], {})).toMatchObject({ port: 0, staticDir: 'build' });
  });

  it('takes ICE servers as JSON from --ice-servers or ICE_SERVERS, and names what is wrong with them', () => {
    const turn = [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }];
    expect(parseCliArgs(['--ice-servers', JSON.stringify(turn)], {})).toMatchObject({ kind: 'run', iceServers: turn });
    expect(parseCliArgs([], { ICE_SERVERS: '[{"urls":["stun:a:1","stun:b:2"]}]' })).toMatchObject({ iceServers: [{ urls: ['stun:a:1', 'stun:b:2'] }] });
    expect(parseCliArgs(['--ice-servers', 'stun:x'], {})).toMatchObject({ kind: 'error', message: expect.stringMatching(/^--ice-servers: ICE servers must be JSON/) });
    expect(parseCliArgs([], { ICE_SERVERS: '[{"urls":"http://x"}]' })).toMatchObject({ kind: 'error', message: expect.stringContaining('stun:, stuns:, turn: or turns:') });
  });

  it('asks for help', () => {
    expect(parseCliArgs(['--port', '1', '--help'], {})).toEqual({ kind: 'help' });
    expect(parseCliArgs(['-h'], {})).toEqual({ kind: 'help' });
  });

  it('names what is wrong with bad usage', () => {
    expect(parseCliArgs(['--prot', '1'], {})).toEqual({ kind: 'error', message: 'unknown option --prot' });
    expect(parseCliArgs(['serve'], {})).toEqual({ kind: 'error', message: 'unexpected argument serve' });
    expect(parseCliArgs(['--port'], {})).toEqual({ kind: 'error', message: '--port needs a value' });
    expect(parseCliArgs(['--static', '--port', '1'], {})).toEqual({ kind: 'error', message: '--static needs a value' });
    expect(parseCliArgs(['--port', '99999'], {})).toMatchObject({ kind: 'error', message: expect.stringContaining('0 to 65535') });
    expect(parseCliArgs(['--port', '-1'], {})).toMatchObject({ kind: 'error' });
    expect(parseCliArgs([], { PORT: 'eighty' })).toEqual({ kind: 'error', message: 'PORT must be a port number from 0 to 65535, got "eighty"' });
  });
});

describe('openUrls', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, scopeid: 0 }) as NetworkInterfaceInfo;
  const interfaces = {
    lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
    eth0: [nic('192.168.1.20', 'IPv4'), nic('fe80::1', 'IPv6'), nic('2001:db8::5', 'IPv6')],
    wlan0: [nic('10.0.0.7', 'IPv4')],
  };

  it('lists this machine, then every LAN address, when listening on all interfaces', () => {
    expect(openUrls('0.0.0.0', 8080, interfaces)).toEqual([
      'http://localhost:8080/',
      'http://192.168.1.20:8080/',
      'http://10.0.0.7:8080/',
    ]);
    expect(openUrls('::', 8080, interfaces)).toContain('http://[2001:db8::5]:8080/');
    expect(openUrls('::', 8080, interfaces).join()).not.toContain('fe80');
  });

  it('lists only the one address it listens on otherwise', () => {
    expect(openUrls('127.0.0.1', 9000, interfaces)).toEqual(['http://127.0.0.1:9000/']);
  });
});

describe('signaling/main.ts', () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  const run = (args: string[]) => {
    // One process (tsx as a loader), so SIGTERM reaches main.ts itself: the tsx command would relay
    // it from a parent process, which on a loaded machine can give up before it learns that the
    // child handles the signal (exit 143 instead of the graceful 0).
    child = spawn(process.execPath, ['--import', 'tsx', 'signaling/main.ts', ...args], { cwd: repo, env: { ...process.env, PORT: '', HOST: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    const output = () => ({ stdout, stderr });
    const waitFor = (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const m = stdout.match(pattern);
          if (m) resolve(m);
        };
        child?.stdout.on('data', check);
        void exited.then(() => reject(new Error(`exited before printing ${pattern}: ${stdout}${stderr}`)));
        check();
      });
    return { exited, output, waitFor };
  };

  it('exits 2 with the usage on stderr for a bad flag', async () => {
    const { exited, output } = run(['--bogus']);
    expect(await exited).toBe(2);
    expect(output().stderr).toContain('unknown option --bogus');
    expect(output().stderr).toContain('Usage:');
  }, 20_000);

  it('starts, prints the URL to open, answers /healthz, and exits 0 on SIGTERM', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tabmesh-empty-'));
    try {
      const { exited, output, waitFor } = run(['--port', '0', '--host', '127.0.0.1', '--static', empty]);
      const [, url] = await waitFor(/^ {2}(http:\/\/127\.0\.0\.1:\d+\/)$/m);
      expect(output().stderr).toContain('npm run build');
      const health = (await (await fetch(`${url}healthz`)).json()) as { ok: boolean };
      expect(health.ok).toBe(true);
      child?.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 20_000);
});
