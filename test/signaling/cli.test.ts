// The command line: parsing rules directly, then the real entry point in a child process
// (bad usage exits 2; a started server prints where to go, answers, and stops on SIGTERM).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lanAddresses, openUrls, parseCliArgs } from '../../signaling/cli.ts';
import { defaultDataDir } from '../../signaling/server.ts';
import type { NetworkInterfaceInfo } from 'node:os';
import { runServer, type ServerProcess } from './server-process.ts';

describe('parseCliArgs', () => {
  it('defaults to port 8080 on every interface', () => {
    expect(parseCliArgs([], {})).toEqual({
      kind: 'run',
      port: 8080,
      host: '0.0.0.0',
      staticDir: undefined,
      iceServers: [],
      iceTransportPolicy: 'all',
      turnRest: null,
      dataDir: defaultDataDir,
      tls: { kind: 'generated' },
    });
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
    expect(parseCliArgs(['--ice-servers', 'stun:x'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^--ice-servers: ICE servers must be JSON/),
    });
    expect(parseCliArgs([], { ICE_SERVERS: '[{"urls":"http://x"}]' })).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('stun:, stuns:, turn: or turns:'),
    });
  });

  it('takes the data directory and the TLS choice from flags or the environment', () => {
    expect(parseCliArgs(['--data-dir', '/srv/tabmesh'], {})).toMatchObject({ dataDir: '/srv/tabmesh', tls: { kind: 'generated' } });
    expect(parseCliArgs([], { TABMESH_DATA_DIR: '/var/lib/tabmesh' })).toMatchObject({ dataDir: '/var/lib/tabmesh' });
    expect(parseCliArgs(['--data-dir=/a'], { TABMESH_DATA_DIR: '/b' })).toMatchObject({ dataDir: '/a' });
    expect(parseCliArgs(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {})).toMatchObject({ tls: { kind: 'supplied', certFile: 'c.pem', keyFile: 'k.pem' } });
    expect(parseCliArgs([], { TABMESH_TLS_CERT: 'c.pem', TABMESH_TLS_KEY: 'k.pem' })).toMatchObject({
      tls: { kind: 'supplied', certFile: 'c.pem', keyFile: 'k.pem' },
    });
    expect(parseCliArgs(['--tls-key', 'flag.pem'], { TABMESH_TLS_CERT: 'c.pem', TABMESH_TLS_KEY: 'k.pem' })).toMatchObject({
      tls: { kind: 'supplied', keyFile: 'flag.pem' },
    });
    expect(parseCliArgs(['--no-tls'], {})).toMatchObject({ tls: { kind: 'off' } });
    expect(parseCliArgs([], { TABMESH_NO_TLS: '1' })).toMatchObject({ tls: { kind: 'off' } });
    expect(parseCliArgs([], { TABMESH_NO_TLS: '0' })).toMatchObject({ tls: { kind: 'generated' } });
  });

  it('takes the cluster Redis from --redis or TABMESH_REDIS_URL, and names a bad URL', () => {
    expect(parseCliArgs([], {})).toMatchObject({ redisUrl: undefined });
    expect(parseCliArgs(['--redis', 'redis://127.0.0.1:6379'], {})).toMatchObject({ kind: 'run', redisUrl: 'redis://127.0.0.1:6379' });
    expect(parseCliArgs([], { TABMESH_REDIS_URL: 'rediss://:pw@cache.example.org:6380' })).toMatchObject({ redisUrl: 'rediss://:pw@cache.example.org:6380' });
    expect(parseCliArgs(['--redis=redis://a:1'], { TABMESH_REDIS_URL: 'redis://b:2' })).toMatchObject({ redisUrl: 'redis://a:1' });
    expect(parseCliArgs(['--redis', 'localhost:6379'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^--redis: the URL must start with redis:\/\/ or rediss:\/\//),
    });
    expect(parseCliArgs([], { TABMESH_REDIS_URL: 'not a url' })).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('TABMESH_REDIS_URL: "not a url" is not a URL'),
    });
  });

  it('names what is wrong with the TLS options', () => {
    expect(parseCliArgs(['--tls-cert', 'c.pem'], {})).toMatchObject({ kind: 'error', message: expect.stringContaining('--tls-cert needs --tls-key') });
    expect(parseCliArgs([], { TABMESH_TLS_KEY: 'k.pem' })).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('TABMESH_TLS_KEY needs --tls-cert'),
    });
    expect(parseCliArgs(['--no-tls', '--tls-cert', 'c', '--tls-key', 'k'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('choose one'),
    });
    expect(parseCliArgs([], { TABMESH_NO_TLS: 'maybe' })).toMatchObject({ kind: 'error', message: expect.stringContaining('TABMESH_NO_TLS must be 1') });
    expect(parseCliArgs(['--no-tls=1'], {})).toEqual({ kind: 'error', message: '--no-tls takes no value' });
    expect(parseCliArgs(['--data-dir'], {})).toEqual({ kind: 'error', message: '--data-dir needs a value' });
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

  it('lists this machine over http, then every LAN address over https, when listening on all interfaces', () => {
    expect(openUrls('0.0.0.0', 8080, interfaces, true)).toEqual({
      local: ['http://localhost:8080/'],
      lan: ['https://192.168.1.20:8080/', 'https://10.0.0.7:8080/'],
    });
    expect(openUrls('::', 8080, interfaces, true).lan).toContain('https://[2001:db8::5]:8080/');
    expect(openUrls('::', 8080, interfaces, true).lan.join()).not.toContain('fe80');
    expect(openUrls('0.0.0.0', 8080, interfaces, false).lan).toEqual(['http://192.168.1.20:8080/', 'http://10.0.0.7:8080/']);
  });

  it('lists only the one address it listens on otherwise', () => {
    expect(openUrls('127.0.0.1', 9000, interfaces, true)).toEqual({ local: ['http://127.0.0.1:9000/'], lan: [] });
    expect(openUrls('192.168.1.20', 9000, interfaces, true)).toEqual({ local: [], lan: ['https://192.168.1.20:9000/'] });
  });

  it('finds the LAN addresses: IPv6 only when listening on ::, never loopback or link-local', () => {
    expect(lanAddresses('0.0.0.0', interfaces)).toEqual(['192.168.1.20', '10.0.0.7']);
    expect(lanAddresses('::', interfaces)).toEqual(['192.168.1.20', '2001:db8::5', '10.0.0.7']);
    expect(lanAddresses('127.0.0.1', interfaces)).toEqual([]);
  });
});

describe('signaling/main.ts', () => {
  let server: ServerProcess | undefined;
  let dataDir = '';
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tabmesh-data-'));
  });
  afterEach(() => {
    server?.kill();
    server = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const run = (args: string[]) => (server = runServer([...args, '--data-dir', dataDir]));

  it('exits 2 with the usage on stderr for a bad flag', async () => {
    const { exited, output } = run(['--bogus']);
    expect(await exited).toBe(2);
    expect(output().stderr).toContain('unknown option --bogus');
    expect(output().stderr).toContain('Usage:');
  }, 20_000);

  it('starts, prints the URL to open, answers /healthz, and exits 0 on SIGTERM', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tabmesh-empty-'));
    try {
      const { exited, output, waitFor, child } = run(['--port', '0', '--host', '127.0.0.1', '--static', empty]);
      const [, url] = await waitFor(/^ {2}(http:\/\/127\.0\.0\.1:\d+\/)$/m);
      expect(output().stderr).toContain('npm run build');
      const health = (await (await fetch(`${url}healthz`)).json()) as { ok: boolean };
      expect(health.ok).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 20_000);
});
