// The text forms of ids and signatures, as schemas for every boundary. Both are base64url of
// fixed-size byte strings, whose last character carries spare bits; only the canonical
// spelling (spare bits zero) is accepted, so one key cannot appear under several ids.
import * as v from 'valibot';
import { isAcceptableIdText } from '../crypto/key-check.ts';

/** 32 bytes = 43 characters; the last one encodes 2 spare bits. */
export const nodeIdPattern = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** 64 bytes = 86 characters; the last one encodes 4 spare bits. */
export const signaturePattern = /^[A-Za-z0-9_-]{85}[AQgw]$/;

/**
 * Every id that crosses a boundary (signaling, signed signals, every mesh message) goes through
 * this schema, so the key check (src/crypto/key-check.ts: no small-order or non-canonical keys)
 * holds everywhere at once.
 */
export const nodeIdSchema = v.pipe(
  v.string(),
  v.regex(nodeIdPattern, 'a node id is the canonical base64url form (43 characters) of an Ed25519 public key'),
  v.check(isAcceptableIdText, 'a node id must be a usable Ed25519 public key: small-order and non-canonical keys are refused, since anyone can sign as them'),
);
export const signatureSchema = v.pipe(
  v.string(),
  v.regex(signaturePattern, 'a signature is the canonical base64url form (86 characters) of an Ed25519 signature'),
);

/** A JSON object (not an array, not null) with string keys. */
export const plainObjectSchema = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check((value) => !Array.isArray(value), 'must be an object, not an array'),
);
