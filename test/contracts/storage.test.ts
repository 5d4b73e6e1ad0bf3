// One contract, every implementation: what the node relies on from its durable memory.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MemoryStorage } from '../../src/store/memory.ts';
import { IdbStorage } from '../../src/store/idb.ts';
import { FileStorage } from '../../src/node/file-storage.ts';
import type { Storage } from '../../src/store/storage.ts';

let databaseCounter = 0;
const fileRoot = mkdtempSync(join(tmpdir(), 'tabmesh-contract-'));
afterAll(() => rmSync(fileRoot, { recursive: true, force: true }));
const implementations: Array<[string, () => Storage]> = [
  ['MemoryStorage', () => new MemoryStorage()],
  ['IdbStorage (idb-keyval over IndexedDB)', () => new IdbStorage(`contract-${++databaseCounter}`)],
  ['FileStorage (a file per key, Node peer)', () => new FileStorage(join(fileRoot, String(++databaseCounter)))],
];
/** Node cannot write a non-extractable CryptoKey to a file; the Node peer keeps its key in identity.json. */
const cryptoKeyStores = implementations.filter(([name]) => !name.startsWith('FileStorage'));

describe.each(implementations)('%s', (_name, make) => {
  test('stores, reads back, overwrites and deletes values', async () => {
    const storage = make();
    expect(await storage.get('missing')).toBeUndefined();
    await storage.set('a', { n: 1, list: [1, 2], nested: { ok: true } });
    expect(await storage.get('a')).toEqual({ n: 1, list: [1, 2], nested: { ok: true } });
    await storage.set('a', 'replaced');
    expect(await storage.get('a')).toBe('replaced');
    await storage.del('a');
    expect(await storage.get('a')).toBeUndefined();
  });

  test('a caller mutating its object after writing does not change what was stored', async () => {
    const storage = make();
    const value = { count: 1 };
    await storage.set('k', value);
    value.count = 99;
    expect(await storage.get('k')).toEqual({ count: 1 });
  });

  test('setMany writes all entries; keys lists them by prefix', async () => {
    const storage = make();
    await storage.setMany([
      ['swarm/a', 1],
      ['swarm/b', 2],
      ['other', 3],
    ]);
    expect((await storage.keys('swarm/')).sort()).toEqual(['swarm/a', 'swarm/b']);
    expect((await storage.keys()).sort()).toEqual(['other', 'swarm/a', 'swarm/b']);
    await storage.clear();
    expect(await storage.keys()).toEqual([]);
  });

  test('keeps binary data', async () => {
    const storage = make();
    await storage.set('bytes', { bytes: new Uint8Array([1, 2, 3]) });
    expect(((await storage.get('bytes')) as { bytes: Uint8Array }).bytes).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe.each(cryptoKeyStores)('%s', (_name, make) => {
  test('keeps CryptoKeys usable (the identity of a tab lives in its store)', async () => {
    const storage = make();
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    await storage.set('key', { privateKey: pair.privateKey, bytes: new Uint8Array([1, 2, 3]) });
    const back = (await storage.get('key')) as { privateKey: CryptoKey; bytes: Uint8Array };
    expect(back.bytes).toEqual(new Uint8Array([1, 2, 3]));
    const sig = await crypto.subtle.sign({ name: 'Ed25519' }, back.privateKey, new Uint8Array([7]));
    expect(await crypto.subtle.verify({ name: 'Ed25519' }, pair.publicKey, sig, new Uint8Array([7]))).toBe(true);
  });
});
