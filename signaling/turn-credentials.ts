// Short-lived TURN credentials: the "TURN REST API" scheme coturn implements with
// `use-auth-secret` + `static-auth-secret` (draft-uberti-behave-turn-rest-00). The Tabmesh
// server and the TURN server share a secret; each page gets, in /config.json, a username
// `<expiry unix seconds>:<random tag>` and the credential base64(HMAC-SHA1(secret, username)).
// coturn recomputes the HMAC and refuses the username once its expiry has passed, so a
// credential copied out of a page is good for at most the TTL, and the secret never leaves the
// server. With static credentials anyone who opens the page once can relay through the TURN
// server for ever.
import { createHmac, randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { decodeWith, type Decoded } from '../src/core/decode.ts';
import type { IceServerConfig } from './ice-config.ts';

/** Default lifetime of an issued credential: long enough for a session, short enough to be worthless once copied. */
export const defaultTurnCredentialTtlS = 3_600;
/** Shortest TTL accepted: a page must be able to open its links with the credential it was given. */
export const minTurnCredentialTtlS = 60;
/** Longest TTL accepted: beyond a day the credentials are no longer short-lived. */
export const maxTurnCredentialTtlS = 86_400;
/** Shortest shared secret accepted (characters): it is the key of the HMAC. */
export const minTurnSecretChars = 16;
/** Random bytes in a username's tag: tells credentials apart in coturn's logs; not a secret. */
const tagBytes = 9;

export interface TurnRestConfig {
  /** coturn's static-auth-secret. */
  secret: string;
  /** turn:/turns: URLs of the TURN server(s) that share the secret. */
  urls: string[];
  /** Seconds an issued credential is valid. */
  ttlS: number;
}

export interface TurnCredential {
  username: string;
  credential: string;
  /** Unix seconds after which the TURN server refuses it. */
  expiresAt: number;
}

/** The credential for `username` under `secret`: base64 (standard, padded) of HMAC-SHA1, as coturn computes it. */
export function turnCredentialFor(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** A fresh credential valid from `nowMs` for `ttlS` seconds; `tag` defaults to random text. */
export function issueTurnCredential(secret: string, ttlS: number, nowMs: number, tag: string = randomBytes(tagBytes).toString('base64url')): TurnCredential {
  const expiresAt = Math.floor(nowMs / 1000) + ttlS;
  const username = `${expiresAt}:${tag}`;
  return { username, credential: turnCredentialFor(secret, username), expiresAt };
}

/** The ICE servers for one page: the configured ones, then the TURN servers with a fresh credential. */
export function iceServersForPage(configured: IceServerConfig, turn: TurnRestConfig | null, nowMs: number): IceServerConfig {
  if (!turn) return configured;
  const { username, credential } = issueTurnCredential(turn.secret, turn.ttlS, nowMs);
  return [...configured, { urls: turn.urls.length === 1 ? (turn.urls[0] as string) : turn.urls, username, credential }];
}

const turnUrlSchema = v.pipe(v.string(), v.regex(/^turns?:[^\s,]+$/, 'a TURN URL starts with turn: or turns:, e.g. turn:turn.example.org:3478'));
const turnUrlsSchema = v.pipe(v.array(turnUrlSchema), v.minLength(1, 'name at least one TURN URL'), v.maxLength(8, 'at most 8 TURN URLs'));

/** Parses --turn-urls / TABMESH_TURN_URLS: comma-separated turn: or turns: URLs. */
export function parseTurnUrls(text: string): Decoded<string[]> {
  return decodeWith(
    turnUrlsSchema,
    text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );
}

/** Parses --turn-ttl / TABMESH_TURN_TTL: whole seconds within the bounds. */
export function parseTurnTtl(text: string): Decoded<number> {
  if (!/^\d{1,6}$/.test(text)) return { ok: false, error: `the TTL is whole seconds, got "${text}"` };
  const ttl = Number(text);
  if (ttl < minTurnCredentialTtlS || ttl > maxTurnCredentialTtlS) {
    return { ok: false, error: `the TTL is ${minTurnCredentialTtlS}–${maxTurnCredentialTtlS} seconds, got ${ttl}` };
  }
  return { ok: true, value: ttl };
}

/** Checks --turn-secret / TABMESH_TURN_SECRET. */
export function checkTurnSecret(secret: string): string | null {
  if (secret.length < minTurnSecretChars) return `the TURN secret needs at least ${minTurnSecretChars} characters (the same as coturn's static-auth-secret)`;
  if (/\s/.test(secret)) return 'the TURN secret must not contain spaces or line breaks';
  return null;
}
