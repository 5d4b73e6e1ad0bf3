// Proof that a joining node holds the private key of the id it claims: it signs the server's
// one-time challenge together with the room and the id (protocol.ts joinSigningText).
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { joinSigningText, type JoinMessage } from './protocol.ts';
import { challengeBytes } from './limits.ts';
import { describeKeyProblem, publicKeyProblem } from '../src/crypto/key-check.ts';

/** Raw Ed25519 public key length; the node id is its base64url form. */
const publicKeyBytes = 32;

export type IdentityCheck = { ok: true } | { ok: false; code: 'bad-message' | 'bad-signature'; message: string };

export function newChallenge(): string {
  return randomBytes(challengeBytes).toString('base64url');
}

/**
 * The schema accepts any 43 base64url characters, but the last one carries two spare bits, so
 * four spellings decode to the same key. Only the canonical one is accepted; otherwise one key
 * could be in a room under several ids at once.
 */
export function isCanonicalNodeId(id: string): boolean {
  const raw = Buffer.from(id, 'base64url');
  return raw.length === publicKeyBytes && raw.toString('base64url') === id;
}

export function checkJoinSignature(challenge: string, join: JoinMessage): IdentityCheck {
  if (!isCanonicalNodeId(join.id)) {
    return {
      ok: false,
      code: 'bad-message',
      message: 'id: not the canonical base64url form of a 32-byte Ed25519 public key (use the JWK "x" of the key)',
    };
  }
  const keyProblem = publicKeyProblem(Buffer.from(join.id, 'base64url'));
  if (keyProblem !== null) {
    return { ok: false, code: 'bad-message', message: `id: ${describeKeyProblem(keyProblem)}; generate a fresh key pair` };
  }
  let valid: boolean;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: join.id }, format: 'jwk' });
    valid = verify(null, Buffer.from(joinSigningText(challenge, join.room, join.id)), key, Buffer.from(join.sig, 'base64url'));
  } catch {
    // Bytes that are not a usable public key cannot have produced a valid signature.
    valid = false;
  }
  if (valid) return { ok: true };
  return {
    ok: false,
    code: 'bad-signature',
    message: "sig: not a valid Ed25519 signature by id over joinSigningText(challenge, room, id) — sign the challenge from this connection's welcome",
  };
}
