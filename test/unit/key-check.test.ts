// Issue 19, finding 6, in the mesh: small-order and non-canonical Ed25519 keys are refused by
// the one shared check (src/crypto/key-check.ts), at the id schema every boundary decodes with
// and at the signature check every signed mesh message goes through.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { idTextProblem, publicKeyProblem } from '../../src/crypto/key-check.ts';
import { nodeIdSchema } from '../../src/core/ids.ts';
import { verifyText } from '../../src/crypto/ed25519.ts';
import { decodeSignedSignal } from '../../src/net/signed-signal.ts';
import type { NodeId } from '../../src/core/types.ts';
import { forgedSignature, nonCanonicalKeysHex, smallOrderKeysHex, toId } from './weak-keys.ts';

const realId = (): string => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string;

describe('the key check', () => {
  it('names each of the 8 small-order points and every y ≥ p encoding, and passes real keys', () => {
    for (const hex of smallOrderKeysHex) expect(publicKeyProblem(Buffer.from(hex, 'hex')), hex).toBe('small-order');
    for (const hex of nonCanonicalKeysHex) expect(publicKeyProblem(Buffer.from(hex, 'hex')), hex).toBe('non-canonical');
    for (let i = 0; i < 50; i++) expect(idTextProblem(realId())).toBeNull();
    expect(publicKeyProblem(new Uint8Array(31))).toBe('length');
  });

  it('is applied by the node id schema that signaling and the mesh decode with', () => {
    for (const hex of [...smallOrderKeysHex, ...nonCanonicalKeysHex]) {
      const result = v.safeParse(nodeIdSchema, toId(hex));
      expect(result.success, hex).toBe(false);
    }
    expect(v.safeParse(nodeIdSchema, realId()).success).toBe(true);
  });

  it('makes the forged signature of the identity key fail verification (it verifies any message otherwise)', async () => {
    const identity = toId(smallOrderKeysHex[0] as string);
    expect(await verifyText(identity, 'tabmesh-signal/1\nanything at all', forgedSignature)).toBe(false);
    expect(await verifyText(identity, 'an overlay advert', forgedSignature)).toBe(false);
  });

  it('refuses a signed signal from a small-order id before its signature is looked at', () => {
    const me = realId() as NodeId;
    const from = toId(smallOrderKeysHex[0] as string);
    const signal = { body: { v: 1, from, to: me, session: 'abcdefgh12', kind: 'connect' }, sig: forgedSignature };
    const check = decodeSignedSignal(signal, me);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(/small-order/);
  });
});
