// Issue 9, hardening: every HTTP response carries the security headers (a CSP that allows no
// inline script), and signaling sockets are refused for page origins the server was not
// configured for — by default this server's own pages and pages on localhost only.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy, securityHeaders } from '../../signaling/headers.ts';
import { normalisedOrigin, originPolicy, parseAllowedOrigins } from '../../signaling/origins.ts';
import { parseCliArgs } from '../../signaling/cli.ts';
import { serverPerTest, TestClient, type Running } from './helpers.ts';

let dir: string;
const { clients, start } = serverPerTest();
let running: Running | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabmesh-security-'));
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Tabmesh</title><script type="module" src="/assets/app-1a2b.js"></script>');
  writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log("tabmesh")');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('security headers', () => {
  it('are on the app, its assets, the SPA fallback, /config.json, /healthz, 404s, 405s and the not-built page', async () => {
    running = await start({ staticDir: dir });
    const notBuilt = await start({ staticDir: join(dir, 'missing') });
    try {
      const responses = await Promise.all([
        fetch(`${running.httpUrl}/`),
        fetch(`${running.httpUrl}/assets/app-1a2b.js`),
        fetch(`${running.httpUrl}/some/app/route`),
        fetch(`${running.httpUrl}/config.json`),
        fetch(`${running.httpUrl}/healthz`),
        fetch(`${running.httpUrl}/assets/missing.js`),
        fetch(`${running.httpUrl}/`, { method: 'POST' }),
        fetch(`${notBuilt.httpUrl}/`),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404, 405, 503]);
      for (const res of responses) {
        for (const [name, value] of Object.entries(securityHeaders)) expect(res.headers.get(name), `${res.url} ${name}`).toBe(value);
      }
    } finally {
      await notBuilt.server.close();
    }
  });

  it('the CSP forbids inline and foreign script and framing, and allows what the built app needs', () => {
    const directives = new Map(contentSecurityPolicy.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('worker-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'", 'ws:', 'wss:']);
    expect(contentSecurityPolicy).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    expect(securityHeaders['X-Frame-Options']).toBe('DENY');
    expect(securityHeaders['X-Content-Type-Options']).toBe('nosniff');
  });
});

describe('origin check', () => {
  it('by default lets in pages this server served, pages on localhost and clients that send no Origin; refuses others', async () => {
    running = await start();
    const { wsUrl, server } = running;
    const port = new URL(wsUrl).port;
    for (const origin of [`http://127.0.0.1:${port}`, 'http://localhost:5173', 'http://127.0.0.1:9999', 'http://[::1]:8080', undefined]) {
      const client = await TestClient.connect(wsUrl, origin === undefined ? {} : { origin });
      clients.push(client);
      await client.join('r');
    }
    for (const origin of ['http://evil.example', 'https://localhost.evil.example', 'null', `http://192.168.1.5:${port}`]) {
      const bad = await TestClient.open(wsUrl, { origin });
      clients.push(bad);
      expect(await bad.nextError()).toMatchObject({ code: 'origin-refused' });
      expect((await bad.closed).code).toBe(1008);
    }
    expect(server.stats().refusals['origin-refused']).toBe(4);
  });

  it("with a list, lets in the listed origins and the server's own pages, and no longer all of localhost", async () => {
    running = await start({ allowedOrigins: ['https://mesh.example.org'] });
    const { wsUrl } = running;
    const port = new URL(wsUrl).port;
    for (const origin of ['https://mesh.example.org', `http://127.0.0.1:${port}`]) {
      const client = await TestClient.connect(wsUrl, { origin });
      clients.push(client);
      await client.join('r');
    }
    const bad = await TestClient.open(wsUrl, { origin: 'http://localhost:5173' });
    clients.push(bad);
    expect(await bad.nextError()).toMatchObject({ code: 'origin-refused', message: expect.stringContaining('localhost:5173') });
  });

  it('* lets everyone in', () => {
    expect(originPolicy(['*'])('https://anything.example')).toBe(true);
  });

  it('normalises origins and refuses what is not one', () => {
    expect(normalisedOrigin('HTTPS://Mesh.Example.org:443')).toBe('https://mesh.example.org');
    expect(normalisedOrigin('http://localhost:8080')).toBe('http://localhost:8080');
    for (const bad of ['null', 'file:///x', 'http://a.example/path', 'http://a.example/', 'http://u:p@a.example', 'not a url', '']) {
      expect(normalisedOrigin(bad), bad).toBeNull();
    }
  });
});

describe('--allowed-origins / ALLOWED_ORIGINS and --ice-transport-policy', () => {
  it('parse lists, refuse what is not an origin, and flags beat the environment', () => {
    expect(parseAllowedOrigins(' https://a.example , http://b.example:8080 ')).toEqual({ ok: true, value: ['https://a.example', 'http://b.example:8080'] });
    expect(parseAllowedOrigins('*')).toEqual({ ok: true, value: ['*'] });
    expect(parseAllowedOrigins('https://a.example/app').ok).toBe(false);
    expect(parseAllowedOrigins(',').ok).toBe(false);
    expect(parseCliArgs(['--allowed-origins', 'https://a.example'], { ALLOWED_ORIGINS: 'https://b.example' })).toMatchObject({
      kind: 'run',
      allowedOrigins: ['https://a.example'],
    });
    expect(parseCliArgs([], { ALLOWED_ORIGINS: 'https://b.example' })).toMatchObject({ kind: 'run', allowedOrigins: ['https://b.example'] });
    expect(parseCliArgs([], {})).toMatchObject({ kind: 'run', allowedOrigins: undefined, iceTransportPolicy: 'all' });
    const bad = parseCliArgs(['--allowed-origins=ftp://x.example'], {});
    expect(bad).toMatchObject({ kind: 'error', message: expect.stringContaining('--allowed-origins') });
    expect(parseCliArgs(['--ice-transport-policy', 'relay'], {})).toMatchObject({ kind: 'run', iceTransportPolicy: 'relay' });
    expect(parseCliArgs([], { ICE_TRANSPORT_POLICY: 'relay' })).toMatchObject({ kind: 'run', iceTransportPolicy: 'relay' });
    expect(parseCliArgs(['--ice-transport-policy', 'direct'], {})).toMatchObject({ kind: 'error', message: expect.stringContaining('relay') });
  });

  it('/config.json carries the relay policy only when set', async () => {
    running = await start({ iceTransportPolicy: 'relay', iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }] });
    expect(await (await fetch(`${running.httpUrl}/config.json`)).json()).toMatchObject({ iceTransportPolicy: 'relay' });
  });
});
