// Which address a connection is counted under: the socket's peer, X-Forwarded-For only from a
// trusted proxy (read from the right), and IPv6 by its /64.
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress, parseTrustedProxies, type TrustedProxies } from '../../signaling/client-address.ts';

function trusted(text: string): TrustedProxies {
  const parsed = parseTrustedProxies(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('clientAddress', () => {
  it('is the socket address when no proxy is trusted, whatever the header says', () => {
    expect(clientAddress('203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
    expect(clientAddress('::ffff:203.0.113.5', undefined)).toBe('203.0.113.5');
    expect(clientAddress(undefined, undefined)).toBe('unknown');
  });

  it('behind trusted proxies, is the first untrusted hop from the right', () => {
    const proxies = trusted('10.0.0.0/8, 127.0.0.1');
    // The client wrote "1.2.3.4" itself; the proxy appended the real peer.
    expect(clientAddress('127.0.0.1', '1.2.3.4, 198.51.100.7, 10.1.2.3', proxies)).toBe('198.51.100.7');
    expect(clientAddress('10.9.9.9', ['198.51.100.7', '10.1.2.3'], proxies)).toBe('198.51.100.7');
    // Only proxies in the header: the socket's address.
    expect(clientAddress('127.0.0.1', '10.0.0.1', proxies)).toBe('127.0.0.1');
    // A hop that does not parse: trust nothing to its left.
    expect(clientAddress('127.0.0.1', '198.51.100.7, not-an-address', proxies)).toBe('127.0.0.1');
    // Not from a proxy: the header is ignored.
    expect(clientAddress('203.0.113.5', '198.51.100.7', proxies)).toBe('203.0.113.5');
  });

  it('parses IPv6 ranges and refuses a bad list with the entry named', () => {
    const proxies = trusted('fd00::/8');
    expect(proxies.has('fd12:3456::1')).toBe(true);
    expect(proxies.has('fe80::1')).toBe(false);
    expect(proxies.has('10.0.0.1')).toBe(false);
    expect(parseTrustedProxies('10.0.0.0/33')).toMatchObject({ ok: false, error: expect.stringContaining('10.0.0.0/33') });
    expect(parseTrustedProxies('proxy.example')).toMatchObject({ ok: false });
    expect(parseTrustedProxies('')).toMatchObject({ ok: true });
  });
});

describe('addressKey', () => {
  it('counts IPv4 per address and IPv6 per /64, so one host cannot rotate through its prefix', () => {
    expect(addressKey('203.0.113.5')).toBe('203.0.113.5');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('unknown')).toBe('unknown');
  });
});
