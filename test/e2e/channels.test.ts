// App channels in real Chromium: three tabs in a line (A – B – C: A and C are not neighbours), a JSON message and a 16 MiB binary one from A reach C routed through
// B, checksums equal, while gossip and consensus keep working during the transfer.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { launchBrowser, linkedPeers, newUser, snapshotOf, waitForSnapshot } from './harness.ts';
import { buildChannelsPage } from './channels/build.ts';
import { waitForLine } from './channels/line.ts';

/** Opens the channel test page (test/e2e/channels) in `room` and waits until it joined. */
async function openChannelsTab(browser: Browser, url: string, room: string): Promise<Page> {
  const page = await (await newUser(browser)).newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${url}?room=${encodeURIComponent(room)}`);
  await waitForSnapshot(page, (s) => s.signaling === 'joined', 'joined the room', 30_000);
  return page;
}

/** Starts listening on `name` in the page; messages go to window.received[name] (bytes as length + SHA-256). */
async function listen(page: Page, name: string): Promise<void> {
  await page.evaluate((name) => {
    const w = window as unknown as { received: Record<string, unknown[]> };
    w.received ??= {};
    const list: unknown[] = (w.received[name] = []);
    window.channels.open(name).on((message, from) => {
      if (!(message instanceof Uint8Array)) return void list.push({ message, from });
      void crypto.subtle
        .digest('SHA-256', message as Uint8Array<ArrayBuffer>)
        .then((d) => list.push({ bytes: message.length, sha256: [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join(''), from }));
    });
  }, name);
}

async function received(page: Page, name: string, count: number, what: string): Promise<unknown[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await page.evaluate((name) => (window as unknown as { received: Record<string, unknown[]> }).received[name] ?? [], name);
    if (list.length >= count) return list;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(list)}`);
    await page.waitForTimeout(100);
  }
}

describe('app channels across three tabs in a line', () => {
  let staticDir = '';
  let server: TabmeshServer;
  let url: string;
  let browser: Browser;
  let a: Page;
  let b: Page;
  let c: Page;
  let ids: { a: string; b: string; c: string };

  beforeAll(async () => {
    staticDir = await buildChannelsPage();
    server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir });
    url = (await server.listen()).url;
    browser = await launchBrowser();
    // Two tabs keep one link each, one keeps two: a line, whose ends reach each other only
    // through the middle (waitForLine names the ends a and c, the middle b).
    const tabs: Page[] = [];
    for (const [min, max] of [
      [2, 2],
      [1, 1],
      [1, 1],
    ] as const) {
      const tab = await openChannelsTab(browser, url, 'channels');
      await tab.evaluate(([min, max]) => window.tabmesh.setLinkBounds(min, max), [min, max] as const);
      tabs.push(tab);
    }
    ({ a, b, c, ids } = await waitForLine(tabs, (tab) => snapshotOf(tab).catch(() => null)));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (staticDir) rmSync(staticDir, { recursive: true, force: true });
  });

  test('a JSON message reaches a node that is not a neighbour, routed through B', async () => {
    await listen(c, 'chat');
    const forwardedBefore = (await snapshotOf(b)).routing.forwarded;
    await a.evaluate((to) => window.channels.open('chat').send({ text: 'hi from A', n: [1, 2, 3] }, { to }), ids.c);
    const [got] = await received(c, 'chat', 1, 'the chat message at C');
    expect(got).toEqual({ message: { text: 'hi from A', n: [1, 2, 3] }, from: ids.a });
    expect(linkedPeers(await snapshotOf(a))).toEqual([ids.b]);
    // B forwarded it (its snapshot's counters are posted a little later than they move).
    await waitForSnapshot(b, (s) => s.routing.forwarded > forwardedBefore, 'B counts the forwarded chunk and acknowledgement');
  });

  test('16 MiB of bytes reach C whole (same SHA-256), while gossip and consensus keep working', async () => {
    await listen(c, 'files');
    await waitForSnapshot(
      b,
      (s) => s.consensus.status === 'replica' && s.consensus.genesis?.settled === true && s.consensus.replicas.length === 3,
      'B is one of three replicas',
      60_000,
    );
    // The bytes are made in A's page; the send runs on while the test goes on.
    const sentDigest = await a.evaluate(async (to) => {
      const bytes = new Uint8Array(16 * 1024 * 1024);
      for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
      const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
      const w = window as unknown as { bigSend: { done: boolean; error: string | null } };
      w.bigSend = { done: false, error: null };
      window.channels
        .open('files')
        .send(bytes, { to })
        .then(
          () => (w.bigSend.done = true),
          (e: Error) => (w.bigSend.error = `${(e as Error & { code?: string }).code}: ${e.message}`),
        );
      return digest;
    }, ids.c);
    const inFlight = async () => !(await a.evaluate(() => (window as unknown as { bigSend: { done: boolean } }).bigSend.done));
    await waitForSnapshot(a, (s) => s.channels.outgoing === 1 && s.channels.counters.sent >= 1, 'the transfer under way at A');
    // Gossip: a memory write at C reaches A; consensus: a proposal from A commits.
    await c.evaluate(() => window.tabmesh.setMemory('during-transfer', 'still gossiping'));
    await waitForSnapshot(a, (s) => s.memory['during-transfer'] === 'still gossiping', 'the memory write from C at A');
    const seq = await a.evaluate(() => window.tabmesh.propose('decided during the transfer'));
    expect(seq).toBeGreaterThan(0);
    // Both happened while the 16 MiB were still on their way.
    expect(await inFlight()).toBe(true);
    const [got] = await received(c, 'files', 1, 'the 16 MiB message at C');
    expect(got).toEqual({ bytes: 16 * 1024 * 1024, sha256: sentDigest, from: ids.a });
    await expect.poll(() => a.evaluate(() => (window as unknown as { bigSend: unknown }).bigSend), { timeout: 30_000 }).toEqual({ done: true, error: null });
    // Nothing was dropped or refused on the way, and no link fell.
    for (const tab of [a, b, c]) {
      const s = await snapshotOf(tab);
      expect(Object.keys(s.rejected).filter((r) => r.includes('rate limit') || r.includes('cut off') || r.startsWith('channel'))).toEqual([]);
    }
    expect(linkedPeers(await snapshotOf(a))).toEqual([ids.b]);
    const atC = await waitForSnapshot(c, (s) => s.channels.counters.received === 2, 'C counts both messages');
    expect(atC.channels.counters.dropped).toEqual({});
  });

  // Last: it leaves A throttled at C for a minute.
  test("messages failing C's validator never reach its listener; A gets throttled and its sends to C then reject with channel-throttled", async () => {
    await c.evaluate(() => {
      const w = window as unknown as { strict: unknown[] };
      w.strict = [];
      // A Standard Schema written out by hand (what valibot, zod and arktype provide).
      const hasText = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: (value: unknown) =>
            typeof (value as { text?: unknown } | null)?.text === 'string'
              ? { value: value as { text: string } }
              : { issues: [{ message: 'text must be a string' }] },
        },
      };
      window.channels.open('strict', { validate: hasText }).on((message) => w.strict.push(message));
    });
    const sendFromA = (message: unknown) =>
      a.evaluate(
        ({ message, to }) =>
          window.channels
            .open('strict')
            .send(message as never, { to })
            .then(
              () => 'sent',
              (e: Error & { code?: string }) => e.code ?? e.message,
            ),
        { message, to: ids.c },
      );
    expect(await sendFromA({ text: 'valid' })).toBe('sent');
    // Bad messages are taken by C's node (acknowledged), refused by the validator, and counted.
    for (let i = 0; i < 11; i++) expect(await sendFromA({ text: i })).toBe('sent');
    const throttled = await waitForSnapshot(c, (s) => s.channels.throttled.some((t) => t.origin === ids.a), 'C throttles A');
    expect(throttled.channels.counters.invalid).toEqual({ strict: 11 });
    expect(await c.evaluate(() => (window as unknown as { strict: unknown[] }).strict)).toEqual([{ text: 'valid' }]);
    expect(await sendFromA({ text: 'valid again' })).toBe('channel-throttled');
    await waitForSnapshot(a, (s) => s.channels.counters.failed.throttled === 1, 'A counts the send C refused as throttled');
    // B is not disturbed: its messages still reach C.
    expect(
      await b.evaluate(
        (to) =>
          window.channels
            .open('strict')
            .send({ text: 'from B' }, { to })
            .then(() => 'sent'),
        ids.c,
      ),
    ).toBe('sent');
    await expect.poll(() => c.evaluate(() => (window as unknown as { strict: unknown[] }).strict)).toEqual([{ text: 'valid' }, { text: 'from B' }]);
  });
});
