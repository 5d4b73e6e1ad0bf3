// The HTTP side of `npm start`: /healthz, the built app with its SPA fallback, the page shown
// before a build, and upgrades anywhere but /signal.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { joinMany, startServer, TestClient, type Running } from './helpers.ts';

let dir: string;
let running: Running | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabmesh-static-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

function writeApp(root: string): void {
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Tabmesh</title><script src="/assets/app-1a2b.js"></script>');
  writeFileSync(join(root, 'assets', 'app-1a2b.js'), 'console.log("tabmesh")');
}

describe('GET /healthz', () => {
  it('answers JSON with rooms, connections, nodes, uptime and refusal counts', async () => {
    running = await startServer({ staticDir: join(dir, 'none') });
    const clients = await joinMany(running.wsUrl, 'a', 2);
    clients.push(...(await joinMany(running.wsUrl, 'b', 1)));
    const idle = await TestClient.connect(running.wsUrl);
    idle.send('not json');
    await idle.nextError();

    const res = await fetch(`${running.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, rooms: 2, connections: 4, nodes: 3 });
    expect(body.uptimeS).toBeTypeOf('number');
    expect(body.refusals).toMatchObject({ 'bad-json': 1, 'rate-limited': 0 });

    expect((await fetch(`${running.httpUrl}/healthz?probe=1`)).status).toBe(200);
    expect((await fetch(`${running.httpUrl}/healthz`, { method: 'POST' })).status).toBe(405);
    for (const c of [...clients, idle]) c.close();
  });
});

describe('GET /config.json', () => {
  it('hands pages the ICE servers the operator configured (none by default)', async () => {
    const plain = await startServer();
    const turn = [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }];
    const withTurn = await startServer({ iceServers: turn });
    try {
      expect(await (await fetch(`${plain.httpUrl}/config.json`)).json()).toEqual({ iceServers: [] });
      expect(await (await fetch(`${withTurn.httpUrl}/config.json`)).json()).toEqual({ iceServers: turn });
    } finally {
      await Promise.all([plain.server.close(), withTurn.server.close()]);
    }
  });
});

describe('static app', () => {
  it('serves files, falls back to index.html for app routes, and 404s missing files', async () => {
    const root = join(dir, 'built');
    writeApp(root);
    running = await startServer({ staticDir: root });

    const index = await fetch(`${running.httpUrl}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<title>Tabmesh</title>');

    const asset = await fetch(`${running.httpUrl}/assets/app-1a2b.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await asset.text()).toBe('console.log("tabmesh")');

    const route = await fetch(`${running.httpUrl}/rooms/lobby?room=x`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<title>Tabmesh</title>');

    expect((await fetch(`${running.httpUrl}/assets/missing-99.js`)).status).toBe(404);
    expect((await fetch(`${running.httpUrl}/`, { method: 'DELETE' })).status).toBe(405);
  });

  it('says to run npm run build while there is no build, and serves it once there is', async () => {
    const root = join(dir, 'later');
    running = await startServer({ staticDir: root });
    const before = await fetch(`${running.httpUrl}/`);
    expect(before.status).toBe(503);
    expect(await before.text()).toContain('npm run build');

    writeApp(root);
    const after = await fetch(`${running.httpUrl}/`);
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('<title>Tabmesh</title>');
  });
});

describe('WebSocket upgrades', () => {
  it('are taken at /signal only (a query string is fine); elsewhere the answer is 404', async () => {
    running = await startServer({ staticDir: join(dir, 'none') });
    const ok = await TestClient.connect(`${running.wsUrl}?room=lobby`);
    ok.close();
    const refused = new WebSocket(running.wsUrl.replace('/signal', '/other'));
    const status = await new Promise<number>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
    refused.terminate();
  });
});
