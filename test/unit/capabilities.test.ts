// From probe findings to what the page says and what createMeshNode rejects with: every code,
// its feature, the browsers that have it and the advice; all missing things listed, in order;
// an insecure page pointed at its https:// twin on the same host and port.
import { describe, expect, test } from 'vitest';
import {
  CapabilityError,
  capabilityCodes,
  capabilityError,
  describeMissing,
  httpsAddressOf,
  missingCapabilities,
  type PageAddress,
  type ProbeResults,
} from '../../src/capabilities.ts';

const lanPage: PageAddress = { protocol: 'http:', host: 'lan-device.test:8080', pathname: '/', search: '?room=kitchen' };
const securePage: PageAddress = { protocol: 'https:', host: 'lan-device.test:8080', pathname: '/', search: '' };

const allPresent: ProbeResults = {
  secureContext: true,
  ed25519: { ok: true },
  webLocks: { ok: true },
  indexedDb: { ok: true },
  moduleWorker: { ok: true },
  webrtc: { ok: true },
};
const lacking = (detail: string) => ({ ok: false as const, detail });

describe('capability refusals', () => {
  test('a browser with everything gets no refusal', () => {
    expect(missingCapabilities(allPresent, securePage)).toEqual([]);
    expect(capabilityError(allPresent, securePage)).toBeNull();
  });

  test('an http:// page on a LAN name is told to open the https:// address on the same port, with the room kept', () => {
    // What Chromium reports there: no crypto.subtle, no navigator.locks.
    const results: ProbeResults = {
      ...allPresent,
      secureContext: false,
      ed25519: lacking('crypto.subtle is not available'),
      webLocks: lacking('navigator.locks is not available'),
    };
    const [only, ...rest] = missingCapabilities(results, lanPage);
    expect(rest).toEqual([]);
    expect(only?.code).toBe('insecure-context');
    expect(only?.openInstead).toBe('https://lan-device.test:8080/?room=kitchen');
    expect(only?.advice).toContain('Open https://lan-device.test:8080/?room=kitchen instead');
    expect(only?.advice).toMatch(/SHA-256 fingerprint/);
    expect(only?.explanation).toContain('http://lan-device.test:8080, which is not a secure context');
    // The features it hides are named, not blamed on the browser with "update it" advice.
    expect(only?.explanation).toContain('WebCrypto signatures (crypto.subtle) and Web Locks (navigator.locks)');
    expect(only?.advice).not.toMatch(/Update this browser/);
  });

  test('an insecure page that is not http:// gets general advice and no address to open', () => {
    const results: ProbeResults = { ...allPresent, secureContext: false };
    const [only] = missingCapabilities(results, { protocol: 'file:', host: '', pathname: '/x/index.html', search: '' });
    expect(only?.openInstead).toBeUndefined();
    expect(only?.advice).toMatch(/https:\/\/ address, or from http:\/\/localhost/);
    expect(httpsAddressOf({ protocol: 'https:', host: 'a:1', pathname: '/', search: '' })).toBeNull();
    expect(httpsAddressOf({ protocol: 'http:', host: '192.168.1.20:8080', pathname: '', search: '' })).toBe('https://192.168.1.20:8080/');
  });

  test.each([
    [
      'no-ed25519',
      { ed25519: lacking('crypto.subtle.generateKey refused Ed25519 (NotSupportedError: Unrecognized name)') },
      'Ed25519 signatures in WebCrypto',
      /Chrome and Edge 137 or newer, Firefox 129 or newer, Safari 17 or newer/,
      /Update this browser/,
    ],
    [
      'no-web-locks',
      { webLocks: lacking('navigator.locks is not available') },
      'Web Locks (navigator.locks)',
      /Firefox 96 or newer, Safari 15\.4 or newer/,
      /Update this browser/,
    ],
    [
      'no-indexeddb',
      { indexedDb: lacking('InvalidStateError: A mutation operation was attempted') },
      'IndexedDB storage',
      /private windows/,
      /Allow this site to store data/,
    ],
    [
      'no-module-worker',
      { moduleWorker: lacking("new Worker(…, { type: 'module' }) threw TypeError") },
      'Module workers',
      /Firefox 114 or newer, Safari 15 or newer/,
      /Update this browser/,
    ],
    ['no-webrtc', { webrtc: lacking('RTCPeerConnection is not defined') }, 'WebRTC (RTCPeerConnection)', /privacy extension or setting/, /Turn WebRTC back on/],
  ] as const)('%s: names the feature, what the probe found, the browsers that have it and what to do', (code, finding, feature, browsers, advice) => {
    const results: ProbeResults = { ...allPresent, ...finding };
    const error = capabilityError(results, securePage);
    expect(error).toBeInstanceOf(CapabilityError);
    expect(error?.code).toBe(code);
    expect(error?.codes).toEqual([code]);
    const [item] = error?.missing ?? [];
    expect(item?.feature).toBe(feature);
    expect(item?.explanation).toContain(Object.values(finding)[0]?.detail);
    expect(item?.browsers).toMatch(browsers);
    expect(item?.advice).toMatch(advice);
    expect(error?.message).toContain(`Missing: ${feature} (${code}).`);
  });

  test('every missing thing is listed, most important first; the error code is the first', () => {
    const results: ProbeResults = {
      secureContext: true,
      ed25519: lacking('a'),
      webLocks: lacking('b'),
      indexedDb: lacking('c'),
      moduleWorker: lacking('d'),
      webrtc: lacking('e'),
    };
    const error = capabilityError(results, securePage);
    expect(error?.codes).toEqual(['no-ed25519', 'no-web-locks', 'no-indexeddb', 'no-module-worker', 'no-webrtc']);
    expect(error?.code).toBe('no-ed25519');
    expect(error?.name).toBe('CapabilityError');
    expect(error).toBeInstanceOf(Error);
  });

  test('an insecure page still lists what it lacks for other reasons', () => {
    const results: ProbeResults = { ...allPresent, secureContext: false, ed25519: lacking('x'), webLocks: lacking('y'), webrtc: lacking('z') };
    expect(capabilityError(results, lanPage)?.codes).toEqual(['insecure-context', 'no-webrtc']);
  });

  test('every code has words, also when it comes from the worker', () => {
    for (const code of capabilityCodes) {
      const item = describeMissing(code, 'it was missing', lanPage);
      expect(item.code).toBe(code);
      for (const text of [item.feature, item.explanation, item.browsers, item.advice]) expect(text.length).toBeGreaterThan(10);
    }
  });

  test('a CapabilityError with nothing missing is a bug, refused loudly', () => {
    expect(() => new CapabilityError([])).toThrow(/at least one/);
  });
});
