// Which Host names this server answers to, so DNS rebinding fails. A rebinding page lives at
// attacker.example, whose DNS answer is switched to this server's address: the browser then
// calls it "same origin" (the Origin check in origins.ts compares Origin with Host, both
// attacker.example) and lets the page use /signal and read /config.json (TURN credentials).
// The one thing such a request cannot fake is its Host: attacker.example. So a request is
// served only when its Host is a name or address this server is known by.
//
// Default allowlist: localhost and *.localhost, the loopback addresses, the address the server
// listens on, and — listening on every interface — every address of this machine (how LAN
// devices reach it). A deployment behind a DNS name adds that name (--allowed-hosts).
import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';

/** Decides whether a request with this Host header (undefined: none sent) is served. */
export type HostPolicy = (hostHeader: string | undefined) => boolean;

/** Most names a list may hold (a configuration typo should not grow without bound). */
export const maxAllowedHosts = 64;

/**
 * Parses the --allowed-hosts flag: comma-separated host names or IP addresses (no scheme, no
 * port), `.example.org` for a domain and all its subdomains, or `*` for any host.
 */
export function parseAllowedHosts(text: string): { ok: true; value: string[] } | { ok: false; error: string } {
  const items = text
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
  if (items.length === 0) return { ok: false, error: 'name at least one host' };
  if (items.length > maxAllowedHosts) return { ok: false, error: `at most ${maxAllowedHosts} hosts` };
  for (const item of items) {
    if (item === '*') continue;
    const name = item.startsWith('.') ? item.slice(1) : item;
    if (normalisedHostname(name) === null) {
      return {
        ok: false,
        error: `"${item.slice(0, 64)}" is not a host name or IP address (e.g. mesh.example.org, .example.org, 192.0.2.10; no scheme or port)`,
      };
    }
  }
  return { ok: true, value: items };
}

/** How often, at most, a Host that names an unknown IP address makes the interfaces be read again. */
export const interfaceRefreshMs = 1_000;

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface HostPolicyOptions {
  /** The address the server listens on (0.0.0.0 or :: for every interface). */
  listenHost: string;
  /**
   * This machine's interfaces, for a wildcard listen address: a snapshot, or a function
   * (os.networkInterfaces) read again — at most every interfaceRefreshMs — when a Host names an
   * address not seen yet, so addresses that appear after start (DHCP, a new veth) are served.
   */
  interfaces: Interfaces | (() => Interfaces);
  /** Milliseconds on a monotonic clock, for the refresh (default performance.now). */
  now?: () => number;
  /** Names to allow besides the defaults (parseAllowedHosts); `*` allows any host. */
  allowed?: readonly string[];
  /**
   * Names known only once the server runs (the hosts of the LAN URLs it prints after listening,
   * as URL hostnames): read again on each miss, so keep the list short.
   */
  laterNames?: () => Iterable<string>;
}

/**
 * The policy for a server. A request without a Host header is served (HTTP/1.0 tools; a
 * browser always sends one, so rebinding cannot leave it out); a Host that does not parse is not.
 */
export function hostPolicy(options: HostPolicyOptions): HostPolicy {
  const allowed = options.allowed ?? [];
  if (allowed.includes('*')) return () => true;
  const exact = new Set<string>(['localhost', '::1']);
  const suffixes = ['.localhost'];
  const listen = normalisedHostname(options.listenHost);
  const wildcard = listen === null || listen === '0.0.0.0' || listen === '::';
  const machine = new Set<string>();
  const readInterfaces = typeof options.interfaces === 'function' ? options.interfaces : () => options.interfaces as Interfaces;
  const now = options.now ?? (() => performance.now());
  let readAtMs = -Infinity;
  const refresh = () => {
    readAtMs = now();
    machine.clear();
    for (const infos of Object.values(readInterfaces())) {
      for (const info of infos ?? []) {
        const address = normalisedHostname(info.address.split('%')[0] as string);
        if (address !== null) machine.add(address);
      }
    }
  };
  if (!wildcard) exact.add(listen);
  else refresh();
  for (const item of allowed) {
    if (item.startsWith('.')) suffixes.push(item);
    else exact.add(normalisedHostname(stripPort(item)) ?? item); // a URL's hostname may be a bracketed [v6]
  }
  return (hostHeader) => {
    if (hostHeader === undefined) return true;
    const name = normalisedHostname(stripPort(hostHeader));
    if (name === null) return false;
    if (exact.has(name) || isLoopbackV4(name) || machine.has(name)) return true;
    if (suffixes.some((suffix) => name.endsWith(suffix) || name === suffix.slice(1))) return true;
    for (const later of options.laterNames?.() ?? []) if (normalisedHostname(stripPort(later)) === name) return true;
    if (wildcard && isIP(name) !== 0 && typeof options.interfaces === 'function' && now() - readAtMs >= interfaceRefreshMs) {
      refresh();
      return machine.has(name);
    }
    return false;
  };
}

/** `host[:port]` or `[v6][:port]` → the host part (brackets removed). */
function stripPort(hostHeader: string): string {
  const text = hostHeader.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    return end < 0 ? text : text.slice(1, end);
  }
  const colon = text.lastIndexOf(':');
  // More than one colon and no brackets: a bare IPv6 address (not valid in Host, but harmless).
  return colon >= 0 && text.indexOf(':') === colon ? text.slice(0, colon) : text;
}

/** A lower-case host name or canonical IP address, or null when `text` is neither. */
function normalisedHostname(text: string): string | null {
  const name = text.toLowerCase().replace(/\.$/, '');
  if (isIP(name) !== 0) return name;
  if (name.length === 0 || name.length > 253) return null;
  return /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/.test(name) ? name : null;
}

function isLoopbackV4(name: string): boolean {
  return isIP(name) === 4 && name.startsWith('127.');
}
