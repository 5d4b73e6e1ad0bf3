// Fast deterministic stand-ins for SHA-256 and Ed25519 in simulations. A fake signature is a
// hash of (signer, text), so it verifies only for the signer whose key (here: name) made it:
// a 'forge' replica that labels its message with another signer produces a signature that
// fails exactly as an Ed25519 signature made with the wrong key would.
import { hashString } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { signaturesToVerify, type PbftMessage } from '../../../src/core/pbft/messages.ts';

/** Two FNV-1a variants side by side: 64 bits, plenty against accidental collisions in tests. */
export function fakeDigest(text: string): string {
  const a = hashString(text);
  const b = hashString(`${text.length}:${text}`);
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** What a node's runtime signs with "its key" (its id). */
export function fakeSign(keyOwner: NodeId, text: string): string {
  return fakeDigest(`sig\u0000${keyOwner}\u0000${text}`);
}

export function fakeVerify(signer: NodeId, text: string, sig: string): boolean {
  return fakeSign(signer, text) === sig;
}

/** Checks every signature the core needs checked; the first bad one's signer, or null if all good. */
export function verifyAll(msg: PbftMessage, cache?: Set<string>): NodeId | null {
  for (const check of signaturesToVerify(msg)) {
    const key = cache ? `${check.signer}\u0000${check.sig}\u0000${check.bytes}` : '';
    if (cache?.has(key)) continue;
    if (!fakeVerify(check.signer, check.bytes, check.sig)) return check.signer;
    cache?.add(key);
  }
  return null;
}
