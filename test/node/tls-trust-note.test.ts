// A Node peer given wss:// on a server with Tabmesh's own self-signed certificate: the real TLS
// error Node raises is recognised, and the note says how to trust the certificate.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { loadOrMakeGeneratedTls } from '../../signaling/tls-files.ts';
import { certificateProblemNote } from '../../src/node/tls-trust-note.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'tabmesh-tls-note-'));
let server: TabmeshServer | undefined;
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('certificateProblemNote', () => {
  it('explains the error a wss:// socket gets from a server with the generated certificate', async () => {
    const { material } = await loadOrMakeGeneratedTls(dataDir, { dns: ['localhost'], ips: ['127.0.0.1'] }, Date.now());
    server = createTabmeshServer({ port: 0, host: '127.0.0.1', tls: { cert: material.cert, key: material.key } });
    const { port } = await server.listen();
    const url = `wss://127.0.0.1:${port}/signal`;
    const error = await new Promise<unknown>((resolve) => {
      const socket = new WebSocket(url);
      socket.on('error', resolve);
      socket.on('open', () => resolve(new Error('the socket opened: the certificate was trusted after all')));
    });
    const note = certificateProblemNote(error, url);
    expect(note).toMatch(/not trusted by Node \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(note).toContain(url);
    expect(note).toContain('NODE_EXTRA_CA_CERTS=');
    expect(note).toContain('ws://');
  });

  it('says nothing of errors that are not about the certificate', () => {
    expect(certificateProblemNote(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'wss://x/signal')).toBeNull();
    expect(certificateProblemNote(null, 'wss://x/signal')).toBeNull();
    expect(certificateProblemNote(Object.assign(new Error('expired'), { code: 'CERT_HAS_EXPIRED' }), 'wss://x/signal')).toMatch(/expired/);
  });
});
