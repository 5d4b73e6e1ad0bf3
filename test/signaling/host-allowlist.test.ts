// Issue 19, DNS rebinding: a request is served only under a Host this server is known by. The
// policy is pure; the signaling socket applies it itself (hub.ts), and the HTTP side through
// http-guards.ts (wired in server.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hostPolicy, parseAllowedHosts } from '../../signaling/host-allowlist.ts';
import { refuseMisdirectedHost, refuseUnlessReadOnly } from '../../signaling/http-guards.ts';
import { startServer, TestClient, type Running } from './helpers.ts';

const lan = { eth0: [{ address: '192.168.1.20', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }] } as never;

describe('host policy', () => {
  it('by default answers to localhost, loopback and this machine’s addresses, with any port, and to nothing else', () => {
    const policy = hostPolicy({ listenHost: '0.0.0.0', interfaces: lan });
    for (const host of ['localhost:8080', 'localhost', 'app.localhost:5173', '127.0.0.1:8080', '127.3.4.5', '[::1]:8080', '192.168.1.20:8080', 'LOCALHOST.']) {
      expect(policy(host), host).toBe(true);
    }
    for (const host of ['attacker.example', 'attacker.example:8080', 'localhost.attacker.example', '192.168.1.21', '', 'a b', '[::2]:80']) {
      expect(policy(host), host).toBe(false);
    }
    // No Host at all: not a browser (a browser always sends one).
    expect(policy(undefined)).toBe(true);
  });

  it('reads the interfaces again for an address it has not seen, at most once a second', () => {
    let interfaces = {};
    let reads = 0;
    let t = 0;
    const policy = hostPolicy({ listenHost: '0.0.0.0', interfaces: () => (reads++, interfaces), now: () => t });
    expect(policy('192.168.1.20')).toBe(false);
    interfaces = lan; // an address that came up after the start
    expect(policy('192.168.1.20')).toBe(false); // too soon to read again
    t += 1_000;
    expect(policy('192.168.1.20')).toBe(true);
    const before = reads;
    for (let i = 0; i < 100; i++) policy('198.51.100.1');
    expect(reads - before).toBeLessThanOrEqual(1);
  });

  it('listening on one address, answers to that one, not to the machine’s others', () => {
    const policy = hostPolicy({ listenHost: '127.0.0.1', interfaces: lan });
    expect(policy('127.0.0.1:1')).toBe(true);
    expect(policy('192.168.1.20:8080')).toBe(false);
  });

  it('adds configured names and domains; * allows any host', () => {
    const parsed = parseAllowedHosts('mesh.example.org, .lab.example.org');
    if (!parsed.ok) throw new Error(parsed.error);
    const policy = hostPolicy({ listenHost: '0.0.0.0', interfaces: {}, allowed: parsed.value });
    expect(policy('mesh.example.org:443')).toBe(true);
    expect(policy('a.lab.example.org')).toBe(true);
    expect(policy('lab.example.org')).toBe(true);
    expect(policy('evil-lab.example.org')).toBe(false);
    expect(policy('other.example.org')).toBe(false);
    expect(hostPolicy({ listenHost: '0.0.0.0', interfaces: {}, allowed: ['*'] })('anything.example')).toBe(true);
    // Names as a URL gives them (new URL(lanUrl).hostname), IPv6 in brackets.
    const fromUrls = hostPolicy({ listenHost: '127.0.0.1', interfaces: {}, allowed: ['lan-device.test', '[fd00::5]'] });
    expect(fromUrls('lan-device.test:8443')).toBe(true);
    expect(fromUrls('[fd00::5]:8443')).toBe(true);
    // Names learnt after the start (the LAN URLs, once the port is known).
    const lanUrls: string[] = [];
    const later = hostPolicy({ listenHost: '127.0.0.1', interfaces: {}, laterNames: () => lanUrls.map((url) => new URL(url).hostname) });
    expect(later('lan-device.test:8443')).toBe(false);
    lanUrls.push('https://lan-device.test:8443/');
    expect(later('lan-device.test:8443')).toBe(true);
  });

  it('refuses a list that is not host names, with the bad entry named', () => {
    expect(parseAllowedHosts('https://mesh.example.org')).toMatchObject({ ok: false, error: expect.stringContaining('https://mesh.example.org') });
    expect(parseAllowedHosts('mesh.example.org:8080')).toMatchObject({ ok: false });
    expect(parseAllowedHosts(' , ')).toMatchObject({ ok: false, error: 'name at least one host' });
  });
});

describe('on the wire', () => {
  let running: Running | undefined;
  let plain: Server | undefined;
  afterEach(async () => {
    await running?.server.close();
    running = undefined;
    await new Promise<void>((resolve) => (plain ? plain.close(() => resolve()) : resolve()));
    plain = undefined;
  });

  it('refuses a signaling upgrade for a rebound name with 421, even from a "same-origin" page', async () => {
    running = await startServer({ allowedHosts: hostPolicy({ listenHost: '127.0.0.1', interfaces: {} }) });
    const rebound = { headers: { Host: 'attacker.example:8080' }, origin: 'http://attacker.example:8080' };
    await expect(TestClient.open(running.wsUrl, rebound)).rejects.toThrow(/421/);
    expect(running.server.stats().refusedHosts).toBe(1);
    const own = await TestClient.connect(running.wsUrl);
    await own.join('r');
    own.close();
  });

  it('the HTTP guards answer 421 for a rebound Host and 405 for methods other than GET and HEAD', async () => {
    const policy = hostPolicy({ listenHost: '127.0.0.1', interfaces: {} });
    plain = createServer((req, res) => {
      if (refuseMisdirectedHost(policy, req, res) || refuseUnlessReadOnly(req, res)) return;
      res.end('ok');
    });
    await new Promise<void>((resolve) => plain?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/config.json`;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const rebound = await rawGet(url, 'attacker.example');
    expect(rebound).toMatch(/^HTTP\/1\.1 421/);
  });
});

/** A GET with a chosen Host header (fetch does not let a caller set Host). */
async function rawGet(url: string, host: string): Promise<string> {
  const { port, pathname } = new URL(url);
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}
