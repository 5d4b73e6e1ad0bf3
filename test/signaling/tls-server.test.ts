// HTTP and HTTPS on one port, on a real server over loopback: pages and signaling over both
// (one hub: a wss:// and a ws:// client meet in one room), plain page requests for a LAN host
// sent on to https, and bad input on raw sockets — a scanner's garbage after 0x16, a truncated
// hello, silence, plain garbage, resets — answered or closed, counted, and nobody else disturbed.
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../signaling/tls-generate.ts';
import { contentSecurityPolicy } from '../../signaling/headers.ts';
import { startServer, TestClient, waitDeadlineMs, type Running } from './helpers.ts';
import { httpsGet } from './https-client.ts';

/** Short, so the test sees the server drop a half handshake and a silent client. */
const handshakeTimeoutMs = 400;
const silentDeadlineMs = 400;

let staticDir: string;
let running: Running;
let port: number;
let cert: string;
const lanUrl = () => `https://lan-device.test:${port}/`;

beforeAll(async () => {
  staticDir = mkdtempSync(join(tmpdir(), 'tabmesh-tls-static-'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  const pair = await generateSelfSignedCertificate({ dns: ['localhost', 'lan-device.test'], ips: ['127.0.0.1', '::1'] }, Date.now());
  cert = pair.cert;
  const lanUrls: string[] = [];
  running = await startServer({ staticDir, tls: pair, lanUrls, tlsHandshakeTimeoutMs: handshakeTimeoutMs, firstByteDeadlineMs: silentDeadlineMs });
  port = Number(new URL(running.httpUrl).port);
  lanUrls.push(lanUrl());
});

afterAll(async () => {
  await running?.server.close();
  rmSync(staticDir, { recursive: true, force: true });
});

/** One plain-HTTP request with the Host header a browser would send for `host`. */
function plainGet(path: string, host: string): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes `bytes` on a raw socket and resolves with what came back once the server closed it. */
function rawExchange(bytes: Buffer | string, { end = false } = {}): Promise<{ reply: Buffer; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket open longer than ${waitDeadlineMs} ms`));
    }, waitDeadlineMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve({ reply: Buffer.concat(chunks), socket });
    });
    socket.on('connect', () => {
      if (bytes.length > 0) socket.write(bytes);
      if (end) socket.end();
    });
  });
}

async function health(): Promise<{
  ok: boolean;
  internalErrors: number;
  tls: { handshakeFailures: number; silentConnections: number; redirectsToHttps: number };
}> {
  return JSON.parse((await httpsGet(`https://127.0.0.1:${port}/healthz`, cert)).body);
}

describe('one port, two protocols', () => {
  it('serves the app over HTTPS, with the security headers, and over plain HTTP on loopback', async () => {
    const secure = await httpsGet(`https://127.0.0.1:${port}/`, cert);
    expect(secure.status).toBe(200);
    expect(secure.body).toContain('<title>app</title>');
    expect(secure.headers['content-security-policy']).toBe(contentSecurityPolicy);
    expect(secure.headers['permissions-policy']).not.toContain('bluetooth');
    // The certificate names lan-device.test: a device that trusts it verifies the name too.
    expect((await httpsGet(`https://127.0.0.1:${port}/`, cert, { servername: 'lan-device.test', headers: { Host: `lan-device.test:${port}` } })).status).toBe(
      200,
    );
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const plain = await plainGet('/', host);
      expect(plain.status, host).toBe(200);
      expect(plain.body).toContain('<title>app</title>');
    }
  });

  it('sends a plain page request for another host to the same host and port over https', async () => {
    const before = (await health()).tls.redirectsToHttps;
    const answer = await plainGet('/?room=kitchen', `lan-device.test:${port}`);
    expect(answer.status).toBe(308);
    expect(answer.location).toBe(`https://lan-device.test:${port}/?room=kitchen`);
    expect(answer.body).toContain(`href="https://lan-device.test:${port}/?room=kitchen"`);
    expect((await plainGet('/', `192.168.1.20:${port}`)).location).toBe(`https://192.168.1.20:${port}/`);
    expect((await health()).tls.redirectsToHttps).toBe(before + 2);
  });

  it('answers /healthz and /config.json on plain HTTP for any host (programs need no secure context)', async () => {
    expect((await plainGet('/healthz', `lan-device.test:${port}`)).status).toBe(200);
    const config = await plainGet('/config.json', `lan-device.test:${port}`);
    expect(config.status).toBe(200);
    expect(JSON.parse(config.body)).toEqual({ iceServers: [], lanUrls: [lanUrl()] });
  });

  it('refuses a Host header that is more than host and port', async () => {
    expect((await plainGet('/', `user@lan-device.test:${port}`)).status).toBe(400);
  });

  it('runs one signaling hub for both: a wss:// page and a ws:// program meet in one room', async () => {
    const origin = lanUrl().slice(0, -1);
    const secure = await TestClient.connect(`wss://127.0.0.1:${port}/signal`, { ca: cert, origin, headers: { Host: `lan-device.test:${port}` } });
    const plain = await TestClient.connect(`ws://127.0.0.1:${port}/signal`);
    const a = await secure.join('one-hub');
    await plain.join('one-hub');
    const plainId = plain.id;
    await secure.announced({ joined: [plainId] });
    expect(a.peers).toEqual([]);
    secure.close();
    plain.close();
  });

  it('refuses a wss:// socket from a page of another site', async () => {
    const client = await TestClient.open(`wss://127.0.0.1:${port}/signal`, { ca: cert, origin: 'https://evil.example' });
    expect((await client.nextError()).code).toBe('origin-refused');
  });
});

describe('bad input on the port', () => {
  it('closes a TLS handshake of garbage, counts it, and disturbs nobody', async () => {
    // A client that joined before the scanners came, and must still hear of newcomers after.
    const bystander = await TestClient.connect(`wss://127.0.0.1:${port}/signal`, { ca: cert });
    await bystander.join('bystanders');
    const before = (await health()).tls;

    // 0x16 then junk: not a TLS record at all.
    const junk = Buffer.concat([Buffer.from([0x16]), Buffer.from('GET / HTTP/1.1\r\n\r\n this is not TLS at all')]);
    const garbage = await rawExchange(junk);
    // A record header that promises 512 bytes of ClientHello, then a few bytes and silence.
    const truncated = await rawExchange(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    // Many at once, as a scanner sweeping the port would.
    const sweep = await Promise.all(Array.from({ length: 30 }, (_, i) => rawExchange(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x02, 0xff, i]))));
    expect(garbage.reply.length + truncated.reply.length).toBeLessThan(64); // an alert at most, never a page
    expect(sweep).toHaveLength(30);

    const after = (await health()).tls;
    expect(after.handshakeFailures).toBeGreaterThanOrEqual(before.handshakeFailures + 32);

    const newcomer = await TestClient.connect(`ws://127.0.0.1:${port}/signal`);
    await newcomer.join('bystanders');
    await bystander.announced({ joined: [newcomer.id] });
    expect((await health()).internalErrors).toBe(0);
    bystander.close();
    newcomer.close();
  });

  it('answers plain garbage with 400 and closes', async () => {
    const { reply } = await rawExchange('\x00\x01\x02 hello there\r\n\r\n');
    expect(reply.toString('latin1')).toMatch(/^HTTP\/1\.1 400 Bad Request/);
  });

  it('drops a connection that says nothing, and survives resets before and after the first byte', async () => {
    const before = (await health()).tls.silentConnections;
    await rawExchange(''); // resolves only once the server closes it
    expect((await health()).tls.silentConnections).toBe(before + 1);
    for (let i = 0; i < 10; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('connect', () => (i % 2 === 0 ? socket.resetAndDestroy() : socket.end(Buffer.from([0x16, 0x03]))));
    }
    // Still serving, over both protocols.
    expect((await httpsGet(`https://127.0.0.1:${port}/healthz`, cert)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
