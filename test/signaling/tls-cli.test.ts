// `npm start` with TLS, through the real entry point in a child process: the generated
// certificate is made once, served, printed by fingerprint, and reused on the next start; a
// supplied one is served; and every certificate, key or data directory that will not do stops
// start-up with exit code 2 and a line naming the file and the problem.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../signaling/tls-generate.ts';
import { runServer, type ServerProcess } from './server-process.ts';
import { httpsGet } from './https-client.ts';

const dayMs = 24 * 60 * 60 * 1000;
const loopbackNames = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };
/** Process start-up (tsx compiles on the fly) on a loaded 2-core machine. */
const processTestMs = 30_000;

let dir: string;
let server: ServerProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabmesh-tls-cli-'));
});
afterEach(() => {
  server?.kill();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const start = (args: string[], env: Record<string, string> = {}) =>
  (server = runServer(['--port', '0', '--host', '127.0.0.1', '--static', join(dir, 'no-app'), ...args], env));
const fingerprintLine = /^ {2}([0-9A-F]{2}(?::[0-9A-F]{2}){31})$/m;

/** Starts, expects exit code 2, returns stderr. */
async function refusal(args: string[], env: Record<string, string> = {}): Promise<string> {
  const running = start(args, env);
  const code = await running.exited;
  expect(code, running.output().stdout + running.output().stderr).toBe(2);
  expect(running.output().stdout).not.toContain('Tabmesh is running');
  return running.output().stderr;
}

describe('npm start with the generated certificate', () => {
  it(
    'makes it on first start, serves it over HTTPS on the same port, prints its fingerprint, and keeps it for the next start',
    async () => {
      const dataDir = join(dir, 'data');
      const first = start(['--data-dir', dataDir]);
      const [, port] = await first.waitFor(/^ {2}http:\/\/127\.0\.0\.1:(\d+)\/$/m);
      await first.waitFor(/Press Ctrl\+C/);
      const { stdout } = first.output();
      expect(stdout).toMatch(/TLS certificate: self-signed, made now \(first start: none stored yet\) in .*tls\/cert\.pem, valid until \d{4}-\d\d-\d\d\./);
      const printed = stdout.match(fingerprintLine)?.[1];
      const cert = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
      // The certificate names 127.0.0.1, so a client that trusts it verifies the whole chain.
      const answer = await httpsGet(`https://127.0.0.1:${port}/healthz`, cert);
      expect(answer.status).toBe(200);
      expect(answer.fingerprint256).toBe(printed);
      // Plain HTTP on the same port still answers this machine.
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      const second = start(['--data-dir', dataDir]);
      await second.waitFor(/Press Ctrl\+C/);
      expect(second.output().stdout).toMatch(/TLS certificate: self-signed, kept in /);
      expect(second.output().stdout.match(fingerprintLine)?.[1]).toBe(printed);
    },
    processTestMs,
  );

  it(
    'says which ICE servers pages get, and what none means for other networks, without printing credentials',
    async () => {
      const none = start(['--data-dir', dir, '--no-tls']);
      await none.waitFor(/Press Ctrl\+C/);
      expect(none.output().stdout).toContain('ICE servers for pages: none.');
      expect(none.output().stdout).toContain(
        'peers on other networks (behind different NATs) cannot link until you give them a TURN server:\n' +
          '--turn-urls with TABMESH_TURN_SECRET (coturn beside this server), or --ice-servers (see README, "Across networks")',
      );
      expect(none.output().stdout).not.toContain('TLS certificate');
      none.kill();

      const ice = JSON.stringify([{ urls: 'stun:stun.example.org:3478' }, { urls: ['turn:turn.example.org:3478'], username: 'alice', credential: 'hunter2' }]);
      const some = start(['--data-dir', dir, '--no-tls'], { ICE_SERVERS: ice });
      await some.waitFor(/Press Ctrl\+C/);
      expect(some.output().stdout).toContain('ICE servers for pages: stun:stun.example.org:3478, turn:turn.example.org:3478.');
      expect(some.output().stdout).not.toContain('hunter2');
    },
    processTestMs,
  );
});

describe('npm start with a supplied certificate', () => {
  it(
    'serves it and prints its file and fingerprint',
    async () => {
      const pair = await generateSelfSignedCertificate(loopbackNames, Date.now());
      const certFile = write('real.pem', pair.cert);
      const running = start(['--data-dir', join(dir, 'data')], { TABMESH_TLS_CERT: certFile, TABMESH_TLS_KEY: write('real.key', pair.key) });
      const [, port] = await running.waitFor(/^ {2}http:\/\/127\.0\.0\.1:(\d+)\/$/m);
      await running.waitFor(/Press Ctrl\+C/);
      expect(running.output().stdout).toContain(`TLS certificate: ${certFile} (valid until`);
      const answer = await httpsGet(`https://127.0.0.1:${port}/healthz`, pair.cert);
      expect(answer.fingerprint256).toBe(running.output().stdout.match(fingerprintLine)?.[1]);
    },
    processTestMs,
  );
});

describe('start-up refusals (exit code 2, a line naming the file and the problem)', () => {
  it(
    'a missing certificate file',
    async () => {
      const pair = await generateSelfSignedCertificate(loopbackNames, Date.now());
      const missing = join(dir, 'missing.pem');
      expect(await refusal(['--tls-cert', missing, '--tls-key', write('k.pem', pair.key)])).toBe(`error: ${missing}: does not exist\n`);
    },
    processTestMs,
  );

  it(
    'an unreadable key (a directory)',
    async () => {
      const pair = await generateSelfSignedCertificate(loopbackNames, Date.now());
      const keyDir = join(dir, 'key.pem');
      mkdirSync(keyDir);
      expect(await refusal(['--tls-cert', write('c.pem', pair.cert), '--tls-key', keyDir])).toBe(`error: ${keyDir}: is a directory, not a file\n`);
    },
    processTestMs,
  );

  it(
    'a key that does not match the certificate',
    async () => {
      const pair = await generateSelfSignedCertificate(loopbackNames, Date.now());
      const other = await generateSelfSignedCertificate(loopbackNames, Date.now());
      const cert = write('c.pem', pair.cert);
      const key = write('k.pem', other.key);
      expect(await refusal(['--tls-cert', cert, '--tls-key', key])).toBe(
        `error: ${key}: does not match the certificate in ${cert}: give the key the certificate was made for\n`,
      );
    },
    processTestMs,
  );

  it(
    'an expired certificate',
    async () => {
      const old = await generateSelfSignedCertificate(loopbackNames, Date.now() - 800 * dayMs);
      const cert = write('c.pem', old.cert);
      const stderr = await refusal([], { TABMESH_TLS_CERT: cert, TABMESH_TLS_KEY: write('k.pem', old.key) });
      expect(stderr).toMatch(new RegExp(`^error: ${cert}: the certificate expired on \\d{4}-\\d\\d-\\d\\dT[^ ]+; renew it`));
    },
    processTestMs,
  );

  it(
    'a data directory the generated certificate cannot be saved in',
    async () => {
      const notADir = write('data', 'a file, not a directory');
      expect(await refusal(['--data-dir', notADir])).toMatch(
        new RegExp(`^error: ${notADir}/tls: cannot save the generated certificate there \\(.*\\); pick a writable directory with --data-dir`),
      );
    },
    processTestMs,
  );
});
