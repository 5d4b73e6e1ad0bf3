// Issue 9, private rooms, as a person uses them: one tab makes a new room private by entering a
// password in the page, a second tab that opens the room link is told the room is private, enters
// the same password and then links with the first; a tab with a wrong password and a tab without
// one are told so on the page, and never link with anyone. (Issue 19: a room with a password is a
// namespace of its own, so those tabs land alone in their own rooms instead of being refused.)
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Duplex } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodePeerProcess } from '../node/cli-process.ts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, snapshotOf, startServer, waitForSnapshot, type RunningServer } from './harness.ts';

const room = `vault-${Math.random().toString(36).slice(2, 8)}`;
const password = 'correct horse battery staple';
/** Generous: under load a tab's start plus the 600,000-round key derivation can take a while. */
const joinDeadlineMs = 60_000;

/** Opens the room link in a new tab (no password: sessionStorage is per tab) and waits for its node. */
async function openRoom(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${url}?room=${room}`);
  await waitForSnapshot(page, (s) => s.signaling === 'joined' || s.signaling === 'refused', 'an answer from the server', joinDeadlineMs);
  return page;
}

/**
 * Types a password into the page's form and submits it, as a person would; the page restarts its
 * node. `open`: the form is behind its "Use a password" button (a tab alone in an open room);
 * otherwise it is already shown (a refused tab).
 */
async function enterPassword(page: Page, text: string, open = false): Promise<void> {
  if (open) await page.getByTestId('room-password-open').click({ timeout: joinDeadlineMs });
  await page.getByTestId('room-password-input').fill(text, { timeout: joinDeadlineMs });
  await Promise.all([page.waitForEvent('load'), page.getByTestId('room-password-submit').click()]);
}

/** The tab joined, alone, and the page shows the server's notice with the password form. */
async function expectNotice(page: Page, code: string, message: RegExp): Promise<void> {
  const snapshot = await waitForSnapshot(page, (s) => s.signaling === 'joined' && s.signalingNotice?.code === code, `notice ${code}`, joinDeadlineMs);
  expect(snapshot.signalingNotice?.message).toMatch(message);
  const shown = page.getByTestId('room-notice');
  await shown.waitFor({ state: 'visible', timeout: joinDeadlineMs });
  expect(await shown.textContent()).toMatch(message);
  await page.getByTestId('room-password-input').waitFor({ state: 'visible', timeout: joinDeadlineMs });
}

describe('private rooms in the browser', () => {
  let running: RunningServer;
  let browser: Browser;
  let user: BrowserContext;
  let creator: Page;
  let member: Page;
  let wrong: Page;
  let without: Page;

  /** Every byte the server wrote to a WebSocket (server frames are unmasked: readable as text). */
  const wire: Buffer[] = [];

  beforeAll(async () => {
    running = await startServer();
    running.server.httpServer.on('upgrade', (_req: unknown, socket: Duplex) => {
      const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (Buffer.isBuffer(chunk)) wire.push(Buffer.from(chunk));
        else if (typeof chunk === 'string') wire.push(Buffer.from(chunk));
        return write(chunk, ...rest);
      }) as typeof socket.write;
    });
    browser = await launchBrowser();
    user = await newUser(browser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await running?.stop();
  });

  test('a tab makes a new room private with a password from the form, and it stays out of the URL', async () => {
    creator = await openRoom(user, running.url);
    expect((await snapshotOf(creator)).privateRoom).toBe(false);
    await enterPassword(creator, password, true);
    const joined = await waitForSnapshot(creator, (s) => s.signaling === 'joined' && s.privateRoom, 'joined the room with its password', joinDeadlineMs);
    expect(joined.room).toBe(room);
    await creator.getByTestId('private-room').waitFor({ state: 'visible', timeout: joinDeadlineMs });
    expect(creator.url()).not.toContain('horse');
    expect(await creator.content()).not.toContain(password);
    expect(running.server.stats()).toMatchObject({ privateRooms: 1 });
  }, 120_000);

  test('a tab without the password is told the room is private on the page, then joins with it and links', async () => {
    member = await openRoom(user, running.url);
    await expectNotice(member, 'private-room-exists', /private room.*enter its password/);
    await enterPassword(member, password);
    const memberSnapshot = await waitForSnapshot(member, (s) => s.signaling === 'joined' && s.privateRoom, 'joined with the password', joinDeadlineMs);
    const creatorId = (await snapshotOf(creator)).id;
    await waitForSnapshot(member, (s) => linkedPeers(s).includes(creatorId) && s.links.every((l) => l.rttMs !== null), 'linked to the creator', joinDeadlineMs);
    await waitForSnapshot(creator, (s) => linkedPeers(s).includes(memberSnapshot.id), 'linked to the member', joinDeadlineMs);
    // Signals between them crossed the server sealed, and each opened the other's.
    const rejected = (await snapshotOf(member)).rejected;
    expect(Object.keys(rejected).filter((reason) => reason.startsWith('private room:'))).toEqual([]);
    const relayed = Buffer.concat(wire).toString('latin1');
    expect(relayed).toContain('"sealed":1');
    for (const plain of ['a=fingerprint', 'a=ice-ufrag', 'candidate:', '"sdp"', '"offer"']) expect(relayed, `the server relayed ${plain}`).not.toContain(plain);
  }, 180_000);

  test('a tab with a wrong password and a tab without one are told so on the page and never link', async () => {
    wrong = await openRoom(user, running.url);
    await expectNotice(wrong, 'private-room-exists', /private room/);
    await enterPassword(wrong, 'not the right password');
    await expectNotice(wrong, 'password-mismatch', /nobody in room "vault-[a-z0-9]+" uses this password/);
    without = await openRoom(user, running.url);
    await expectNotice(without, 'private-room-exists', /private room.*enter its password/);

    const outsiders = await Promise.all([wrong, without].map(async (p) => (await snapshotOf(p)).id));
    for (const page of [wrong, without]) {
      const s = await snapshotOf(page);
      expect(s.links).toEqual([]);
      expect(s.knownPeers).toEqual([]);
      expect(s.privateRoom).toBe(page === wrong);
    }
    for (const page of [creator, member]) {
      const s = await snapshotOf(page);
      expect(s.signaling).toBe('joined');
      for (const outsider of outsiders) {
        expect(s.knownPeers).not.toContain(outsider);
        expect(linkedPeers(s)).not.toContain(outsider);
      }
    }
    expect(running.server.stats().notices).toBeGreaterThanOrEqual(4);
    expect(running.server.stats().privateRooms).toBe(2);
    await Promise.all([wrong.close(), without.close()]);
  }, 180_000);

  test('a password cannot take over an open room with members: it makes a room of its own, and forgetting it rejoins the open one', async () => {
    const openRoom2 = `${room}-open`;
    const goTo = async (): Promise<Page> => {
      const page = await user.newPage();
      await page.goto(`${running.url}?room=${openRoom2}`);
      await waitForSnapshot(page, (s) => s.signaling === 'joined', 'joined the open room', joinDeadlineMs);
      return page;
    };
    const first = await goTo();
    const second = await goTo();
    const firstId = (await snapshotOf(first)).id;
    await waitForSnapshot(second, (s) => linkedPeers(s).includes(firstId), 'linked in the open room', joinDeadlineMs);
    // Through window.tabmesh this time (the form is only offered to a tab alone or told something).
    await Promise.all([second.waitForEvent('load'), second.evaluate((p) => void window.tabmesh.setRoomPassword(p), password).catch(() => undefined)]);
    // (the reload may tear down the evaluation's context before it answers: that is the point)
    const alone = await waitForSnapshot(second, (s) => s.signaling === 'joined' && s.privateRoom, 'joined a private room of that name', joinDeadlineMs);
    expect(alone.knownPeers).toEqual([]);
    // The open room is untouched: the first tab is still in it, open.
    expect((await snapshotOf(first)).signaling).toBe('joined');
    const forget = second.getByTestId('room-password-forget');
    await Promise.all([second.waitForEvent('load'), forget.click()]);
    const rejoined = await waitForSnapshot(second, (s) => s.signaling === 'joined' && !s.privateRoom, 'joined the open room again', joinDeadlineMs);
    await waitForSnapshot(second, (s) => linkedPeers(s).includes(firstId), 'linked in the open room again', joinDeadlineMs);
    expect(rejoined.signalingRefusal).toBeNull();
    await Promise.all([first.close(), second.close()]);
  }, 180_000);

  test('a headless Node peer with the password file links with the tabs: the same key in Node and in the browser', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabmesh-private-node-'));
    const file = join(dir, 'room-password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const node = NodePeerProcess.start(room, running.url, { extra: ['--password-file', file] });
    try {
      await node.waitFor((s) => s.id !== null && s.signaling === 'joined', 'the Node peer joined the private room', joinDeadlineMs);
      for (const page of [creator, member]) {
        await waitForSnapshot(page, (s) => linkedPeers(s).includes(node.id), 'a tab linked to the Node peer', joinDeadlineMs);
      }
      await node.waitFor((s) => s.links.size >= 2, 'the Node peer linked to both tabs', joinDeadlineMs);
    } finally {
      await node.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
