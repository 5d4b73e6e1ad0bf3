// Issue 9, TURN: three tabs form the mesh when every connection must go through a real TURN
// relay (Debian's coturn, started here on loopback with static credentials), as devices
// behind NATs that cannot reach each other directly would. The server hands the pages the
// TURN server and iceTransportPolicy 'relay' at /config.json; each tab's RTCPeerConnections
// are then asked (getStats) which candidate pair they use: both ends must be relay candidates.
// A second case runs coturn with use-auth-secret (the TURN REST API): the Tabmesh server
// shares its secret and issues each page a short-lived credential; the mesh forms the same way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { ensureCoturn, startCoturn, stopCoturn, type Coturn } from '../nat-lab/coturn.ts';
import { recordPeerConnections, selectedPairTypes } from './peer-connections.ts';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, waitForSnapshot } from './harness.ts';

const turnUser = 'tabmesh';
const turnPassword = 'relay-only-test';
const turnRealm = 'tabmesh.test';
const room = 'turn';

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
    coturn = await startCoturn(dir, { auth: { kind: 'static', user: turnUser, password: turnPassword }, realm: turnRealm });
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
    coturn = await startCoturn(dir, { auth: { kind: 'rest', secret }, realm: turnRealm });
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
    const configs = await Promise.all(
      tabs.map((t) => t.evaluate(async () => (await fetch('/config.json')).json() as Promise<{ iceServers: Array<{ username: string; credential: string }> }>)),
    );
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
