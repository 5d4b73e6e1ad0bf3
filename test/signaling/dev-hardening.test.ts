// `npm run dev` is hardened like `npm start`: every answer of the Vite dev server carries the
// security headers (the dev policy), and /signal refuses browser origins it was not configured
// for, exactly as the production server does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { signalingDevPlugin } from '../../signaling/vite-plugin.ts';
import { devContentSecurityPolicy, securityHeaders } from '../../signaling/headers.ts';
import { closeCodes } from '../../signaling/limits.ts';
import { TestClient } from './helpers.ts';

/** Per test: generous, for a machine under load (the waits inside have their own deadlines). */
const testTimeoutMs = 30_000;

let root: string;
let vite: ViteDevServer;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tabmesh-vite-hardening-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>dev</title><script type="module" src="/main.js"></script>');
  writeFileSync(join(root, 'main.js'), 'export const answer = 42;\n');
  vite = await createServer({
    configFile: false,
    root,
    logLevel: 'silent',
    plugins: [signalingDevPlugin()],
    server: { port: 0, host: '127.0.0.1', strictPort: false },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await vite.listen();
  port = (vite.httpServer?.address() as AddressInfo).port;
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
