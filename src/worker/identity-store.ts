// Loads this node's identity from its storage, or creates and saves one. A stored record that
// does not check out (corrupted, or written by something else) is set aside under another key
// and reported, and the node starts with a fresh identity rather than failing.
import { createIdentity, decodeStoredIdentity, type Identity } from '../crypto/ed25519.ts';
import type { Storage } from '../store/storage.ts';
import { setAside } from '../store/set-aside.ts';

const identityKey = 'node/identity';

export interface LoadedIdentity {
  identity: Identity;
  /** 'loaded', 'created', or why the stored one was set aside. */
  origin: 'loaded' | 'created' | `replaced: ${string}`;
}

export async function loadOrCreateIdentity(storage: Storage, now: number): Promise<LoadedIdentity> {
  const stored = await storage.get(identityKey);
  if (stored !== undefined) {
    const identity = await decodeStoredIdentity(stored);
    if (identity) return { identity, origin: 'loaded' };
    await setAside(storage, identityKey, stored, 'the stored identity did not check out; a new one was made', now);
  }
  const identity = await createIdentity();
  await storage.set(identityKey, { id: identity.id, privateKey: identity.privateKey, publicKey: identity.publicKey });
  return { identity, origin: stored === undefined ? 'created' : 'replaced: the stored identity did not check out' };
}
