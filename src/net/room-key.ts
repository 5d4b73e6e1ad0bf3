// The key of a private room, derived from its password. Everyone who knows the password derives
// the same key; the signaling server never sees the password or the key, only a verifier from
// which neither can be recovered (short of guessing the password, which the slow KDF makes
// expensive: every guess costs pbkdf2Iterations rounds of SHA-256).
//
//   password ──PBKDF2-SHA-256(salt = room name, pbkdf2Iterations)──► room secret (256 bits)
//   room secret ──HKDF "join verifier"──► 256 bits ──SHA-256──► verifier (sent with the join)
//   room secret ──HKDF "signal seal"───► AES-256-GCM key (non-extractable; seals signals)
//
// Two sub-keys from one secret keep the jobs apart: the verifier the server keeps tells it
// nothing about the sealing key. WebCrypto only (browsers, workers and Node 20 have it).
import { fromBase64Url, toBase64Url, utf8Bytes } from '../crypto/base64url.ts';

/**
 * PBKDF2 rounds. OWASP's 2023 figure for PBKDF2-HMAC-SHA-256: about half a second once per node
 * start on a laptop, and the same for every single guess of someone who captured a verifier
 * (the server operator could) and tries passwords offline.
 */
export const pbkdf2Iterations = 600_000;
/** Shortest password accepted: the KDF slows guessing down, it cannot make "1234" safe. */
export const minPasswordChars = 8;
/** Longest password accepted (a bound on the input, not a recommendation). */
export const maxPasswordChars = 1_024;
/** The verifier's text form: base64url of a SHA-256 digest. */
export const verifierPattern = /^[A-Za-z0-9_-]{43}$/;

const saltPrefix = 'tabmesh-room-salt/1\n';
const verifierInfo = 'tabmesh-join-verifier/1';
const sealInfo = 'tabmesh-signal-seal/1';

export interface RoomKey {
  readonly room: string;
  /** What the join carries: the server compares it with the room's first verifier. */
  readonly verifier: string;
  /** AES-256-GCM, non-extractable: seals every signal relayed by the server or the mesh. */
  readonly sealKey: CryptoKey;
}

/** Why a password cannot be used, in words a person can act on; null when it can. */
export function passwordProblem(password: string): string | null {
  if ([...password].length < minPasswordChars) return `a room password needs at least ${minPasswordChars} characters`;
  if (password.length > maxPasswordChars) return `a room password has at most ${maxPasswordChars} characters`;
  return null;
}

/**
 * Derives a room's key from its password. Deterministic per (room, password); slow on purpose
 * (pbkdf2Iterations). `iterations` is for tests only: fewer rounds, same construction.
 */
export async function deriveRoomKey(room: string, password: string, iterations = pbkdf2Iterations): Promise<RoomKey> {
  const problem = passwordProblem(password);
  if (problem) throw new Error(problem);
  const subtle = globalThis.crypto.subtle;
  const passwordKey = await subtle.importKey('raw', utf8Bytes(password.normalize('NFC')), 'PBKDF2', false, ['deriveBits']);
  const secret = new Uint8Array(await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: utf8Bytes(saltPrefix + room), iterations }, passwordKey, 256));
  try {
    const hkdfKey = await subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits', 'deriveKey']);
    const hkdf = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8Bytes(info) });
    const verifierBits = await subtle.deriveBits(hkdf(verifierInfo), hkdfKey, 256);
    const verifier = toBase64Url(new Uint8Array(await subtle.digest('SHA-256', verifierBits)));
    const sealKey = await subtle.deriveKey(hkdf(`${sealInfo}\n${room}`), hkdfKey, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    return { room, verifier, sealKey };
  } finally {
    // The secret leaves memory as soon as the sub-keys exist (a heap dump later finds nothing).
    secret.fill(0);
  }
}

/** True when `text` has the verifier's form (the server checks no more than that). */
export function isVerifier(text: string): boolean {
  return verifierPattern.test(text) && fromBase64Url(text)?.length === 32;
}
