// The Node peer's identity: its Ed25519 key pair, kept in <data dir>/identity.json.
//
// This is where the Node peer differs from a tab. A tab creates its private key
// non-extractable and stores the CryptoKey object itself in IndexedDB, so no script can ever
// read the key out. Node has no store that can hold a CryptoKey object across restarts, so the
// key is written out once, as a JWK (RFC 8037), to a file only its owner may read (mode 0600),
// in a directory only its owner may enter (0700) — the way ssh keeps its keys. In memory the
// key is imported non-extractable again. Whoever can read that file can act as this node:
// protect the data directory like any private key, and copy it to move the node elsewhere.
import { readFile, rename, stat, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import type { NodeId } from '../core/types.ts';
import { nodeIdPattern } from '../core/ids.ts';
import { toBase64Url } from '../crypto/base64url.ts';
import { signText, verifyText, type Identity } from '../crypto/ed25519.ts';
import type { LoadedIdentity } from '../worker/identity-store.ts';
import { writeFileAtomic } from './atomic-file.ts';

export const identityFileName = 'identity.json';
/** Owner read/write only. */
export const identityFileMode = 0o600;
const algorithm = { name: 'Ed25519' } as const;
const base64url = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte key in base64url'));
const identityFileSchema = v.object({
  v: v.literal(1),
  kind: v.literal('tabmesh-node-identity'),
  id: v.pipe(v.string(), v.regex(nodeIdPattern, 'not a node id')),
  jwk: v.object({ kty: v.literal('OKP'), crv: v.literal('Ed25519'), x: base64url, d: base64url }),
});

export interface FileIdentity extends LoadedIdentity {
  /** Things a person should know (a file readable by others was tightened, a bad one set aside). */
  notes: string[];
}

/**
 * Loads the identity from `dir`/identity.json, or creates one. A file that does not check out is
 * renamed aside (identity.json.bad-<time>) and a new identity is made: the node starts, under a
 * new id, and says why — as a tab does with a corrupted IndexedDB record.
 */
export async function loadOrCreateFileIdentity(dir: string, now: number): Promise<FileIdentity> {
  const path = join(dir, identityFileName);
  const notes: string[] = [];
  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let replaced: string | null = null;
  if (text !== null) {
    const loaded = await decodeIdentityFile(text);
    if (loaded.ok) {
      const tightened = await tightenMode(path);
      if (tightened) notes.push(tightened);
      return { identity: loaded.identity, origin: 'loaded', notes };
    }
    const aside = `${path}.bad-${now}`;
    await rename(path, aside);
    replaced = `${identityFileName} did not check out (${loaded.error}); kept it as ${aside}`;
    notes.push(`${replaced}; starting with a new identity`);
  }
  const identity = await createFileIdentity(path);
  return { identity, origin: replaced === null ? 'created' : `replaced: ${replaced}`, notes };
}

async function createFileIdentity(path: string): Promise<Identity> {
  // Extractable once, only to be written out; the key used from here on is imported non-extractable.
  const pair = (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const id = toBase64Url(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  const body = { v: 1, kind: 'tabmesh-node-identity', id, jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d } };
  await writeFileAtomic(path, `${JSON.stringify(body, null, 2)}\n`, { mode: identityFileMode });
  const loaded = await decodeIdentityFile(JSON.stringify(body));
  if (!loaded.ok) throw new Error(`a freshly made identity did not check out: ${loaded.error}`);
  return loaded.identity;
}

type DecodedIdentity = { ok: true; identity: Identity } | { ok: false; error: string };

/** Checks an identity file fully: shape, that the id is the public key, and that the pair signs. */
export async function decodeIdentityFile(text: string): Promise<DecodedIdentity> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const parsed = v.safeParse(identityFileSchema, raw);
  if (!parsed.success) return { ok: false, error: parsed.issues[0].message };
  const { id, jwk } = parsed.output;
  if (jwk.x !== id) return { ok: false, error: 'the id is not its public key' };
  let identity: Identity;
  try {
    const privateKey = await crypto.subtle.importKey('jwk', { ...jwk, ext: false }, algorithm, false, ['sign']);
    const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, algorithm, true, ['verify']);
    identity = { id: id as NodeId, privateKey, publicKey };
  } catch (error) {
    return { ok: false, error: `the key does not import: ${error instanceof Error ? error.message : String(error)}` };
  }
  const probe = `tabmesh-identity-check/1\n${id}`;
  if (!(await verifyText(id, probe, await signText(identity, probe)))) return { ok: false, error: 'the private key does not belong to the id' };
  return { ok: true, identity };
}

/** A key file others can read is tightened to 0600 (as ssh would refuse it); says so. */
async function tightenMode(path: string): Promise<string | null> {
  if (process.platform === 'win32') return null;
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  await chmod(path, identityFileMode);
  return `${path} was readable by others (mode ${mode.toString(8).padStart(4, '0')}); tightened it to 0600`;
}
