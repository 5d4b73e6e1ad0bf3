// Ed25519 public keys nobody may use as a node id, as the tests of every boundary need them:
// the 8 small-order points (canonical encodings) and encodings with y ≥ p.

/** The 8 points of order 1, 2, 4 and 8 (little-endian y with x's sign in the top bit). */
export const smallOrderKeysHex = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (order 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = −1 (order 2)
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0 (order 4)
  '0000000000000000000000000000000000000000000000000000000000000080', // y = 0, −x (order 4)
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8, −x
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8, −x
];

/** y = p, p + 1 and p + 2 (with and without the sign bit): second spellings of points. */
export const nonCanonicalKeysHex = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

export const toId = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

/**
 * R = the identity point, S = 0: with the identity as public key this "signature" verifies for
 * every message (OpenSSL, hence Node and Chromium's WebCrypto, accept it).
 */
export const forgedSignature = Buffer.from(`01${'00'.repeat(63)}`, 'hex').toString('base64url');
