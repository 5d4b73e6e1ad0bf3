// Does this browser's WebCrypto do Ed25519 the way a node uses it (src/crypto/ed25519.ts)? A
// browser may expose crypto.subtle without Ed25519 (Chrome before 137), so the only honest
// check is to try: make a key, sign, export and re-import the public key as a node id is
// read back, and verify — a good signature must pass and a tampered message must fail.
// Used by the page before it starts the protocol worker, and by the worker itself.
import type { ProbeOutcome } from '../capabilities.ts';

const algorithm = { name: 'Ed25519' } as const;

export async function probeEd25519(subtle: SubtleCrypto | undefined): Promise<ProbeOutcome> {
  if (!subtle) return { ok: false, detail: 'crypto.subtle is not available' };
  let step = 'generateKey';
  try {
    const pair = (await subtle.generateKey(algorithm, false, ['sign', 'verify'])) as CryptoKeyPair;
    const message = new TextEncoder().encode('tabmesh capability probe');
    step = 'sign';
    const signature = await subtle.sign(algorithm, pair.privateKey, message);
    step = 'exportKey';
    const raw = await subtle.exportKey('raw', pair.publicKey);
    step = 'importKey';
    const publicKey = await subtle.importKey('raw', raw, algorithm, true, ['verify']);
    step = 'verify';
    if (!(await subtle.verify(algorithm, publicKey, signature, message))) return { ok: false, detail: 'an Ed25519 signature it had just made did not verify' };
    const tampered = message.slice();
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    if (await subtle.verify(algorithm, publicKey, signature, tampered))
      return { ok: false, detail: 'an Ed25519 signature verified for a message it was not made for' };
    return { ok: true };
  } catch (error) {
    return { ok: false, detail: `crypto.subtle.${step} refused Ed25519 (${describeError(error)})` };
  }
}

/** "Name: message" of a thrown value, for a detail line. */
export function describeError(error: unknown): string {
  if (error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException)) {
    return error.message ? `${error.name}: ${error.message}` : error.name;
  }
  return String(error);
}
