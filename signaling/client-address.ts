// Which client a connection comes from, for the per-address caps (address-limits.ts).
//
// Directly connected, it is the socket's peer address. Behind a load balancer or reverse proxy
// every socket comes from the proxy, so the real client is in X-Forwarded-For — but that header
// is whatever the client wrote unless a proxy we trust set it. So: only when the socket's peer
// is a trusted proxy is the header read, from the right (the entry our proxy appended), skipping
// further trusted proxies; the first untrusted entry is the client. Anything unparsable falls
// back to the socket's address, never to a client-chosen string.
//
// One IPv6 host usually holds a whole /64, so IPv6 clients are keyed by their /64 prefix: one
// machine cannot dodge its cap by rotating through its own addresses.
import { isIP } from 'node:net';

/** The most X-Forwarded-For entries read (a proxy chain is a handful; the header could be long). */
export const maxForwardedEntries = 16;

/** A parsed trusted-proxy list: exact addresses and IPv4/IPv6 CIDR ranges. */
export interface TrustedProxies {
  has(address: string): boolean;
}

const noProxies: TrustedProxies = { has: () => false };

/**
 * Parses a list such as `10.0.0.0/8, 127.0.0.1, fd00::/8` (the --trusted-proxies flag). Returns
 * an error naming the bad entry; an empty list trusts nobody.
 */
export function parseTrustedProxies(text: string): { ok: true; value: TrustedProxies } | { ok: false; error: string } {
  const ranges: Array<{ bits: bigint; prefix: number; width: number }> = [];
  for (const raw of text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')) {
    const [address = '', prefixText] = raw.split('/');
    const parsed = addressBits(address);
    const prefix = prefixText === undefined ? parsed?.width : Number(prefixText);
    if (!parsed || prefix === undefined || !/^\d{1,3}$/.test(prefixText ?? '0') || prefix > parsed.width) {
      return { ok: false, error: `"${raw.slice(0, 64)}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)` };
    }
    ranges.push({ bits: parsed.bits, prefix, width: parsed.width });
  }
  if (ranges.length === 0) return { ok: true, value: noProxies };
  return {
    ok: true,
    value: {
      has(address) {
        const parsed = addressBits(address);
        if (!parsed) return false;
        return ranges.some((r) => r.width === parsed.width && sameBits(r.bits, parsed.bits, r.prefix, r.width));
      },
    },
  };
}

/**
 * The client's address for a request: the socket's peer, or — when that peer is a trusted
 * proxy — the first untrusted address in X-Forwarded-For read from the right.
 */
export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies = noProxies): string {
  const direct = normaliseAddress(remoteAddress ?? '') ?? 'unknown';
  if (!trusted.has(direct) || forwardedFor === undefined) return direct;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const entries = header
    .split(',')
    .slice(-maxForwardedEntries)
    .map((item) => item.trim());
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = normaliseAddress(entries[i] as string);
    if (address === null) return direct; // a hop we cannot read: trust nothing further left
    if (!trusted.has(address)) return address;
  }
  return direct;
}

/**
 * The key the per-address caps count under: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by
 * its /64 prefix. Anything else (a Unix socket, "unknown") counts as itself.
 */
export function addressKey(address: string): string {
  const parsed = addressBits(address);
  if (!parsed) return address;
  if (parsed.width === 32) return address;
  const prefix = parsed.bits >> 64n;
  const groups: string[] = [];
  for (let i = 3; i >= 0; i--) groups.push(((prefix >> BigInt(16 * i)) & 0xffffn).toString(16));
  return `${groups.join(':')}::/64`;
}

/** Canonical text of an IP address (IPv4-mapped IPv6 as IPv4), or null for anything else. */
function normaliseAddress(text: string): string | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  const candidate = mapped ? (mapped[1] as string) : bare;
  return isIP(candidate) === 0 ? null : candidate.toLowerCase();
}

function addressBits(text: string): { bits: bigint; width: 32 | 128 } | null {
  const address = normaliseAddress(text);
  if (address === null) return null;
  if (isIP(address) === 4) {
    const parts = address.split('.').map(Number);
    if (parts.some((p) => p > 255)) return null;
    return { bits: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n), width: 32 };
  }
  let [head = '', tail] = address.split('::') as [string, string | undefined];
  // An embedded IPv4 tail (::1.2.3.4 forms other than ::ffff:) becomes two groups.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(tail ?? head);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    const groups = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    if (tail !== undefined) tail = tail.replace(v4[0], groups);
    else head = head.replace(v4[0], groups);
  }
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  if (groups.length !== 8) return null;
  return { bits: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n), width: 128 };
}

function sameBits(a: bigint, b: bigint, prefix: number, width: number): boolean {
  const shift = BigInt(width - prefix);
  return a >> shift === b >> shift;
}
