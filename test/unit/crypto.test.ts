import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { fromBase64Url, toBase64Url } from '../../src/crypto/base64url.ts';
import { canonicalJson } from '../../src/crypto/canonical.ts';
import { createIdentity, decodeStoredIdentity, signText, verifyText } from '../../src/crypto/ed25519.ts';

describe('base64url', () => {
  test('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(fromBase64Url(text)).toEqual(bytes);
      }),
    );
  });
  test('refuses text that is not base64url', () => {
    for (const bad of ['a+b', 'ab/c', 'abc=', 'a', '!!!!']) expect(fromBase64Url(bad)).toBeNull();
  });
});

describe('canonical JSON', () => {
  test('is independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } })).toBe(canonicalJson({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
  test('refuses what JSON cannot carry faithfully', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(/non-finite/);
    expect(() => canonicalJson(undefined)).toThrow(/undefined/);
  });
});

describe('Ed25519 identity', () => {
  test('the id is the base64url public key, and signatures verify against it', async () => {
    const identity = await createIdentity();
    expect(identity.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const sig = await signText(identity, 'hello');
    expect(sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(await verifyText(identity.id, 'hello', sig)).toBe(true);
  });

  test('a signature fails for other text, another signer, or garbage, without throwing', async () => {
    const [alice, bob] = await Promise.all([createIdentity(), createIdentity()]);
    const sig = await signText(alice, 'pay bob 1');
    expect(await verifyText(alice.id, 'pay bob 2', sig)).toBe(false);
    expect(await verifyText(bob.id, 'pay bob 1', sig)).toBe(false);
    expect(await verifyText('not-an-id', 'pay bob 1', sig)).toBe(false);
    expect(await verifyText(alice.id, 'pay bob 1', 'A'.repeat(86))).toBe(false);
    expect(await verifyText(alice.id, 'pay bob 1', '***')).toBe(false);
  });

  test('the private key cannot be exported', async () => {
    const identity = await createIdentity();
    expect(identity.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', identity.privateKey)).rejects.toThrow();
  });

  test('a stored identity is checked before it is trusted', async () => {
    const identity = await createIdentity();
    const other = await createIdentity();
    expect((await decodeStoredIdentity({ ...identity }))?.id).toBe(identity.id);
    expect(await decodeStoredIdentity({ ...identity, id: other.id })).toBeNull();
    expect(await decodeStoredIdentity({ id: identity.id, privateKey: 'x', publicKey: identity.publicKey })).toBeNull();
    expect(await decodeStoredIdentity(null)).toBeNull();
    expect(await decodeStoredIdentity(42)).toBeNull();
  });
});
