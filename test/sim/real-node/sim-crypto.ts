// Identities and signatures for simulated nodes. Ids are real Ed25519 public keys derived from
// the seed (so every id decoder accepts them). Signatures are either fast and fake — SHA-512
// over a per-node secret and the text, 64 bytes like Ed25519's, checkable only by this object,
// so a node can sign only as itself and a forgery fails exactly as it would for real — or real
// Ed25519 (node:crypto, synchronous and deterministic) when a run asks for it. Either way no
// work leaves the event loop, so runs stay replayable.
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { Rng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import type { Identity } from '../../../src/crypto/ed25519.ts';
import type { RuntimeCrypto } from '../../../src/worker/runtime.ts';

export type SignatureMode = 'fast' | 'ed25519';

/**
 * Fast signatures remembered with what they signed, so checking one again needs no hash: a
 * flooded advert is checked by every node of the room. Past this many the memory starts over.
 */
const rememberedSignatures = 16_384;

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

interface Keys {
  secret: string;
  privateKey: KeyObject;
}

export class SimCrypto {
  private readonly keys = new Map<string, Keys>();
  private readonly publicKeys = new Map<string, KeyObject | null>();
  /** Fast signature → `signer\ntext` it was made over (see rememberedSignatures). */
  private readonly signed = new Map<string, string>();
  /** Signatures made and checked (a figure for the bench). */
  readonly counts = { signed: 0, verified: 0, refused: 0 };

  constructor(private readonly mode: SignatureMode) {}

  /** A new identity from the run's randomness. */
  newIdentity(rng: Rng): Identity {
    const seed = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) seed[i] = rng.int(256);
    const privateKey = createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
    const id = createPublicKey(privateKey).export({ format: 'jwk' }).x as NodeId;
    this.keys.set(id, { secret: seed.toString('hex'), privateKey });
    // The runtime hands the identity back to sign(); nothing else reads the key objects.
    return { id, privateKey: privateKey as unknown as CryptoKey, publicKey: createPublicKey(privateKey) as unknown as CryptoKey };
  }

  /** The runtime's crypto for one node life: signs as `identity`, draws bytes from `rng`. */
  forNode(rng: Rng): RuntimeCrypto {
    return {
      sign: async (identity, text) => this.sign(identity.id, text),
      verify: async (signer, text, signature) => this.verify(signer, text, signature),
      randomBytes: (count) => {
        const out = new Uint8Array(count);
        for (let i = 0; i < count; i++) out[i] = rng.int(256);
        return out;
      },
    };
  }

  sign(id: string, text: string): string {
    const keys = this.keys.get(id);
    if (!keys) throw new Error(`no key for ${id.slice(0, 8)}: only simulated identities can sign`);
    this.counts.signed++;
    if (this.mode === 'ed25519') return edSign(null, Buffer.from(text, 'utf8'), keys.privateKey).toString('base64url');
    const signature = createHash('sha512').update(keys.secret).update('\n').update(text).digest('base64url');
    if (this.signed.size >= rememberedSignatures) this.signed.clear();
    this.signed.set(signature, `${id}\n${text}`);
    return signature;
  }

  verify(signer: string, text: string, signature: string): boolean {
    this.counts.verified++;
    const ok = this.mode === 'ed25519' ? this.verifyEd25519(signer, text, signature) : this.verifyFast(signer, text, signature);
    if (!ok) this.counts.refused++;
    return ok;
  }

  private verifyFast(signer: string, text: string, signature: string): boolean {
    const keys = this.keys.get(signer);
    if (!keys || typeof signature !== 'string') return false;
    // The same signer and text give the same signature: a remembered one answers exactly as hashing would.
    const remembered = this.signed.get(signature);
    if (remembered !== undefined && remembered === `${signer}\n${text}`) return true;
    return createHash('sha512').update(keys.secret).update('\n').update(text).digest('base64url') === signature;
  }

  private verifyEd25519(signer: string, text: string, signature: string): boolean {
    let key = this.publicKeys.get(signer);
    if (key === undefined) {
      try {
        key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: signer }, format: 'jwk' });
      } catch {
        key = null;
      }
      this.publicKeys.set(signer, key);
    }
    const sig = Buffer.from(signature, 'base64url');
    if (!key || sig.length !== 64) return false;
    try {
      return edVerify(null, Buffer.from(text, 'utf8'), key, sig);
    } catch {
      return false;
    }
  }
}
