// Browser-test helpers for "another device on the LAN": the server with its generated
// certificate (as `npm start` makes it, in a temp data directory), a name that is not loopback
// (lan-device.test, mapped to 127.0.0.1 inside Chromium only), and Chromium flags that accept the
// certificate by its public-key hash — what a person does by accepting the warning once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrMakeGeneratedTls, type TlsMaterial } from '../../signaling/tls-files.ts';
import { startServer, type RunningServer } from './harness.ts';

/** Not loopback to the browser: plain HTTP here is no secure context. */
export const lanHost = 'lan-device.test';

export interface LanServer {
  server: RunningServer;
  port: number;
  /** https://lan-device.test:PORT/ — what the QR code carries. */
  lanUrl: string;
  /** http://localhost:PORT/ — this machine's own tabs. */
  localUrl: string;
  tls: TlsMaterial;
  /** Chromium flags: resolve lan-device.test to 127.0.0.1, accept this certificate. */
  browserArgs: string[];
  stop(): Promise<void>;
}

export async function startLanServer(): Promise<LanServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tabmesh-e2e-tls-'));
  const { material: tls } = await loadOrMakeGeneratedTls(dataDir, { dns: ['localhost', lanHost], ips: ['127.0.0.1', '::1'] }, Date.now());
  const lanUrls: string[] = [];
  const server = await startServer(0, { tls: { cert: tls.cert, key: tls.key }, lanUrls, certFingerprint: tls.fingerprint256 });
  const port = Number(new URL(server.url).port);
  const lanUrl = `https://${lanHost}:${port}/`;
  lanUrls.push(lanUrl); // as main.ts fills it once the port is known
  return {
    server,
    port,
    lanUrl,
    localUrl: `http://localhost:${port}/`,
    tls,
    browserArgs: [`--host-resolver-rules=MAP ${lanHost} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${tls.spkiSha256}`],
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
