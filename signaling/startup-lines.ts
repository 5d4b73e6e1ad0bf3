// What `npm start` tells a person once it listens: where to go (this machine, other devices),
// which certificate other devices will be shown and how to check it, and which ICE servers
// pages get — with what that means for peers on other networks. Pure, so tests read the text.
import type { OpenUrls } from './cli.ts';
import type { IceServerConfig, IceTransportPolicy } from './ice-config.ts';
import type { PreparedTls } from './tls-setup.ts';
import type { TurnRestConfig } from './turn-credentials.ts';

export function urlLines(urls: OpenUrls, tls: PreparedTls | null): string[] {
  const lines: string[] = [];
  if (urls.local.length > 0) {
    lines.push('Tabmesh is running. Open it in several tabs on this machine:');
    for (const url of urls.local) lines.push(`  ${url}`);
  } else lines.push('Tabmesh is running.');
  if (urls.lan.length > 0) {
    lines.push(tls ? 'On other devices on your network (HTTPS, same port):' : 'On other devices on your network:');
    for (const url of urls.lan) lines.push(`  ${url}`);
  }
  if (!tls && urls.lan.length > 0) {
    lines.push('  TLS is off (--no-tls): browsers on other devices refuse Tabmesh over plain HTTP (no secure context) unless a reverse proxy adds HTTPS.');
  }
  return lines;
}

export function certificateLines(tls: PreparedTls | null): string[] {
  if (!tls) return [];
  const { material } = tls;
  const until = material.notAfter.toISOString().slice(0, 10);
  if (!tls.generated) {
    return [`TLS certificate: ${material.certFile} (valid until ${until}), SHA-256 fingerprint:`, `  ${material.fingerprint256}`];
  }
  return [
    `TLS certificate: self-signed, ${tls.madeBecause === null ? 'kept' : `made now (${tls.madeBecause})`} in ${material.certFile}, valid until ${until}.`,
    "  Browsers on other devices warn that it is not trusted. Open the warning's certificate details and",
    '  check that its SHA-256 fingerprint is this one before you accept it:',
    `  ${material.fingerprint256}`,
    '  (--tls-cert/--tls-key, or TABMESH_TLS_CERT/TABMESH_TLS_KEY, serve a trusted certificate instead, e.g. from mkcert.)',
  ];
}

/** The URLs of an ICE server list, without usernames or credentials (start-up lines end up in logs). */
function iceUrls(servers: IceServerConfig): string[] {
  return servers.flatMap((server) => (typeof server.urls === 'string' ? [server.urls] : server.urls));
}

export function iceLines(iceServers: IceServerConfig, policy: IceTransportPolicy, turnRest: TurnRestConfig | null): string[] {
  const urls = [...iceUrls(iceServers), ...(turnRest?.urls ?? [])];
  const lines: string[] = [];
  if (urls.length === 0) {
    lines.push(
      'ICE servers for pages: none. Tabs on this machine and devices on the same network link directly;',
      'peers on other networks (behind different NATs) cannot link until you give them a TURN server:',
      '--turn-urls with TABMESH_TURN_SECRET (coturn beside this server), or --ice-servers (see README, "Across networks").',
    );
    return lines;
  }
  lines.push(`ICE servers for pages: ${urls.join(', ')}${policy === 'relay' ? ' (relay only: every link goes through TURN)' : ''}.`);
  if (turnRest) lines.push(`  TURN credentials from the shared secret, valid for ${turnRest.ttlS} s, issued in /config.json.`);
  const hasTurn = urls.some((url) => /^turns?:/.test(url));
  if (!hasTurn) {
    lines.push('  No TURN server: peers behind symmetric NATs (many mobile and corporate networks) cannot link; add one (README, "Across networks").');
  }
  return lines;
}
