// Issue 9, TURN: three tabs form the mesh when every connection must go through a real TURN
// relay (Debian's coturn, started here on loopback with static credentials), as devices
// behind NATs that cannot reach each other directly would. The server hands the pages the
// TURN server and iceTransportPolicy 'relay' at /config.json; each tab's RTCPeerConnections
// are then asked (getStats) which candidate pair they use: both ends must be relay candidates.
// A second case runs coturn with use-auth-secret (the TURN REST API): the Tabmesh server
// shares its secret and issues each page a short-lived credential; the mesh forms the same way.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, waitForSnapshot } from './harness.ts';

const turnserverPath = '/usr/bin/turnserver';
const turnUser = 'tabmesh';
const turnPassword = 'relay-only-test';
const turnRealm = 'tabmesh.test';
/** How long coturn may take to open its listener. */
const coturnStartDeadlineMs = 15_000;
const room = 'turn';

declare global {
  interface Window {
    /** Every RTCPeerConnection the page made (recorded by this test's init script). */
    __peerConnections?: RTCPeerConnection[];
  }
}

/** Debian's coturn, installed with apt-get when missing and we may (root on Debian); else a clear failure. */
function ensureCoturn(): void {
  if (existsSync(turnserverPath)) return;
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && existsSync('/etc/debian_version');
  if (!canInstall) {
    throw new Error(`The TURN test needs coturn (${turnserverPath}). Install it (Debian: \`apt-get install coturn\`) and run the test again.`);
  }
  console.log("No turnserver found: installing Debian's coturn package (apt-get), once…");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'coturn'], { stdio: 'inherit', env });
  if (!existsSync(turnserverPath)) throw new Error(`apt-get installed coturn, but ${turnserverPath} is still missing`);
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

interface Coturn {
  process: ChildProcess;
  port: number;
  logFile: string;
  log(): string;
}

/** static: one user and password; rest: coturn's use-auth-secret with a shared secret. */
type CoturnAuth = { kind: 'static' } | { kind: 'rest'; secret: string };

async function startCoturn(dir: string, auth: CoturnAuth = { kind: 'static' }): Promise<Coturn> {
  const port = await freeTcpPort();
  const logFile = join(dir, 'turn.log');
  const child = spawn(
    turnserverPath,
    [
      '-n', // no configuration file: everything is on this command line
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--min-port=49160',
      '--max-port=49959',
      ...(auth.kind === 'static' ? ['--lt-cred-mech', `--user=${turnUser}:${turnPassword}`] : ['--use-auth-secret', `--static-auth-secret=${auth.secret}`]),
      `--realm=${turnRealm}`,
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--no-multicast-peers',
      // The tabs are on this machine: relayed addresses and peers are all loopback.
      '--allow-loopback-peers',
      '--verbose',
      '--simple-log',
      `--log-file=${logFile}`,
      `--pidfile=${join(dir, 'turn.pid')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + output;
  const deadline = Date.now() + coturnStartDeadlineMs;
  while (!/listener opened on|Total General servers/i.test(log())) {
    if (child.exitCode !== null) throw new Error(`turnserver exited with code ${child.exitCode}:\n${log().slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`turnserver did not open its listener within ${coturnStartDeadlineMs} ms:\n${log().slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { process: child, port, logFile, log };
}

/** In the page: the candidate types of the pair each connected RTCPeerConnection uses. */
async function selectedPairTypes(page: Page): Promise<Array<{ local: string; remote: string; protocol: string }>> {
  return page.evaluate(async () => {
    const pairs: Array<{ local: string; remote: string; protocol: string }> = [];
    for (const pc of window.__peerConnections ?? []) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((report: Record<string, unknown>) => byId.set(report['id'] as string, report));
      let pairId: string | undefined;
      stats.forEach((report: Record<string, unknown>) => {
        if (report['type'] === 'transport' && typeof report['selectedCandidatePairId'] === 'string') pairId = report['selectedCandidatePairId'];
      });
      if (pairId === undefined) {
        stats.forEach((report: Record<string, unknown>) => {
          if (report['type'] === 'candidate-pair' && report['nominated'] === true && report['state'] === 'succeeded') pairId = report['id'] as string;
        });
      }
      const pair = pairId === undefined ? undefined : byId.get(pairId);
      const local = pair ? byId.get(pair['localCandidateId'] as string) : undefined;
      const remote = pair ? byId.get(pair['remoteCandidateId'] as string) : undefined;
      pairs.push({
        local: String(local?.['candidateType'] ?? 'none'),
        remote: String(remote?.['candidateType'] ?? 'none'),
        protocol: String(local?.['protocol'] ?? 'none'),
      });
    }
    return pairs;
  });
}

/** Keeps every RTCPeerConnection a page of `user` makes in window.__peerConnections. */
async function recordPeerConnections(user: BrowserContext): Promise<void> {
  await user.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const made: RTCPeerConnection[] = [];
    window.__peerConnections = made;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        made.push(this);
        // Old, closed connections are of no interest and should not pile up.
        if (made.length > 64) made.splice(0, made.length - 64);
      }
    } as typeof RTCPeerConnection;
  });
}

/** Stops the coturn a test started, by its pid, and waits for it to go. */
async function stopCoturn(coturn: Coturn | undefined): Promise<void> {
  if (!coturn || coturn.process.exitCode !== null) return;
  const exited = new Promise((resolve) => coturn.process.once('exit', resolve));
  coturn.process.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (coturn.process.exitCode === null) coturn.process.kill('SIGKILL');
}

describe('the mesh through a TURN relay only', () => {
  let dir: string;
  let coturn: Coturn | undefined;
  let server: TabmeshServer | undefined;
  let browser: Browser | undefined;
  let user: BrowserContext;
  const tabs: Page[] = [];

  beforeAll(async () => {
    ensureCoturn();
    dir = mkdtempSync(join(tmpdir(), 'tabmesh-turn-'));
    coturn = await startCoturn(dir);
    server = createTabmeshServer({
      port: 0,
      host: '127.0.0.1',
      staticDir: inject('distDir'),
      iceServers: [{ urls: `turn:127.0.0.1:${coturn.port}?transport=udp`, username: turnUser, credential: turnPassword }],
      iceTransportPolicy: 'relay',
    });
    const { url } = await server.listen();
    browser = await launchBrowser();
    user = await newUser(browser);
    await recordPeerConnections(user);
    for (let i = 0; i < 3; i++) tabs.push(await openTab(user, url, room));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    // Only the coturn this test started, by its pid.
    await stopCoturn(coturn);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the server tells pages to use the relay only', async () => {
    const page = tabs[0] as Page;
    const config = await page.evaluate(async () => (await fetch('/config.json')).json());
    expect(config).toMatchObject({ iceTransportPolicy: 'relay', iceServers: [{ username: turnUser }] });
  });

  test('three tabs link to each other, and every link goes through the TURN relay', async () => {
    const ids = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
    for (const [i, tab] of tabs.entries()) {
      const others = ids.filter((_, j) => j !== i).sort();
      await waitForSnapshot(
        tab,
        (s) => linkedPeers(s).join() === others.join() && s.links.every((l) => l.rttMs !== null),
        `tab ${i} linked to the other two over the relay`,
        60_000,
      );
    }
    for (const [i, tab] of tabs.entries()) {
      const pairs = await selectedPairTypes(tab);
      expect(pairs.length, `tab ${i} has a connected RTCPeerConnection per link`).toBeGreaterThanOrEqual(2);
      for (const pair of pairs) expect(pair, `tab ${i}: both candidates of the selected pair are relayed`).toMatchObject({ local: 'relay', remote: 'relay' });
    }
    // coturn saw the allocations too (its own record, independent of the browser's).
    expect(coturn?.log() ?? '').toMatch(/ALLOCATE/);
  }, 120_000);
});

describe('the mesh through TURN with short-lived credentials (coturn use-auth-secret)', () => {
  const secret = 'shared-secret-of-this-test-run';
  let dir: string;
  let coturn: Coturn | undefined;
  let server: TabmeshServer | undefined;
  let browser: Browser | undefined;
  const tabs: Page[] = [];

  beforeAll(async () => {
    ensureCoturn();
    dir = mkdtempSync(join(tmpdir(), 'tabmesh-turn-rest-'));
    coturn = await startCoturn(dir, { kind: 'rest', secret });
    server = createTabmeshServer({
      port: 0,
      host: '127.0.0.1',
      staticDir: inject('distDir'),
      turnRest: { secret, urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], ttlS: 600 },
      iceTransportPolicy: 'relay',
    });
    const { url } = await server.listen();
    browser = await launchBrowser();
    const user = await newUser(browser);
    await recordPeerConnections(user);
    for (let i = 0; i < 2; i++) tabs.push(await openTab(user, url, 'turn-rest'));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await stopCoturn(coturn);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('each page gets its own credential that expires, never the secret; two tabs link through the relay with them', async () => {
    const configs = await Promise.all(tabs.map((t) => t.evaluate(async () => (await fetch('/config.json')).json() as Promise<{ iceServers: Array<{ username: string; credential: string }> }>)));
    const usernames = configs.map((c) => c.iceServers[0]?.username ?? '');
    for (const name of usernames) {
      const expiry = Number(name.split(':')[0]);
      expect(expiry - Date.now() / 1000).toBeGreaterThan(500);
      expect(expiry - Date.now() / 1000).toBeLessThanOrEqual(601);
    }
    expect(new Set(usernames).size).toBe(2);
    expect(JSON.stringify(configs)).not.toContain(secret);

    const ids = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
    for (const [i, tab] of tabs.entries()) {
      const other = ids[1 - i] as string;
      await waitForSnapshot(tab, (s) => linkedPeers(s).includes(other) && s.links.every((l) => l.rttMs !== null), `tab ${i} linked over the relay`, 60_000);
    }
    for (const [i, tab] of tabs.entries()) {
      const pairs = await selectedPairTypes(tab);
      expect(pairs.length, `tab ${i} has a connected RTCPeerConnection`).toBeGreaterThanOrEqual(1);
      for (const pair of pairs) expect(pair, `tab ${i}: both candidates relayed`).toMatchObject({ local: 'relay', remote: 'relay' });
    }
    // coturn accepted allocations under the time-limited user names the server issued.
    const log = coturn?.log() ?? '';
    expect(log).toMatch(/ALLOCATE/);
    expect(log).toMatch(/user <\d{10}:[A-Za-z0-9_-]+>/);
  }, 120_000);
});
