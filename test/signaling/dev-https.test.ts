// `TABMESH_DEV_HTTPS=1 npm run dev`: a real Vite dev server with the signaling plugin serves
// HTTPS with the certificate `npm start` keeps in the data directory (so a device that accepted
// it once is not asked again), and signaling works over wss:// there.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViteDevServer } from 'vite';
import { devHttpsFromEnv, signalingDevPlugin } from '../../signaling/vite-plugin.ts';
import { loadOrMakeGeneratedTls } from '../../signaling/tls-files.ts';
import { certificateNames } from '../../signaling/tls-setup.ts';
import { TestClient } from './helpers.ts';
import { httpsGet } from './https-client.ts';
import { startDevServer } from './dev-server.ts';

let root: string;
let dataDir: string;
let vite: ViteDevServer;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tabmesh-vite-https-'));
  dataDir = join(root, 'data');
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>dev</title>');
  ({ vite, port } = await startDevServer(root, signalingDevPlugin({ env: { TABMESH_DEV_HTTPS: '1', TABMESH_DATA_DIR: dataDir } })));
}, 30_000);

afterAll(async () => {
  await vite?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the dev server with TABMESH_DEV_HTTPS=1', () => {
  it('serves HTTPS with the certificate npm start keeps, and npm start would reuse it', async () => {
    const cert = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    const page = await httpsGet(`https://127.0.0.1:${port}/`, cert);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>dev</title>');
    const names = certificateNames('0.0.0.0', networkInterfaces(), hostname());
    const reused = await loadOrMakeGeneratedTls(dataDir, names, Date.now());
    expect(reused.madeBecause).toBeNull();
    expect(page.fingerprint256).toBe(reused.material.fingerprint256);
  });

  it('runs signaling over wss:// and answers /config.json', async () => {
    const cert = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    const a = await TestClient.connect(`wss://127.0.0.1:${port}/signal`, { ca: cert });
    const b = await TestClient.connect(`wss://127.0.0.1:${port}/signal`, { ca: cert });
    await a.join('dev-tls');
    await b.join('dev-tls');
    await a.announced({ joined: [b.id] });
    a.close();
    b.close();
    expect(JSON.parse((await httpsGet(`https://127.0.0.1:${port}/config.json`, cert)).body)).toMatchObject({ iceServers: [] });
  });
});

describe('devHttpsFromEnv', () => {
  it('is off unless asked for, and names a bad value or a bad certificate', async () => {
    expect(await devHttpsFromEnv({})).toBeUndefined();
    expect(await devHttpsFromEnv({ TABMESH_DEV_HTTPS: '0' })).toBeUndefined();
    await expect(devHttpsFromEnv({ TABMESH_DEV_HTTPS: 'please' })).rejects.toThrow('TABMESH_DEV_HTTPS must be 1');
    const missing = join(root, 'missing.pem');
    await expect(devHttpsFromEnv({ TABMESH_DEV_HTTPS: '1', TABMESH_TLS_CERT: missing, TABMESH_TLS_KEY: missing })).rejects.toThrow(
      `${missing}: does not exist`,
    );
  });
});
