// The dev plugin on a real Vite dev server: signaling and /healthz on Vite's own port, and
// Vite's HMR WebSocket untouched beside it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViteDevServer } from 'vite';
import { WebSocket } from 'ws';
import { TestClient } from './helpers.ts';
import { startDevServer } from './dev-server.ts';

let root: string;
let vite: ViteDevServer;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tabmesh-vite-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>dev</title>');
  ({ vite, port } = await startDevServer(root));
}, 30_000);

afterAll(async () => {
  await vite?.close(); // idempotent; the last test closes it already
  rmSync(root, { recursive: true, force: true });
});

describe('signalingDevPlugin', () => {
  it('serves signaling at /signal on the dev server', async () => {
    const a = await TestClient.connect(`ws://127.0.0.1:${port}/signal`);
    const b = await TestClient.connect(`ws://127.0.0.1:${port}/signal`);
    await a.join('dev');
    await b.join('dev');
    await a.announced({ joined: [b.id] });
    b.send({ type: 'signal', to: a.id, data: { ok: true } });
    expect(await a.next()).toEqual({ type: 'signal', from: b.id, data: { ok: true } });
    a.close();
    b.close();
  });

  it('answers /healthz', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, rooms: expect.any(Number), connections: expect.any(Number) });
  });

  it("leaves Vite's HMR socket alone", async () => {
    const hmr = new WebSocket(`ws://127.0.0.1:${port}/`, 'vite-hmr');
    const first = await new Promise<string>((resolve, reject) => {
      hmr.once('message', (data) => resolve(String(data)));
      hmr.once('error', reject);
    });
    expect(JSON.parse(first)).toMatchObject({ type: 'connected' });
    hmr.close();
  });

  it('closes its sockets when the dev server closes', async () => {
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/signal`);
    await c.join('dev');
    await vite.close();
    expect((await c.closed).code).toBeGreaterThanOrEqual(1000);
  });
});
