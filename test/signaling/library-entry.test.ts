// `tabmesh/server` (signaling/index.ts) on real servers over loopback: bad arguments are refused
// with a code, a server without `staticDir` serves signaling and health but no files, and
// attachSignaling adds signaling to an app's own HTTP server while its requests stay the app's.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { attachSignaling, createSignalingServer, SignalingServerError, type SignalingServerErrorCode } from '../../signaling/index.ts';
import { TestClient } from './helpers.ts';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

function refusal(call: () => unknown): SignalingServerErrorCode | null {
  try {
    call();
    return null;
  } catch (error) {
    if (!(error instanceof SignalingServerError)) throw error;
    return error.code;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('tabmesh/server', () => {
  it('refuses arguments that will not do, with a code naming which', () => {
    expect(refusal(() => createSignalingServer({ port: -1 }))).toBe('invalid-port');
    expect(refusal(() => createSignalingServer({ port: 1.5 }))).toBe('invalid-port');
    expect(refusal(() => createSignalingServer({ port: 70_000 }))).toBe('invalid-port');
    expect(refusal(() => createSignalingServer({ host: '' }))).toBe('invalid-host');
    expect(refusal(() => createSignalingServer({ staticDir: '' }))).toBe('invalid-static-dir');
    expect(refusal(() => createSignalingServer(null as never))).toBe('invalid-options');
    expect(refusal(() => attachSignaling({} as never))).toBe('invalid-server');
    expect(refusal(() => attachSignaling(null as never))).toBe('invalid-server');
    expect(refusal(() => attachSignaling(createServer(), 'x' as never))).toBe('invalid-options');
  });

  it('without staticDir serves signaling, /config.json and /healthz, and no files', async () => {
    const server = createSignalingServer({ port: 0, host: '127.0.0.1' });
    const { url } = await server.listen();
    cleanups.push(() => server.close());
    const page = await get(url);
    expect(page.status).toBe(404);
    expect(page.body).toContain('/signal');
    expect((await get(`${url}healthz`)).status).toBe(200);
    expect(JSON.parse((await get(`${url}config.json`)).body)).toHaveProperty('iceServers');
    const client = await TestClient.connect(`${url.replace('http', 'ws')}signal`);
    cleanups.push(async () => client.ws.close());
    expect(client.challenge.length).toBeGreaterThanOrEqual(16);
  });

  it('attachSignaling adds /signal to an app’s own HTTP server and leaves its requests to it', async () => {
    const app: Server = createServer((_req, res) => res.end('the app’s own page'));
    const signaling = attachSignaling(app, { allowedOrigins: () => true });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}/`;
    cleanups.push(async () => {
      await signaling.close();
      await new Promise<void>((resolve) => app.close(() => resolve()));
    });
    expect(await get(base)).toEqual({ status: 200, body: 'the app’s own page' });
    const client = await TestClient.connect(`${base.replace('http', 'ws')}signal`);
    cleanups.unshift(async () => client.ws.close());
    expect(signaling.stats().connections).toBe(1);
  });
});
