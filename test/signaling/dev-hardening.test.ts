// `npm run dev` is hardened like `npm start`: every answer of the Vite dev server carries the
// security headers (the dev policy), and /signal refuses browser origins it was not configured
// for, exactly as the production server does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { signalingDevPlugin } from '../../signaling/vite-plugin.ts';
import { devContentSecurityPolicy, securityHeaders } from '../../signaling/headers.ts';
import { closeCodes } from '../../signaling/limits.ts';
import { turnCredentialFor } from '../../signaling/turn-credentials.ts';
import { TestClient } from './helpers.ts';
import { devServerConfig, startDevServer } from './dev-server.ts';

/** Per test: generous, for a machine under load (the waits inside have their own deadlines). */
const testTimeoutMs = 30_000;

let root: string;
let vite: ViteDevServer;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tabmesh-vite-hardening-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>dev</title><script type="module" src="/main.js"></script>');
  writeFileSync(join(root, 'main.js'), 'export const answer = 42;\n');
  ({ vite, port } = await startDevServer(root));
}, 30_000);

afterAll(async () => {
  await vite?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('dev server security headers', { timeout: testTimeoutMs }, () => {
  it.each(['/', '/main.js', '/@vite/client', '/healthz', '/config.json', '/no-such-file.js'])('%s carries every security header', async (path) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    expect(res.headers.get('content-security-policy')).toBe(devContentSecurityPolicy);
    for (const [name, value] of Object.entries(securityHeaders)) {
      if (name === 'Content-Security-Policy') continue;
      expect(res.headers.get(name), name).toBe(value);
    }
  });

  it('the dev policy forbids inline and foreign script, framing and plugins, and allows the HMR socket', () => {
    expect(devContentSecurityPolicy).toContain("script-src 'self'");
    expect(devContentSecurityPolicy).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    expect(devContentSecurityPolicy).toContain("frame-ancestors 'none'");
    expect(devContentSecurityPolicy).toContain("object-src 'none'");
    expect(devContentSecurityPolicy).toMatch(/connect-src[^;]*ws:/);
  });
});

describe('dev server origin check on /signal', { timeout: testTimeoutMs }, () => {
  const url = () => `ws://127.0.0.1:${port}/signal`;

  it('refuses a page from another site with origin-refused and a final close', async () => {
    const client = await TestClient.open(url(), { origin: 'https://evil.example' });
    expect(await client.nextError()).toMatchObject({ code: 'origin-refused', message: expect.stringContaining('https://evil.example') });
    expect((await client.closed).code).toBe(closeCodes.policy);
  });

  it('refuses the "null" origin of sandboxed frames and file: pages', async () => {
    const client = await TestClient.open(url(), { origin: 'null' });
    expect((await client.nextError()).code).toBe('origin-refused');
  });

  it("lets in the dev server's own pages, localhost pages and non-browser clients", async () => {
    for (const origin of [`http://127.0.0.1:${port}`, 'http://localhost:5173', undefined]) {
      const client = await TestClient.connect(url(), origin === undefined ? {} : { origin });
      expect(client.challenge.length).toBeGreaterThan(0);
      client.close();
    }
  });

  it('counts refused origins in /healthz', async () => {
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { refusals: Record<string, number> };
    expect(health.refusals['origin-refused']).toBeGreaterThanOrEqual(2);
  });
});

describe("the production server's environment in dev", { timeout: testTimeoutMs }, () => {
  const env = {
    ICE_TRANSPORT_POLICY: 'relay',
    ALLOWED_ORIGINS: 'https://mesh.example.org',
    TABMESH_TURN_URLS: 'turn:127.0.0.1:3478',
    TABMESH_TURN_SECRET: 'a-shared-static-auth-secret',
    TABMESH_TURN_TTL: '600',
  };
  let configured: ViteDevServer | undefined;
  let configuredPort = 0;

  beforeAll(async () => {
    Object.assign(process.env, env);
    try {
      ({ vite: configured, port: configuredPort } = await startDevServer(root, signalingDevPlugin(), { hmr: false }));
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
  }, 30_000);
  afterAll(async () => {
    await configured?.close();
  });

  it('hands out the relay policy and short-lived TURN credentials in /config.json', async () => {
    const config = (await (await fetch(`http://127.0.0.1:${configuredPort}/config.json`)).json()) as {
      iceTransportPolicy?: string;
      iceServers: Array<{ urls: string; username: string; credential: string }>;
    };
    expect(config.iceTransportPolicy).toBe('relay');
    const [turn] = config.iceServers;
    expect(turn?.urls).toBe('turn:127.0.0.1:3478');
    const expiry = Number(turn?.username.split(':')[0]);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(590);
    expect(turn?.credential).toBe(turnCredentialFor(env.TABMESH_TURN_SECRET, turn?.username ?? ''));
  });

  it('applies ALLOWED_ORIGINS to /signal: the listed origin is let in, localhost pages are not', async () => {
    const url = `ws://127.0.0.1:${configuredPort}/signal`;
    const listed = await TestClient.connect(url, { origin: 'https://mesh.example.org' });
    expect(listed.challenge.length).toBeGreaterThan(0);
    listed.close();
    const other = await TestClient.open(url, { origin: 'http://localhost:5173' });
    expect((await other.nextError()).code).toBe('origin-refused');
  });

  it('refuses to start on a bad variable, with its name and the reason', async () => {
    process.env['TABMESH_TURN_URLS'] = 'turn:x';
    try {
      await expect(createServer(devServerConfig(root, signalingDevPlugin(), { hmr: false }))).rejects.toThrow(/TABMESH_TURN_URLS needs --turn-secret/);
    } finally {
      delete process.env['TABMESH_TURN_URLS'];
    }
  });
});
