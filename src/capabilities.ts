// What a browser must have for Tabmesh to run, and what the page says when it lacks some of it.
// The probes that look (src/capability-probes.ts) hand their findings here; this file turns
// them into refusals a person can act on — what is missing, which browsers have it, what to do
// — and into the typed error createMeshNode rejects with. Pure, so every message is unit tested
// (test/unit/capabilities.test.ts) without a browser.

/** Why a browser cannot run Tabmesh; one code per thing it lacks. */
export const capabilityCodes = ['insecure-context', 'no-ed25519', 'no-web-locks', 'no-indexeddb', 'no-module-worker', 'no-webrtc'] as const;
export type CapabilityCode = (typeof capabilityCodes)[number];

/** What one probe found: it works, or it does not and `detail` says what happened. */
export type ProbeOutcome = { ok: true } | { ok: false; detail: string };

/** Every probe's finding (src/capability-probes.ts fills it in). */
export interface ProbeResults {
  /** window.isSecureContext. */
  secureContext: boolean;
  /** Ed25519 generateKey, sign, exportKey/importKey and verify in crypto.subtle. */
  ed25519: ProbeOutcome;
  /** navigator.locks granted a lock. */
  webLocks: ProbeOutcome;
  /** indexedDB opened a database. */
  indexedDb: ProbeOutcome;
  /** A worker started with { type: 'module' } ran as a module and answered. */
  moduleWorker: ProbeOutcome;
  /** RTCPeerConnection could be made. */
  webrtc: ProbeOutcome;
}

/** The page's address, as far as the advice needs it (a Location fits). */
export interface PageAddress {
  protocol: string;
  host: string;
  pathname: string;
  search: string;
}

/** One thing the browser lacks, in words for the page and for error messages. */
export interface MissingCapability {
  code: CapabilityCode;
  /** What is missing, as a heading. */
  feature: string;
  /** Why Tabmesh needs it, and what the check found. */
  explanation: string;
  /** Which browsers have it. */
  browsers: string;
  /** What to do. */
  advice: string;
  /** The address to open instead, when there is one (an insecure http:// page: its https:// twin). */
  openInstead?: string;
}

/** The oldest browsers with everything Tabmesh needs (Ed25519 in WebCrypto is the newest need). */
export const supportedBrowsers = 'Chrome or Edge 137 or newer, Firefox 129 or newer, Safari 17 or newer';

const updateAdvice = `Update this browser, or open this page in one that has it (${supportedBrowsers} have everything Tabmesh needs).`;

/** The https:// twin of an http:// page (same host and port: the Tabmesh server answers both there), else null. */
export function httpsAddressOf(page: PageAddress): string | null {
  if (page.protocol !== 'http:') return null;
  return `https://${page.host}${page.pathname || '/'}${page.search}`;
}

function insecureContext(page: PageAddress, hidden: string[]): MissingCapability {
  const https = httpsAddressOf(page);
  const hides = hidden.length > 0 ? ` Browsers hide ${hidden.join(' and ')} from such pages, and Tabmesh cannot run without them.` : '';
  return {
    code: 'insecure-context',
    feature: 'A secure context (HTTPS)',
    explanation:
      `This page was opened at ${page.protocol}//${page.host}, which is not a secure context: ` + 'only https:// pages and http://localhost are.' + hides,
    browsers: 'Every browser requires this; no browser setting or update changes it.',
    advice: https
      ? `Open ${https} instead: the Tabmesh server answers HTTPS on the same port (unless it was started with --no-tls). ` +
        'With the certificate it made itself, the browser warns first; compare the SHA-256 fingerprint it shows with the one the server printed when it started, then accept it.'
      : 'Open Tabmesh from its https:// address, or from http://localhost on the machine that runs the server.',
    ...(https ? { openInstead: https } : {}),
  };
}

const describe: Record<Exclude<CapabilityCode, 'insecure-context'>, (detail: string) => MissingCapability> = {
  'no-ed25519': (detail) => ({
    code: 'no-ed25519',
    feature: 'Ed25519 signatures in WebCrypto',
    explanation: `Every node signs what it says with an Ed25519 key and checks its peers' signatures. In this browser, ${detail}.`,
    browsers: 'Chrome and Edge 137 or newer, Firefox 129 or newer, Safari 17 or newer.',
    advice: updateAdvice,
  }),
  'no-web-locks': (detail) => ({
    code: 'no-web-locks',
    feature: 'Web Locks (navigator.locks)',
    explanation: `Tabs of one browser claim separate storage slots with Web Locks, so two tabs never share one identity. In this browser, ${detail}.`,
    browsers: 'Chrome 69 or newer, Edge 79 or newer, Firefox 96 or newer, Safari 15.4 or newer.',
    advice: updateAdvice,
  }),
  'no-indexeddb': (detail) => ({
    code: 'no-indexeddb',
    feature: 'IndexedDB storage',
    explanation: `A node keeps its identity key, its replicated memory and its consensus log in IndexedDB. Opening a database failed: ${detail}.`,
    browsers:
      'Every current browser has it; it fails where a site may not store data: ' +
      'site data blocked in the settings, some private windows (Firefox before 115), a full disk.',
    advice: 'Allow this site to store data (cookie and site-data settings), leave private browsing, or free disk space; then reload.',
  }),
  'no-module-worker': (detail) => ({
    code: 'no-module-worker',
    feature: 'Module workers',
    explanation: `The protocol runs in a Web Worker loaded as a JavaScript module. In this browser, ${detail}.`,
    browsers: 'Chrome and Edge 80 or newer, Firefox 114 or newer, Safari 15 or newer.',
    advice: updateAdvice,
  }),
  'no-webrtc': (detail) => ({
    code: 'no-webrtc',
    feature: 'WebRTC (RTCPeerConnection)',
    explanation: `Tabs and devices link to each other directly over WebRTC data channels. In this browser, ${detail}.`,
    browsers:
      `Every browser that has the rest has it (${supportedBrowsers}); ` +
      'a privacy extension or setting (Firefox: media.peerconnection.enabled) can turn it off.',
    advice: 'Turn WebRTC back on for this site (in the extension or setting that blocks it), or use another browser.',
  }),
};

/**
 * What the browser lacks, most important first, every item listed. On a page that is not a
 * secure context, the browser hides crypto.subtle and navigator.locks: those failures are the
 * insecure context's doing, so they are named in its entry rather than as browser faults with
 * "update the browser" advice that would not help.
 */
export function missingCapabilities(results: ProbeResults, page: PageAddress): MissingCapability[] {
  const missing: MissingCapability[] = [];
  if (!results.secureContext) {
    const hidden: string[] = [];
    if (!results.ed25519.ok) hidden.push('WebCrypto signatures (crypto.subtle)');
    if (!results.webLocks.ok) hidden.push('Web Locks (navigator.locks)');
    missing.push(insecureContext(page, hidden));
  } else {
    if (!results.ed25519.ok) missing.push(describe['no-ed25519'](results.ed25519.detail));
    if (!results.webLocks.ok) missing.push(describe['no-web-locks'](results.webLocks.detail));
  }
  if (!results.indexedDb.ok) missing.push(describe['no-indexeddb'](results.indexedDb.detail));
  if (!results.moduleWorker.ok) missing.push(describe['no-module-worker'](results.moduleWorker.detail));
  if (!results.webrtc.ok) missing.push(describe['no-webrtc'](results.webrtc.detail));
  return missing;
}

/** One refusal for a failure found outside the page's probes (the protocol worker's own check). */
export function describeMissing(code: CapabilityCode, detail: string, page: PageAddress): MissingCapability {
  return code === 'insecure-context' ? insecureContext(page, []) : describe[code](detail);
}

/**
 * createMeshNode's rejection when the browser lacks something Tabmesh needs. `code` is the
 * first (most important) missing thing; `missing` lists them all, each with what to do.
 */
export class CapabilityError extends Error {
  override readonly name = 'CapabilityError';
  readonly code: CapabilityCode;
  readonly missing: readonly MissingCapability[];

  constructor(missing: readonly MissingCapability[]) {
    const first = missing[0];
    if (!first) throw new Error('CapabilityError needs at least one missing capability');
    super(`Tabmesh cannot run in this browser tab. ${missing.map((m) => `Missing: ${m.feature} (${m.code}). ${m.advice}`).join(' ')}`);
    this.code = first.code;
    this.missing = missing;
  }

  /** Every code, in the order listed. */
  get codes(): CapabilityCode[] {
    return this.missing.map((m) => m.code);
  }
}

/** The error for these findings, or null when nothing is missing. */
export function capabilityError(results: ProbeResults, page: PageAddress): CapabilityError | null {
  const missing = missingCapabilities(results, page);
  return missing.length > 0 ? new CapabilityError(missing) : null;
}
