// Which Ed25519 public keys may be a node id. Pure (no WebCrypto), so the same check runs at
// every boundary that accepts an id: the id schema (src/core/ids.ts) used by signaling and by
// every mesh message decoder, signature checks in the mesh (ed25519.ts verifyText) and the
// signaling server's join check (signaling/identity.ts).
//
// Two kinds of key are refused:
// - Small-order points (the 8 points of order 1, 2, 4 or 8). With such a key A, the signature
//   (R = identity, S = 0) satisfies [S]B = R + [k]A for every message under cofactored checks,
//   and similar forgeries exist under cofactorless ones: nobody holds "the" private key, anyone
//   can sign as that id. OpenSSL (Node, Chromium's WebCrypto) accepts such signatures.
// - Non-canonical encodings (y ≥ p): a second spelling of a point with a canonical one, so one
//   key could appear under two ids.
// The point itself is not decompressed: a key off the curve fails every signature check anyway.

/** Field prime p = 2^255 − 19, little-endian. */
const fieldPrime = bytesFromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');

/**
 * The y-coordinates (little-endian, sign bit clear) of the 8 small-order points: y = 1 (order
 * 1), y = −1 (order 2), y = 0 (the two points of order 4), and the two y-values of the four
 * points of order 8. With x's sign bit either way, these are all small-order encodings.
 */
const smallOrderYs = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
].map(bytesFromHex);

export type KeyProblem = 'length' | 'non-canonical' | 'small-order';

/** Why 32 raw bytes cannot be a node's public key, or null when they can. */
export function publicKeyProblem(raw: Uint8Array): KeyProblem | null {
  if (raw.length !== 32) return 'length';
  const y = raw.slice();
  y[31] = (y[31] as number) & 0x7f; // the top bit is x's sign, not part of y
  if (!lessThan(y, fieldPrime)) return 'non-canonical';
  if (smallOrderYs.some((candidate) => equal(candidate, y))) return 'small-order';
  return null;
}

/** A person-readable reason for a refused key, for error messages. */
export function describeKeyProblem(problem: KeyProblem): string {
  switch (problem) {
    case 'length':
      return 'an Ed25519 public key is 32 bytes';
    case 'non-canonical':
      return 'a non-canonical Ed25519 public key (y ≥ 2^255 − 19) cannot be a node id';
    case 'small-order':
      return 'a small-order Ed25519 public key cannot be a node id (anyone can sign as it)';
  }
}

/** The same check on a base64url id (43 characters); false for anything that does not decode. */
export function isAcceptableIdText(id: string): boolean {
  const raw = decodeBase64Url32(id);
  return raw !== null && publicKeyProblem(raw) === null;
}

/** The problem with a base64url id, or null (undecodable text counts as 'length'). */
export function idTextProblem(id: string): KeyProblem | null {
  const raw = decodeBase64Url32(id);
  return raw === null ? 'length' : publicKeyProblem(raw);
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const sextets = new Map([...alphabet].map((c, i) => [c, i]));

/** 43 base64url characters → 32 bytes, without atob (this runs in cores and the server alike). */
function decodeBase64Url32(text: string): Uint8Array | null {
  if (text.length !== 43) return null;
  const out = new Uint8Array(32);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const c of text) {
    const value = sextets.get(c);
    if (value === undefined) return null;
    acc = (acc << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < 32) out[n++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return n === 32 ? out : null;
}

/** Little-endian comparison a < b of equal-length byte strings. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = a.length - 1; i >= 0; i--) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  }
  return false;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function bytesFromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
