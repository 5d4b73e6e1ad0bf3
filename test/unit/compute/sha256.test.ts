import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leadingZeroBits, sha256, sha256Hex } from '../../../src/compute/kernels/sha256.ts';

const nodeHex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

describe('sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto at every length around the block and padding edges', () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length);
      expect(sha256Hex(data), `length ${length}`).toBe(nodeHex(data));
    }
  });

  it('matches node:crypto on arbitrary bytes and text', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => sha256Hex(bytes) === nodeHex(bytes)));
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => sha256Hex(text) === nodeHex(text)));
  });

  it('hashes a subarray by its own bytes, not its buffer', () => {
    const big = randomBytes(300);
    const view = big.subarray(17, 150);
    expect(sha256Hex(view)).toBe(nodeHex(Buffer.from(view)));
  });

  it('counts leading zero bits', () => {
    expect(leadingZeroBits(new Uint8Array([0, 0, 0x10, 0xff]))).toBe(19);
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0);
    expect(leadingZeroBits(new Uint8Array(4))).toBe(32);
    expect(leadingZeroBits(sha256(new Uint8Array(0)))).toBe(0);
  });
});
