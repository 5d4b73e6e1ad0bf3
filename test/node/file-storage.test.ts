// The Node peer's file store beyond the shared contract (test/contracts/storage.test.ts): it
// survives a restart, recovers from a crash in the middle of a batch, refuses what a file
// cannot hold, and a damaged file costs one key, reported — never the node.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { FileStorage, fileNameFor, journalName, maxSetAsideFiles, setAsideDirName } from '../../src/node/file-storage.ts';
import { decodeValue, encodeValue, UnstorableValueError } from '../../src/node/value-codec.ts';
import { envSeed, longMode, withSeed } from '../sim/seed.ts';

const root = mkdtempSync(join(tmpdir(), 'tabmesh-file-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = () => join(root, `store-${++dirCounter}`);

function open(dir: string) {
  const problems: string[] = [];
  const storage = new FileStorage(dir, { onProblem: (p) => problems.push(p) });
  return { storage, problems };
}

describe('FileStorage on disk', () => {
  test('what was written is there after a restart, in files only the owner can read', async () => {
    const dir = freshDir();
    const first = open(dir).storage;
    await first.set('gossip/self', { id: 'me', inc: 3 });
    await first.setMany([
      ['gossip/mem/a', 1],
      ['gossip/mem/b', [1, 2]],
    ]);
    await first.del('gossip/mem/a');
    const again = open(dir).storage;
    expect((await again.keys()).sort()).toEqual(['gossip/mem/b', 'gossip/self']);
    expect(await again.get('gossip/self')).toEqual({ id: 'me', inc: 3 });
    expect(await again.get('gossip/mem/a')).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual([fileNameFor('gossip/mem/b'), fileNameFor('gossip/self')].sort());
    if (process.platform !== 'win32') {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, fileNameFor('gossip/self'))).mode & 0o777).toBe(0o600);
    }
    // Readable by a person: the key and the value are right there in the file.
    expect(JSON.parse(readFileSync(join(dir, fileNameFor('gossip/self')), 'utf8'))).toEqual({ v: 1, key: 'gossip/self', value: { id: 'me', inc: 3 } });
  });

  test('operations take effect in the order they were called, without waiting for each', async () => {
    const { storage } = open(freshDir());
    const value = { n: 1 };
    const writes = [
      storage.set('k', value),
      storage.set('k', 2),
      storage.del('k'),
      storage.setMany([
        ['k', 3],
        ['j', 0],
        ['k', 4],
      ]),
    ];
    value.n = 99;
    const read = storage.get('k');
    await Promise.all(writes);
    expect(await read).toBe(4);
    const early = open(freshDir()).storage;
    const obj = { n: 1 };
    const pending = early.set('obj', obj);
    obj.n = 2; // changed before the write ran: what was passed in is what is stored
    await pending;
    expect(await early.get('obj')).toEqual({ n: 1 });
  });

  test('a damaged file is set aside and reported; every other key still reads', async () => {
    const dir = freshDir();
    const first = open(dir).storage;
    await first.setMany([
      ['good', 'fine'],
      ['truncated', { big: 'x'.repeat(100) }],
      ['edited', 1],
      ['moved', 2],
    ]);
    writeFileSync(join(dir, fileNameFor('truncated')), readFileSync(join(dir, fileNameFor('truncated')), 'utf8').slice(0, 30));
    writeFileSync(join(dir, fileNameFor('edited')), JSON.stringify({ v: 1, key: 'edited', value: { $tm: 'nonsense' } }));
    // A file copied under another key's name: it must not answer for that key.
    writeFileSync(join(dir, fileNameFor('moved')), readFileSync(join(dir, fileNameFor('good'))));

    const { storage, problems } = open(dir);
    expect((await storage.keys()).sort()).toEqual(['good']);
    expect(await storage.get('good')).toBe('fine');
    expect(await storage.get('truncated')).toBeUndefined();
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/bad JSON/);
    expect(problems.join('\n')).toMatch(/unknown tag "nonsense"/);
    expect(problems.join('\n')).toMatch(/belongs in another file/);
    expect(storage.problems).toBe(3);
    expect(readdirSync(join(dir, setAsideDirName))).toHaveLength(3);
    // The key can be written again.
    await storage.set('truncated', 'again');
    expect(await open(dir).storage.get('truncated')).toBe('again');
  });
});

describe('FileStorage after damage and crashes', () => {
  test('a file damaged while the store is open reads as missing, once, with a report', async () => {
    const dir = freshDir();
    const { storage, problems } = open(dir);
    await storage.set('k', 'v');
    writeFileSync(join(dir, fileNameFor('k')), '{"v":1,');
    expect(await storage.get('k')).toBeUndefined();
    expect(await storage.keys()).toEqual([]);
    expect(problems).toHaveLength(1);
  });

  test('a batch interrupted by a crash is finished when the store opens again', async () => {
    const dir = freshDir();
    const before = open(dir).storage;
    await before.set('a', 'old');
    // What setMany leaves behind if the process dies after the journal is written: the
    // journal, perhaps some of the entries, and a temporary file.
    const entry = (key: string, value: unknown) => JSON.stringify({ v: 1, key, value: encodeValue(value) });
    writeFileSync(join(dir, journalName), JSON.stringify({ v: 1, entries: [entry('a', 'new'), entry('b', new Uint8Array([9]))] }));
    writeFileSync(join(dir, `${fileNameFor('a')}.123-1.tmp`), 'half a wri');
    const { storage, problems } = open(dir);
    expect(await storage.get('a')).toBe('new');
    expect(await storage.get('b')).toEqual(new Uint8Array([9]));
    expect(problems).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual([fileNameFor('a'), fileNameFor('b')].sort());
  });

  test('an unreadable journal is set aside and reported; the batch is lost as a whole, not in part', async () => {
    const dir = freshDir();
    const before = open(dir).storage;
    await before.set('a', 'old');
    const entry = JSON.stringify({ v: 1, key: 'a', value: 'new' });
    writeFileSync(join(dir, journalName), JSON.stringify({ v: 1, entries: [entry, '{broken'] }));
    const { storage, problems } = open(dir);
    expect(await storage.get('a')).toBe('old');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/batch journal/);
    expect(existsSync(join(dir, journalName))).toBe(false);
  });

  test('what a file cannot hold is refused when written, with the reason, and nothing is stored', async () => {
    const { storage } = open(freshDir());
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    await expect(storage.set('key', { privateKey: pair.privateKey })).rejects.toThrow(
      /value\.privateKey is a CryptoKey: Node cannot write a non-extractable key/,
    );
    await expect(storage.set('fn', { f: () => 1 })).rejects.toThrow(/value\.f is a function/);
    await expect(storage.set('cls', { when: new URL('http://x') })).rejects.toThrow(/value\.when is an instance of URL/);
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    await expect(storage.set('cycle', cycle)).rejects.toThrow(/refers back to itself/);
    // One bad entry refuses the whole batch.
    await expect(
      storage.setMany([
        ['ok', 1],
        ['bad', Symbol('s')],
      ]),
    ).rejects.toThrow(UnstorableValueError);
    expect(await storage.keys()).toEqual([]);
    await expect(storage.set(42 as unknown as string, 1)).rejects.toThrow(/key must be a string/);
  });

  test('a directory that cannot be used fails every operation with the reason', async () => {
    const path = join(root, 'a-file');
    writeFileSync(path, 'not a directory');
    const { storage } = open(path);
    await expect(storage.get('k')).rejects.toThrow(/EEXIST|ENOTDIR/);
    await expect(storage.set('k', 1)).rejects.toThrow(/EEXIST|ENOTDIR/);
  });

  test('at most maxSetAsideFiles damaged files are kept', async () => {
    const dir = freshDir();
    const first = open(dir).storage;
    await first.set('seed', 1);
    mkdirSync(join(dir, setAsideDirName));
    for (let i = 0; i < maxSetAsideFiles + 5; i++) writeFileSync(join(dir, setAsideDirName, `old.json.${1000 + i}`), '');
    writeFileSync(join(dir, fileNameFor('seed')), 'garbage');
    await open(dir).storage.keys();
    const kept = readdirSync(join(dir, setAsideDirName));
    expect(kept).toHaveLength(maxSetAsideFiles);
    expect(kept).not.toContain('old.json.1000');
  });
});

describe('value encoding (what structured clone keeps, a file keeps)', () => {
  const roundTrip = (value: unknown) => {
    const text = JSON.stringify(encodeValue(value));
    const decoded = decodeValue(JSON.parse(text));
    if (!decoded.ok) throw new Error(decoded.error);
    return decoded.value;
  };

  test('special values', () => {
    const special = {
      nan: NaN,
      inf: Infinity,
      negInf: -Infinity,
      negZero: -0,
      undef: undefined,
      big: 12345678901234567890n,
      date: new Date(1_700_000_000_000),
      map: new Map<unknown, unknown>([
        [1, 'one'],
        [{ k: true }, [2]],
      ]),
      set: new Set(['a', 3]),
      bytes: new Uint8Array([0, 255, 7]),
      floats: new Float64Array([1.5, -0, NaN]),
      buffer: new Uint8Array([1, 2]).buffer,
      arr: [undefined, null, 1],
      tagLookalike: { $tm: 'num', v: 'NaN' },
      nullProto: Object.assign(Object.create(null) as object, { x: 1 }),
    };
    const back = roundTrip(special) as typeof special;
    expect(back).toEqual(structuredClone(special));
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.tagLookalike).toEqual({ $tm: 'num', v: 'NaN' });
    expect(back.buffer).toBeInstanceOf(ArrayBuffer);
    expect(back.floats).toBeInstanceOf(Float64Array);
  });

  test('a key named __proto__ stays a plain key and never changes the prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  const seed = envSeed() ?? 1;
  const runs = (n: number) => (longMode() ? n * 20 : n);

  test('any value structured clone keeps reads back equal (property)', () => {
    const value = fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
      withObjectString: true,
      maxDepth: 4,
    });
    withSeed(seed, () =>
      fc.assert(
        fc.property(value, (v) => {
          expect(roundTrip(v)).toEqual(structuredClone(v));
        }),
        { seed, numRuns: runs(300) },
      ),
    );
  });

  test('garbage read back from a file is refused with a reason, never thrown (property)', () => {
    withSeed(seed, () =>
      fc.assert(
        fc.property(
          fc.jsonValue(),
          fc.constantFrom('num', 'undef', 'bigint', 'buf', 'typed', 'date', 'map', 'set', 'obj', 'x'),
          fc.jsonValue(),
          (v, tag, k) => {
            for (const raw of [v, { $tm: tag, v }, { $tm: tag, v, k }, { a: [{ $tm: tag, v: k }] }]) {
              const decoded = decodeValue(raw);
              if (!decoded.ok) expect(decoded.error.length).toBeGreaterThan(5);
            }
          },
        ),
        { seed, numRuns: runs(500) },
      ),
    );
  });

  test('nesting deeper than the limit is refused both ways', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(() => encodeValue(deep)).toThrow(/nested deeper than 256/);
    let raw: unknown = 1;
    for (let i = 0; i < 300; i++) raw = [raw];
    expect(decodeValue(raw)).toEqual({ ok: false, error: expect.stringMatching(/nested deeper/) });
  });
});
