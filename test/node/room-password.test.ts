// The Node peer's private-room password: from a file or the environment, never from a flag that
// every user of the machine can read in ps; bad input is refused with what to fix.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createTabmeshServer } from '../../signaling/server.ts';
import { NodePeerProcess } from './cli-process.ts';
import { nodeUsage, parseNodeArgs, passwordEnvName, type NodeCliCommand, type NodeRunOptions } from '../../src/node/cli.ts';
import { loadRoomPassword, maxPasswordFileBytes } from '../../src/node/room-password.ts';

const home = '/home/someone/.tabmesh-node';
const base = ['--room', 'vault', '--signal', 'http://h:1'];
const dir = mkdtempSync(join(tmpdir(), 'tabmesh-password-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: NodeCliCommand): NodeRunOptions {
  if (command.kind !== 'run') throw new Error(`expected run, got ${JSON.stringify(command)}`);
  return command.options;
}
function refusal(command: NodeCliCommand): string {
  if (command.kind !== 'error') throw new Error(`expected a refusal, got ${JSON.stringify(command)}`);
  return command.message;
}

describe('password options', () => {
  test('no password: an open room', () => {
    expect(run(parseNodeArgs(base, home, {})).password).toBeNull();
  });

  test('--password-file names the file; it beats the environment', () => {
    expect(run(parseNodeArgs([...base, '--password-file', '/run/secrets/room'], home, {})).password).toEqual({ from: 'file', path: '/run/secrets/room' });
    expect(run(parseNodeArgs([...base, '--password-file=/f'], home, { [passwordEnvName]: 'from the environment' })).password).toEqual({
      from: 'file',
      path: '/f',
    });
  });

  test(`${passwordEnvName} is read when no file is given, and checked`, () => {
    expect(run(parseNodeArgs(base, home, { [passwordEnvName]: 'correct horse battery' })).password).toEqual({ from: 'env', value: 'correct horse battery' });
    expect(refusal(parseNodeArgs(base, home, { [passwordEnvName]: 'short' }))).toMatch(new RegExp(`^${passwordEnvName}: .*at least 8 characters`));
  });

  test('--password is refused, saying why and what to use instead', () => {
    expect(refusal(parseNodeArgs([...base, '--password', 'hunter22hunter'], home, {}))).toMatch(
      /--password is not accepted: .*ps.*--password-file FILE.*TABMESH_ROOM_PASSWORD/,
    );
    expect(refusal(parseNodeArgs([...base, '--password=hunter22hunter'], home, {}))).toMatch(/--password is not accepted/);
  });

  test('the usage documents the file and the variable', () => {
    expect(nodeUsage).toContain('--password-file FILE');
    expect(nodeUsage).toContain(passwordEnvName);
  });
});

describe('loadRoomPassword', () => {
  test('the first line of the file, without its line ending', async () => {
    const file = join(dir, 'crlf');
    writeFileSync(file, 'correct horse battery\r\nsecond line ignored\n', { mode: 0o600 });
    expect(await loadRoomPassword({ from: 'file', path: file })).toEqual({ password: 'correct horse battery', notes: [] });
  });

  test('a file other users can read is used, with a note to chmod it', async () => {
    const file = join(dir, 'open');
    writeFileSync(file, 'correct horse battery\n');
    chmodSync(file, 0o644);
    const loaded = await loadRoomPassword({ from: 'file', path: file });
    expect(loaded.password).toBe('correct horse battery');
    expect(loaded.notes).toEqual([expect.stringMatching(/can be read by other users .*mode 644.*chmod 600/)]);
  });

  test('a missing file, a short password or an oversized file is refused with the path and the reason', async () => {
    await expect(loadRoomPassword({ from: 'file', path: join(dir, 'absent') })).rejects.toThrow(/absent: cannot read it \(ENOENT\)/);
    const short = join(dir, 'short');
    writeFileSync(short, 'abc\n', { mode: 0o600 });
    await expect(loadRoomPassword({ from: 'file', path: short })).rejects.toThrow(/short: .*at least 8 characters/);
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(maxPasswordFileBytes + 1), { mode: 0o600 });
    await expect(loadRoomPassword({ from: 'file', path: big })).rejects.toThrow(/one line/);
  });
});

describe('Node peers in a private room', () => {
  test('two with the password file link; one without lands in the open room of that name, is told why, and links with nobody', async () => {
    const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: dir });
    const { url } = await server.listen();
    const file = join(dir, 'room-password');
    writeFileSync(file, 'correct horse battery\n', { mode: 0o600 });
    const a = NodePeerProcess.start('vault', url, { extra: ['--password-file', file] });
    const b = NodePeerProcess.start('vault', url, { extra: ['--password-file', file] });
    const started: NodePeerProcess[] = [a, b];
    try {
      await a.waitFor((s) => s.id !== null && s.signaling === 'joined', 'A joined', 40_000);
      // Only now, so that the private room exists when the outsider joins (and it gets the notice).
      const outsider = NodePeerProcess.start('vault', url);
      started.push(outsider);
      await b.waitFor((s) => s.id !== null && s.signaling === 'joined', 'B joined', 40_000);
      await a.waitFor((s) => s.links.has(b.id), 'A linked to B', 40_000);
      await outsider.waitFor((_, events) => events.some((e) => e.event === 'signaling-notice'), 'the outsider told of the private room', 40_000);
      const notice = JSON.stringify(outsider.events.filter((e) => e.event === 'signaling-notice'));
      expect(notice).toMatch(/private-room-exists.*private room: you are in the open room of that name; to join the private one, enter its password/);
      expect(outsider.state.links.size).toBe(0);
      expect(a.state.links.has(outsider.id)).toBe(false);
      expect(server.stats()).toMatchObject({ rooms: 2, privateRooms: 1, nodes: 3 });
    } finally {
      await Promise.all(started.map((p) => p.dispose()));
      await server.close();
    }
  }, 120_000);
});
