// Short-lived TURN credentials (coturn's use-auth-secret scheme): the exact format coturn
// checks, a fresh one in every /config.json, and the configuration refused with reasons.
import { webcrypto } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../signaling/cli.ts';
import { clientConfigSchema } from '../../signaling/ice-config.ts';
import { iceServersForPage, issueTurnCredential, turnCredentialFor } from '../../signaling/turn-credentials.ts';
import { startServer, type Running } from './helpers.ts';
import * as v from 'valibot';

/** Per test: generous, for a machine under load (the waits inside have their own deadlines). */
const testTimeoutMs = 30_000;

const secret = 'a-shared-static-auth-secret';

/** HMAC-SHA1 through WebCrypto: an independent computation of what coturn expects. */
async function expectedCredential(key: string, username: string): Promise<string> {
  const hmacKey = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(key), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  return Buffer.from(await webcrypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(username))).toString('base64');
}

describe('issueTurnCredential', () => {
  it('is <expiry unix seconds>:<tag> with base64(HMAC-SHA1(secret, username)) as the credential', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0, 750);
    const issued = issueTurnCredential(secret, 3_600, now, 'tag1');
    expect(issued.username).toBe(`${Date.UTC(2026, 0, 1, 13, 0, 0) / 1000}:tag1`);
    expect(issued.expiresAt).toBe(Date.UTC(2026, 0, 1, 13, 0, 0) / 1000);
    expect(issued.credential).toMatch(/^[A-Za-z0-9+/]{27}=$/); // 20 bytes, standard base64 with padding
    expect(issued.credential).toBe(await expectedCredential(secret, issued.username));
    expect(turnCredentialFor('another-secret-entirely', issued.username)).not.toBe(issued.credential);
  });

  it('gives every page its own random tag', () => {
    const tags = new Set(Array.from({ length: 50 }, () => issueTurnCredential(secret, 60, 0).username.split(':')[1]));
    expect(tags.size).toBe(50);
    for (const tag of tags) expect(tag).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('adds the TURN servers after the configured ones', () => {
    const servers = iceServersForPage(
      [{ urls: 'stun:stun.example.org' }],
      { secret, urls: ['turn:t.example.org:3478', 'turns:t.example.org:5349'], ttlS: 600 },
      0,
    );
    expect(servers).toHaveLength(2);
    expect(servers[0]).toEqual({ urls: 'stun:stun.example.org' });
    expect(servers[1]).toMatchObject({ urls: ['turn:t.example.org:3478', 'turns:t.example.org:5349'], username: expect.stringMatching(/^600:/) });
  });
});

describe('/config.json with TURN REST credentials', { timeout: testTimeoutMs }, () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.server.close();
    running = undefined;
  });

  it('hands each request a fresh credential that expires after the TTL and checks out with the secret', async () => {
    const wall = Date.UTC(2026, 5, 1);
    running = await startServer({ turnRest: { secret, urls: ['turn:127.0.0.1:3478'], ttlS: 900 }, wallClockMs: () => wall });
    const read = async () => {
      const res = await fetch(`${running?.httpUrl}/config.json`);
      expect(res.headers.get('cache-control')).toBe('no-store');
      return v.parse(clientConfigSchema, await res.json());
    };
    const [first, second] = [await read(), await read()];
    const a = first.iceServers[0];
    const b = second.iceServers[0];
    expect(a).toMatchObject({ urls: 'turn:127.0.0.1:3478', username: expect.stringMatching(new RegExp(`^${wall / 1000 + 900}:`)) });
    expect(a?.username).not.toBe(b?.username);
    expect(a?.credential).toBe(await expectedCredential(secret, a?.username ?? ''));
    expect(JSON.stringify(first)).not.toContain(secret);
  });
});

describe('TURN options of the server command line', () => {
  it('takes --turn-urls, --turn-secret and --turn-ttl, or the TABMESH_TURN_* variables (flags win)', () => {
    expect(parseCliArgs(['--turn-urls', 'turn:a:3478,turns:a:5349', '--turn-secret', secret], {})).toMatchObject({
      kind: 'run',
      turnRest: { urls: ['turn:a:3478', 'turns:a:5349'], secret, ttlS: 3_600 },
    });
    expect(parseCliArgs(['--turn-ttl', '120'], { TABMESH_TURN_URLS: 'turn:a', TABMESH_TURN_SECRET: secret })).toMatchObject({
      turnRest: { urls: ['turn:a'], ttlS: 120 },
    });
    expect(parseCliArgs(['--turn-secret', 'flag-secret-is-long-enough'], { TABMESH_TURN_URLS: 'turn:a', TABMESH_TURN_SECRET: secret })).toMatchObject({
      turnRest: { secret: 'flag-secret-is-long-enough' },
    });
    expect(parseCliArgs([], {})).toMatchObject({ turnRest: null });
  });

  it.each([
    [['--turn-secret', secret], /needs --turn-urls/],
    [['--turn-urls', 'turn:a'], /needs --turn-secret/],
    [['--turn-urls', 'stun:a', '--turn-secret', secret], /--turn-urls: .*turn: or turns:/],
    [['--turn-urls', 'turn:a', '--turn-secret', 'short'], /--turn-secret: .*at least 16 characters/],
    [['--turn-urls', 'turn:a', '--turn-secret', secret, '--turn-ttl', '5'], /--turn-ttl: the TTL is 60–86400 seconds, got 5/],
    [['--turn-urls', 'turn:a', '--turn-secret', secret, '--turn-ttl', '1h'], /--turn-ttl: the TTL is whole seconds/],
    [['--turn-ttl', '600'], /--turn-ttl needs --turn-urls and --turn-secret/],
  ])('%j is refused with the reason', (argv, why) => {
    const result = parseCliArgs(argv, {});
    expect(result.kind).toBe('error');
    if (result.kind === 'error') expect(result.message).toMatch(why);
  });
});
