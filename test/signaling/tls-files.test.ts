// The certificate the server speaks TLS with: the generated one is made once and reused, and
// made again when it expires, stops naming an address, or is damaged; a supplied one is checked
// and every problem names its file. Real certificates, real files in temp directories.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrMakeGeneratedTls, loadSuppliedTls, TlsFileError } from '../../signaling/tls-files.ts';
import { generateSelfSignedCertificate, generatedCertValidityDays } from '../../signaling/tls-generate.ts';
import { certificateNames } from '../../signaling/tls-setup.ts';
import type { NetworkInterfaceInfo } from 'node:os';

const dayMs = 24 * 60 * 60 * 1000;
const now = Date.UTC(2026, 11, 6, 12, 0, 0);
const names = { dns: ['localhost', 'box', 'box.local'], ips: ['127.0.0.1', '::1', '192.168.1.20'] };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tabmesh-tls-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const problemOf = (fn: () => unknown): { file: string; problem: string } => {
  try {
    fn();
  } catch (err) {
    if (err instanceof TlsFileError) return { file: err.file, problem: err.problem };
    throw err;
  }
  throw new Error('expected a TlsFileError');
};

describe('the generated certificate', () => {
  it('is made on first start for every name, with the key readable by its owner only', async () => {
    const first = await loadOrMakeGeneratedTls(dir, names, now);
    expect(first.madeBecause).toMatch(/first start/);
    const cert = new X509Certificate(readFileSync(join(dir, 'tls', 'cert.pem')));
    for (const name of names.dns) expect(cert.checkHost(name), name).toBe(name);
    for (const ip of names.ips) expect(cert.checkIP(ip), ip).toBe(ip);
    expect(cert.fingerprint256).toBe(first.material.fingerprint256);
    expect(new Date(cert.validTo).getTime()).toBe(Math.floor((now + generatedCertValidityDays * dayMs) / 1000) * 1000);
    expect(cert.ca).toBe(false);
    const keyMode = (await import('node:fs')).statSync(join(dir, 'tls', 'key.pem')).mode & 0o777;
    expect(keyMode).toBe(0o600);
  });

  it('is reused on later starts: same certificate, same fingerprint', async () => {
    const first = await loadOrMakeGeneratedTls(dir, names, now);
    const later = await loadOrMakeGeneratedTls(dir, names, now + 100 * dayMs);
    expect(later.madeBecause).toBeNull();
    expect(later.material.fingerprint256).toBe(first.material.fingerprint256);
    expect(later.material.key).toBe(first.material.key);
  });

  it('is made again when it has expired or is about to', async () => {
    const first = await loadOrMakeGeneratedTls(dir, names, now);
    const expired = await loadOrMakeGeneratedTls(dir, names, now + (generatedCertValidityDays + 1) * dayMs);
    expect(expired.madeBecause).toMatch(/expires on/);
    expect(expired.material.fingerprint256).not.toBe(first.material.fingerprint256);
    const again = await loadOrMakeGeneratedTls(dir, names, now + (2 * generatedCertValidityDays - 10) * dayMs);
    expect(again.madeBecause).toMatch(/expires on/);
  });

  it('is made again when the machine has an address it does not name', async () => {
    await loadOrMakeGeneratedTls(dir, names, now);
    const moved = await loadOrMakeGeneratedTls(dir, { ...names, ips: [...names.ips, '10.0.0.7'] }, now);
    expect(moved.madeBecause).toBe('the stored one does not name 10.0.0.7');
    expect(new X509Certificate(moved.material.cert).checkIP('10.0.0.7')).toBe('10.0.0.7');
  });

  it('is made again when the stored files are damaged or do not belong together', async () => {
    await loadOrMakeGeneratedTls(dir, names, now);
    writeFileSync(join(dir, 'tls', 'cert.pem'), 'not a certificate');
    expect((await loadOrMakeGeneratedTls(dir, names, now)).madeBecause).toMatch(/unusable.*not a PEM certificate/);
    const other = await generateSelfSignedCertificate(names, now);
    writeFileSync(join(dir, 'tls', 'key.pem'), other.key);
    expect((await loadOrMakeGeneratedTls(dir, names, now)).madeBecause).toMatch(/unusable.*does not match/);
  });

  it('refuses a data directory it cannot write, naming it', async () => {
    const blocked = join(dir, 'file');
    writeFileSync(blocked, 'a file where the data directory should be');
    await expect(loadOrMakeGeneratedTls(blocked, names, now)).rejects.toMatchObject({
      file: join(blocked, 'tls'),
      problem: expect.stringContaining('--data-dir'),
    });
  });
});

describe('a supplied certificate', () => {
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('is served when it is good', async () => {
    const pair = await generateSelfSignedCertificate(names, now);
    const material = loadSuppliedTls(write('c.pem', pair.cert), write('k.pem', pair.key), now);
    expect(material.fingerprint256).toBe(new X509Certificate(pair.cert).fingerprint256);
    expect(material.spkiSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // A full chain (leaf first, as CAs and mkcert hand it out) is checked by its leaf.
    const issuer = await generateSelfSignedCertificate({ dns: ['issuer.test'], ips: [] }, now);
    const chained = loadSuppliedTls(write('full.pem', pair.cert + issuer.cert), write('k2.pem', pair.key), now);
    expect(chained.fingerprint256).toBe(material.fingerprint256);
  });

  it('refuses a missing or unreadable file, naming it', async () => {
    const pair = await generateSelfSignedCertificate(names, now);
    const key = write('k.pem', pair.key);
    expect(problemOf(() => loadSuppliedTls(join(dir, 'nope.pem'), key, now))).toEqual({ file: join(dir, 'nope.pem'), problem: 'does not exist' });
    mkdirSync(join(dir, 'a-dir'));
    expect(problemOf(() => loadSuppliedTls(write('c.pem', pair.cert), join(dir, 'a-dir'), now))).toEqual({
      file: join(dir, 'a-dir'),
      problem: 'is a directory, not a file',
    });
  });

  it('refuses files that are not a certificate or a key', async () => {
    const pair = await generateSelfSignedCertificate(names, now);
    expect(problemOf(() => loadSuppliedTls(write('c.pem', pair.key), write('k.pem', pair.key), now)).problem).toMatch(/not a PEM certificate/);
    expect(problemOf(() => loadSuppliedTls(write('c.pem', pair.cert), write('k.pem', pair.cert), now))).toMatchObject({
      file: join(dir, 'k.pem'),
      problem: expect.stringMatching(/not a PEM private key/),
    });
  });

  it('refuses an encrypted key, saying how to decrypt it', async () => {
    const pair = await generateSelfSignedCertificate(names, now);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    expect(problemOf(() => loadSuppliedTls(write('c.pem', pair.cert), write('k.pem', encrypted), now)).problem).toMatch(/encrypted private key.*openssl pkey/);
  });

  it('refuses a key that does not match the certificate', async () => {
    const pair = await generateSelfSignedCertificate(names, now);
    const other = await generateSelfSignedCertificate(names, now);
    const cert = write('c.pem', pair.cert);
    expect(problemOf(() => loadSuppliedTls(cert, write('k.pem', other.key), now))).toEqual({
      file: join(dir, 'k.pem'),
      problem: `does not match the certificate in ${cert}: give the key the certificate was made for`,
    });
  });

  it('refuses an expired certificate, and one not valid yet', async () => {
    const old = await generateSelfSignedCertificate(names, now - 2 * generatedCertValidityDays * dayMs);
    expect(problemOf(() => loadSuppliedTls(write('c.pem', old.cert), write('k.pem', old.key), now)).problem).toMatch(/^the certificate expired on 20\d\d-/);
    const future = await generateSelfSignedCertificate(names, now + 10 * dayMs);
    expect(problemOf(() => loadSuppliedTls(write('c.pem', future.cert), write('k.pem', future.key), now)).problem).toMatch(/not valid before .*clock/);
  });
});

describe('certificateNames', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, scopeid: 0 }) as NetworkInterfaceInfo;
  const interfaces = { lo: [nic('127.0.0.1', 'IPv4', true)], eth0: [nic('192.168.1.20', 'IPv4'), nic('fe80::1', 'IPv6'), nic('2001:db8::5', 'IPv6')] };

  it('names localhost, the host name and its .local name, loopback and every LAN address', () => {
    expect(certificateNames('0.0.0.0', interfaces, 'Box')).toEqual({
      dns: ['localhost', 'box', 'box.local'],
      ips: ['127.0.0.1', '::1', '192.168.1.20', '2001:db8::5'],
    });
  });

  it('adds a specific --host, and leaves out a host name no certificate can carry', () => {
    expect(certificateNames('10.1.2.3', interfaces, 'my_box')).toEqual({
      dns: ['localhost'],
      ips: ['127.0.0.1', '::1', '192.168.1.20', '2001:db8::5', '10.1.2.3'],
    });
    expect(certificateNames('mesh.lan', {}, 'box.example.org').dns).toEqual(['localhost', 'box.example.org', 'mesh.lan']);
  });
});
