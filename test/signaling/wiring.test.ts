// Issue 19's HTTP-side guards wired into `npm start`: the Host allowlist on every request and on
// /signal (DNS rebinding), /config.json and /healthz for GET and HEAD only, and the two flags.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../signaling/cli.ts';
import { startServer, TestClient, type Running } from './helpers.ts';

let running: Running | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
});

/** A GET with a chosen Host header (fetch does not let a caller set Host); the status line. */
function statusFor(url: string, host: string): Promise<string> {
  const { port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe('npm start, issue 19 wiring', () => {
  it('answers a rebound Host with 421 on every path and on /signal; its own names as before', async () => {
    running = await startServer();
    const port = new URL(running.httpUrl).port;
    for (const path of ['/', '/config.json', '/healthz']) {
      expect(await statusFor(`${running.httpUrl}${path}`, `attacker.example:${port}`)).toMatch(/^HTTP\/1\.1 421/);
      expect(await statusFor(`${running.httpUrl}${path}`, `localhost:${port}`)).not.toMatch(/421/);
    }
    await expect(TestClient.open(running.wsUrl, { headers: { Host: `attacker.example:${port}` }, origin: `http://attacker.example:${port}` })).rejects.toThrow(
      /421/,
    );
    const own = await TestClient.connect(running.wsUrl);
    await own.join('r');
    own.close();
    expect(running.server.stats().refusedHosts).toBe(1);
  });

  it('serves /config.json and /healthz to GET and HEAD only', async () => {
    running = await startServer();
    for (const path of ['/config.json', '/healthz']) {
      expect((await fetch(`${running.httpUrl}${path}`)).status).toBe(200);
      expect((await fetch(`${running.httpUrl}${path}`, { method: 'HEAD' })).status).toBe(200);
      const post = await fetch(`${running.httpUrl}${path}`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('takes --allowed-hosts and --trusted-proxies (or their variables), naming a bad entry', () => {
    const ok = parseCliArgs(['--allowed-hosts', 'mesh.example.org', '--trusted-proxies', '10.0.0.0/8'], {});
    expect(ok).toMatchObject({ kind: 'run', allowedHostNames: ['mesh.example.org'] });
    expect(ok.kind === 'run' && ok.trustedProxies?.has('10.1.2.3')).toBe(true);
    expect(parseCliArgs([], { TABMESH_ALLOWED_HOSTS: '.example.org' })).toMatchObject({ kind: 'run', allowedHostNames: ['.example.org'] });
    expect(parseCliArgs(['--trusted-proxies', 'proxy.example'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('--trusted-proxies: "proxy.example"'),
    });
    expect(parseCliArgs(['--allowed-hosts', 'https://x.example'], {})).toMatchObject({ kind: 'error', message: expect.stringContaining('--allowed-hosts') });
  });
});
