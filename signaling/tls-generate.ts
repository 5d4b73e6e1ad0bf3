// Makes the self-signed certificate `npm start` serves HTTPS with, so phones and laptops on the
// LAN get a secure context (browsers hide crypto.subtle and Web Locks from plain-HTTP pages on
// any host but localhost). @peculiar/x509 builds the certificate over WebCrypto; no ASN.1 here.
// ECDSA P-256: every browser takes it, and it is made in milliseconds (RSA takes seconds).
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it, first
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/**
 * How long a generated certificate is valid. Under Apple's 825-day ceiling for TLS server
 * certificates (iOS and macOS refuse longer ones even after the person accepts the warning).
 */
export const generatedCertValidityDays = 365;
/** A stored certificate this close to its end is made again at start-up, before it lapses mid-run. */
export const renewBeforeExpiryDays = 30;
const dayMs = 24 * 60 * 60 * 1000;
/** Back-dated a little, so a device whose clock is a few minutes slow still accepts it. */
const backdateMs = 60 * 60 * 1000;

export interface PemPair {
  cert: string;
  key: string;
}

export interface CertificateNames {
  /** DNS names: localhost, the host name, … */
  dns: readonly string[];
  /** IP addresses, v4 or v6 (without brackets). */
  ips: readonly string[];
}

const signingAlgorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A new self-signed certificate for `names`, valid from about now for a year. */
export async function generateSelfSignedCertificate(names: CertificateNames, nowMs: number): Promise<PemPair> {
  const keys = await webcrypto.subtle.generateKey(signingAlgorithm, true, ['sign', 'verify']);
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = (serial[0] as number) & 0x7f; // a positive serial number
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: 'CN=Tabmesh on this machine, O=Tabmesh (self-signed)',
    notBefore: new Date(nowMs - backdateMs),
    notAfter: new Date(nowMs + generatedCertValidityDays * dayMs),
    signingAlgorithm,
    keys: keys as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // Apple's platforms insist on serverAuth; the others accept it.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as CryptoKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', (keys as CryptoKeyPair).privateKey);
  return { cert: cert.toString('pem') + '\n', key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n' };
}
