// A node's identity: an Ed25519 key pair in WebCrypto. The private key is created
// non-extractable, so no script (ours included) can ever read it out of the browser; it is
// stored as a CryptoKey object in IndexedDB, which keeps it usable across reloads.
// The node id is the base64url raw public key, so any signature can be checked from the id.
import type { NodeId } from '../core/types.ts';
import { fromBase64Url, toBase64Url, utf8Bytes } from './base64url.ts';
import { publicKeyProblem } from './key-check.ts';

const algorithm = { name: 'Ed25519' } as const;

export interface Identity {
  id: NodeId;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function createIdentity(): Promise<Identity> {
  const pair = (await crypto.subtle.generateKey(algorithm, false, ['sign', 'verify'])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { id: toBase64Url(raw) as NodeId, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** Checks a stored identity record before trusting it (it crossed the storage boundary). */
export async function decodeStoredIdentity(raw: unknown): Promise<Identity | null> {
  if (!raw || typeof raw !== 'object') return null;
  const { id, privateKey, publicKey } = raw as Record<string, unknown>;
  if (typeof id !== 'string' || !(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey)) return null;
  if (privateKey.algorithm.name !== 'Ed25519' || privateKey.type !== 'private') return null;
  try {
    const exported = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
    if (toBase64Url(exported) !== id) return null;
  } catch {
    return null;
  }
  return { id: id as NodeId, privateKey, publicKey };
}

export async function signText(identity: Identity, text: string): Promise<string> {
  const sig = await crypto.subtle.sign(algorithm, identity.privateKey, utf8Bytes(text));
  return toBase64Url(new Uint8Array(sig));
}

/** Imported public keys, by id; bounded so a flood of new ids cannot grow memory. */
const publicKeyCache = new Map<string, CryptoKey>();
const publicKeyCacheLimit = 1024;

async function publicKeyOf(id: string): Promise<CryptoKey | null> {
  const cached = publicKeyCache.get(id);
  if (cached) return cached;
  const raw = fromBase64Url(id);
  // Small-order keys verify forged signatures; refused here so every mesh signature check is covered.
  if (!raw || publicKeyProblem(raw) !== null) return null;
  try {
    const key = await crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, algorithm, true, ['verify']);
    if (publicKeyCache.size >= publicKeyCacheLimit) {
      const oldest = publicKeyCache.keys().next().value;
      if (oldest !== undefined) publicKeyCache.delete(oldest);
    }
    publicKeyCache.set(id, key);
    return key;
  } catch {
    return null;
  }
}

/** True only for a valid signature by `signer` over `text`; never throws. */
export async function verifyText(signer: string, text: string, signature: string): Promise<boolean> {
  const key = await publicKeyOf(signer);
  const sig = fromBase64Url(signature);
  if (!key || !sig || sig.length !== 64) return false;
  try {
    return await crypto.subtle.verify(algorithm, key, sig as Uint8Array<ArrayBuffer>, utf8Bytes(text));
  } catch {
    return false;
  }
}
