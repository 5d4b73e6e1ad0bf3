// From the command line's TLS choice to the certificate the server speaks with: shared by
// `npm start` (main.ts) and `npm run dev` (vite-plugin.ts), so both serve the same certificate
// and a device that accepted it once is not asked again.
import type { NetworkInterfaceInfo } from 'node:os';
import { lanAddresses, type TlsChoice } from './cli.ts';
import { loadOrMakeGeneratedTls, loadSuppliedTls, type CertificateNames, type TlsMaterial } from './tls-files.ts';

export interface PreparedTls {
  material: TlsMaterial;
  /** true: the self-signed certificate from the data directory. */
  generated: boolean;
  /** Why a new one was made at this start; null when reused or supplied. */
  madeBecause: string | null;
}

/** A DNS name a certificate can carry (a host name like "my-laptop" or "box.lan"). */
const dnsName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * What the generated certificate names: localhost, this host's name (and its mDNS .local
 * name, which phones resolve on many LANs), loopback, every address the start-up lines print,
 * and the --host address when it is a specific one.
 */
export function certificateNames(host: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, hostname: string): CertificateNames {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  const name = hostname.toLowerCase();
  if (dnsName.test(name) && name !== 'localhost') {
    dns.add(name);
    if (!name.includes('.')) dns.add(`${name}.local`);
  }
  // IPv6 LAN addresses too, whatever the listening family: the certificate should not change
  // just because --host moved from 0.0.0.0 to ::.
  for (const address of lanAddresses('::', interfaces)) ips.add(address);
  const specific = host !== '0.0.0.0' && host !== '::' && host !== '';
  if (specific) {
    if (/^[\d.]+$/.test(host) || host.includes(':')) ips.add(host);
    else if (dnsName.test(host)) dns.add(host.toLowerCase());
  }
  return { dns: [...dns], ips: [...ips] };
}

/** null when TLS is off; throws TlsFileError (naming the file) when a certificate cannot be used. */
export async function prepareTls(choice: TlsChoice, dataDir: string, names: CertificateNames, nowMs: number): Promise<PreparedTls | null> {
  if (choice.kind === 'off') return null;
  if (choice.kind === 'supplied') return { material: loadSuppliedTls(choice.certFile, choice.keyFile, nowMs), generated: false, madeBecause: null };
  const { material, madeBecause } = await loadOrMakeGeneratedTls(dataDir, names, nowMs);
  return { material, generated: true, madeBecause };
}
