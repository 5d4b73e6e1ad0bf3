// The Node peer's identity file and its data-directory lock.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { claimDataDir, DataDirBusyError, lockFileName } from '../../src/node/data-dir.ts';
import { decodeIdentityFile, identityFileName, loadOrCreateFileIdentity } from '../../src/node/identity-file.ts';
import { signText, verifyText } from '../../src/crypto/ed25519.ts';

const root = mkdtempSync(join(tmpdir(), 'tabmesh-identity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `node-${++counter}`);
const posix = process.platform !== 'win32';

describe('identity.json', () => {
  test('is created once, private to its owner, and gives the same id on every start', async () => {
    const dir = mkdtempSync(join(root, 'node-'));
    const created = await loadOrCreateFileIdentity(dir, 1);
    expect(created.origin).toBe('created');
    expect(created.identity.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    if (posix) expect(statSync(join(dir, identityFileName)).mode & 0o777).toBe(0o600);
    const loaded = await loadOrCreateFileIdentity(dir, 2);
    expect(loaded.origin).toBe('loaded');
    expect(loaded.identity.id).toBe(created.identity.id);
    expect(loaded.notes).toEqual([]);
    // The loaded key signs for its id, and cannot be read back out of memory.
    const sig = await signText(loaded.identity, 'hello');
    expect(await verifyText(created.identity.id, 'hello', sig)).toBe(true);
    expect(loaded.identity.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', loaded.identity.privateKey)).rejects.toThrow();
  });

  test.runIf(posix)('a key file others can read is tightened to 0600, and the operator is told', async () => {
    const dir = mkdtempSync(join(root, 'node-'));
    await loadOrCreateFileIdentity(dir, 1);
    chmodSync(join(dir, identityFileName), 0o644);
    const loaded = await loadOrCreateFileIdentity(dir, 2);
    expect(loaded.origin).toBe('loaded');
    expect(loaded.notes.join()).toMatch(/readable by others \(mode 0644\); tightened it to 0600/);
    expect(statSync(join(dir, identityFileName)).mode & 0o777).toBe(0o600);
  });

  test('a file that does not check out is kept aside and a new identity is made, saying why', async () => {
    const dir = mkdtempSync(join(root, 'node-'));
    const first = await loadOrCreateFileIdentity(dir, 1);
    const good = JSON.parse(readFileSync(join(dir, identityFileName), 'utf8')) as { id: string; jwk: { x: string; d: string } };
    // Someone pasted another node's private key under this node's id.
    const otherFile = JSON.parse(readFileSync(join(await newIdentityDir(), identityFileName), 'utf8')) as { jwk: { d: string } };
    writeFileSync(join(dir, identityFileName), JSON.stringify({ ...good, jwk: { ...good.jwk, d: otherFile.jwk.d } }));
    const replaced = await loadOrCreateFileIdentity(dir, 77);
    expect(replaced.origin).toMatch(/^replaced: identity\.json did not check out \((the key does not import|the private key does not belong to the id)/);
    expect(replaced.identity.id).not.toBe(first.identity.id);
    expect(readdirSync(dir).sort()).toEqual([identityFileName, `${identityFileName}.bad-77`]);
    expect(replaced.notes.join()).toMatch(/starting with a new identity/);
  });

  test.each([
    ['not JSON', 'nope', /not JSON/],
    ['another format', JSON.stringify({ v: 2 }), /.+/],
    ['an id that is not the public key', null, /the id is not its public key/],
  ])('refuses %s', async (_what, text, why) => {
    let body = text;
    if (body === null) {
      const file = JSON.parse(readFileSync(join(await newIdentityDir(), identityFileName), 'utf8')) as { id: string };
      body = JSON.stringify({ ...file, id: `${file.id.slice(0, 42)}${file.id.endsWith('A') ? 'E' : 'A'}` });
    }
    const decoded = await decodeIdentityFile(body);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error).toMatch(why);
  });

  async function newIdentityDir(): Promise<string> {
    const dir = mkdtempSync(join(root, 'other-'));
    await loadOrCreateFileIdentity(dir, 1);
    return dir;
  }
});

describe('the data directory lock', () => {
  test('one process per directory; the lock goes with release', async () => {
    const path = freshDir();
    const held = await claimDataDir(path);
    expect(existsSync(join(path, lockFileName))).toBe(true);
    await held.release();
    expect(existsSync(join(path, lockFileName))).toBe(false);
    const again = await claimDataDir(path);
    await again.release();
  });

  test('a live tabmesh-node holding the directory is named in the refusal', async () => {
    const path = freshDir();
    // A stand-in for another running node: a live process whose command line looks like one.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '--signal'], { stdio: 'ignore' });
    try {
      mkdirSync(path);
      writeFileSync(join(path, lockFileName), JSON.stringify({ pid: other.pid, host: hostname(), since: 'earlier' }));
      const attempt = claimDataDir(path);
      await expect(attempt).rejects.toThrow(DataDirBusyError);
      await expect(attempt).rejects.toThrow(new RegExp(`another tabmesh-node \\(pid ${other.pid}\\) is using .*give this one its own --data directory`));
    } finally {
      other.kill('SIGKILL');
    }
  });

  test('the lock of a process that died (or of a reused pid) is taken over', async () => {
    const path = mkdtempSync(join(root, 'dir-'));
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => gone.on('exit', resolve));
    for (const pid of [gone.pid, process.pid]) {
      writeFileSync(join(path, lockFileName), JSON.stringify({ pid, host: hostname(), since: 'earlier' }));
      const held = await claimDataDir(path);
      expect(JSON.parse(readFileSync(join(path, lockFileName), 'utf8')).pid).toBe(process.pid);
      await held.release();
    }
    writeFileSync(join(path, lockFileName), 'garbage');
    await (await claimDataDir(path)).release();
  });

  test('a lock from another machine (a shared disk) is not taken over silently', async () => {
    const path = mkdtempSync(join(root, 'dir-'));
    writeFileSync(join(path, lockFileName), JSON.stringify({ pid: 1, host: 'some-other-host', since: 'earlier' }));
    await expect(claimDataDir(path)).rejects.toThrow(/in use by a tabmesh-node on some-other-host.*delete/);
  });
});
