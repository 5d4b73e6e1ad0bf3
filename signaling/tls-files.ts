// The certificate and key the server speaks TLS with: a supplied pair (--tls-cert/--tls-key,
// e.g. from mkcert or a public CA) checked before anything listens, or the generated
// self-signed pair kept in the data directory, reused while it is good and made again when it
// is missing, unreadable, about to expire, or no longer names every address the server prints.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { generateSelfSignedCertificate, renewBeforeExpiryDays, type CertificateNames, type PemPair } from './tls-generate.ts';

export { type CertificateNames } from './tls-generate.ts';

/** Where the generated pair lives inside the data directory. */
export const tlsSubdir = 'tls';
export const generatedCertName = 'cert.pem';
export const generatedKeyName = 'key.pem';
const dayMs = 24 * 60 * 60 * 1000;

/** A problem with a certificate or key file that stops start-up: which file, and what is wrong. */
export class TlsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TlsFileError';
  }
}

export interface TlsMaterial extends PemPair {
  certFile: string;
  keyFile: string;
  /** SHA-256 of the certificate, AB:CD:… — what browsers show beside their warning. */
  fingerprint256: string;
  /** base64 SHA-256 of the public key (SPKI): what Chromium's --ignore-certificate-errors-spki-list takes. */
  spkiSha256: string;
  notAfter: Date;
  /** The certificate's subject alternative names as Node prints them. */
  subjectAltName: string;
}

export interface GeneratedTls {
  material: TlsMaterial;
  /** Why a new certificate was made (first start, expired, a new address…); null when the stored one was reused. */
  madeBecause: string | null;
}

/** Reads and checks a supplied pair; any problem is a TlsFileError naming the file. */
export function loadSuppliedTls(certFile: string, keyFile: string, nowMs: number): TlsMaterial {
  const pair = { cert: readPemFile(certFile), key: readPemFile(keyFile) };
  const checked = checkPair(pair, certFile, keyFile);
  const validFrom = new Date(checked.x509.validFrom);
  if (checked.notAfter.getTime() <= nowMs) {
    throw new TlsFileError(
      certFile,
      `the certificate expired on ${checked.notAfter.toISOString()}; renew it (or drop --tls-cert/--tls-key to use a generated one)`,
    );
  }
  if (validFrom.getTime() > nowMs) {
    throw new TlsFileError(certFile, `the certificate is not valid before ${validFrom.toISOString()}; check this machine's clock`);
  }
  return checked.material;
}

/**
 * The generated pair from `dataDir`, made (and saved) when there is none yet or the stored one
 * will not do. Fails with a TlsFileError only when the directory cannot be written.
 */
export async function loadOrMakeGeneratedTls(dataDir: string, names: CertificateNames, nowMs: number): Promise<GeneratedTls> {
  const dir = join(dataDir, tlsSubdir);
  const certFile = join(dir, generatedCertName);
  const keyFile = join(dir, generatedKeyName);
  const problem = storedProblem(certFile, keyFile, names, nowMs);
  if (problem === null)
    return { material: checkPair({ cert: readPemFile(certFile), key: readPemFile(keyFile) }, certFile, keyFile).material, madeBecause: null };
  const pair = await generateSelfSignedCertificate(names, nowMs);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeAtomically(keyFile, pair.key, 0o600);
    writeAtomically(certFile, pair.cert, 0o644);
  } catch (err) {
    throw new TlsFileError(
      dir,
      `cannot save the generated certificate there (${errorText(err)}); pick a writable directory with --data-dir or TABMESH_DATA_DIR`,
    );
  }
  return { material: checkPair(pair, certFile, keyFile).material, madeBecause: problem };
}

/** Why the stored generated pair cannot be reused, or null when it can. */
function storedProblem(certFile: string, keyFile: string, names: CertificateNames, nowMs: number): string | null {
  let checked: ReturnType<typeof checkPair>;
  try {
    checked = checkPair({ cert: readPemFile(certFile), key: readPemFile(keyFile) }, certFile, keyFile);
  } catch (err) {
    if (err instanceof TlsFileError && err.problem.startsWith('does not exist')) return 'first start: none stored yet';
    return err instanceof TlsFileError ? `the stored one is unusable (${err.message})` : errorText(err);
  }
  const { x509, notAfter } = checked;
  if (notAfter.getTime() - renewBeforeExpiryDays * dayMs <= nowMs) return `the stored one expires on ${notAfter.toISOString()}`;
  if (new Date(x509.validFrom).getTime() > nowMs) return 'the stored one is not valid yet (was the clock changed?)';
  const missing = [
    ...names.dns.filter((name) => x509.checkHost(name, { wildcards: false }) === undefined),
    ...names.ips.filter((ip) => x509.checkIP(ip) === undefined),
  ];
  if (missing.length > 0) return `the stored one does not name ${missing.join(', ')}`;
  return null;
}

function checkPair(pair: PemPair, certFile: string, keyFile: string): { material: TlsMaterial; x509: X509Certificate; notAfter: Date } {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch {
    throw new TlsFileError(certFile, 'is not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch (err) {
    const encrypted = /passphrase|encrypted/i.test(errorText(err)) || pair.key.includes('ENCRYPTED');
    throw new TlsFileError(
      keyFile,
      encrypted
        ? 'is an encrypted private key; give the unencrypted key (e.g. `openssl pkey -in KEY -out KEY.plain`) and keep it readable by this user only'
        : 'is not a PEM private key (expected a -----BEGIN PRIVATE KEY----- block)',
    );
  }
  if (!x509.checkPrivateKey(key)) throw new TlsFileError(keyFile, `does not match the certificate in ${certFile}: give the key the certificate was made for`);
  try {
    createSecureContext(pair); // what the TLS server will do with them: fail here, not on the first visitor
  } catch (err) {
    throw new TlsFileError(certFile, `cannot be used for TLS: ${errorText(err)}`);
  }
  const notAfter = new Date(x509.validTo);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return {
    x509,
    notAfter,
    material: {
      ...pair,
      certFile,
      keyFile,
      fingerprint256: x509.fingerprint256,
      spkiSha256: createHash('sha256').update(spki).digest('base64'),
      notAfter,
      subjectAltName: x509.subjectAltName ?? '',
    },
  };
}

function readPemFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new TlsFileError(file, 'does not exist');
    if (code === 'EACCES' || code === 'EPERM')
      throw new TlsFileError(file, 'cannot be read (permission denied): make it readable by the user running the server');
    if (code === 'EISDIR') throw new TlsFileError(file, 'is a directory, not a file');
    throw new TlsFileError(file, `cannot be read: ${errorText(err)}`);
  }
}

/** Written beside, then renamed: a crash mid-write never leaves half a key behind. */
function writeAtomically(file: string, text: string, mode: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  renameSync(temp, file);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
