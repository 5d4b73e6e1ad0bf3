// Issue 19 in real headless Chromium: one room spread over three signaling processes that share
// it through a real redis-server (signaling/main.ts --redis, as child processes). Three tabs,
// each served by a different process and given all three as its failover list (?signal=…), and
// a Node peer (--signal A,B,C) link into one mesh and commit a consensus proposal. Then one
// process is killed with SIGKILL: the links stay up, its nodes move to the others through their
// lists, and a new tab still joins and the mesh still commits.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, waitForSnapshot } from './harness.ts';
import { NodePeerProcess } from '../node/cli-process.ts';
import { runServer, type ServerProcess } from '../signaling/server-process.ts';
import { startRedis, type TestRedis } from '../signaling/redis-server.ts';

const room = 'cluster';

interface Member {
  process: ServerProcess;
  /** http://127.0.0.1:PORT/ — where its pages are served. */
  url: string;
  wsUrl: string;
}

describe('one room over three signaling processes and Redis', () => {
  let redis: TestRedis;
  let dataDir: string;
  const members: Member[] = [];
  let browser: Browser;
  let user: BrowserContext;
  const tabs: Page[] = [];
  let tabIds: string[] = [];
  let node: NodePeerProcess;
  let allIds: string[] = [];

  /** The failover list starting at member `first`: every tab starts on its own server. */
  const listFrom = (first: number): string[] => members.map((_, i) => (members[(first + i) % members.length] as Member).wsUrl);
  const signalQuery = (first: number): string => `&signal=${listFrom(first).map(encodeURIComponent).join(',')}`;

  beforeAll(async () => {
    redis = await startRedis();
    dataDir = mkdtempSync(join(tmpdir(), 'tabmesh-cluster-e2e-'));
    for (let i = 0; i < 3; i++) {
      const process = runServer(['--port', '0', '--host', '127.0.0.1', '--no-tls', '--static', inject('distDir'), '--data-dir', dataDir, '--redis', redis.url]);
      const [, url] = await process.waitFor(/^ {2}(http:\/\/127\.0\.0\.1:\d+\/)$/m);
      await process.waitFor(/Press Ctrl\+C/);
      members.push({ process, url: url as string, wsUrl: `${(url as string).replace('http:', 'ws:')}signal` });
    }
    browser = await launchBrowser();
    user = await newUser(browser);
    // The Node peer starts on the member that will be killed (C), with A and B after it.
    node = NodePeerProcess.start(room, [2, 0, 1].map((i) => (members[i] as Member).url).join(','));
    for (let i = 0; i < 3; i++) tabs.push(await openTab(user, (members[i] as Member).url, room, signalQuery(i)));
    tabIds = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
    await node.waitFor((s) => s.id !== null && s.signaling === 'joined', 'the Node peer joined the room', 30_000);
    allIds = [...tabIds, node.id];
  }, 180_000);

  afterAll(async () => {
    await node?.dispose();
    await browser?.close();
    for (const m of members) m.process.kill();
    await Promise.all(members.map((m) => m.process.exited));
    await redis?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function waitUntilMembers(member: Member, count: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const health = (await (await fetch(`${member.url}healthz`)).json()) as { cluster?: { members: unknown[] } };
      if (health.cluster?.members.length === count) return;
      if (Date.now() > deadline) throw new Error(`/healthz of ${member.url} did not list ${count} members within 30 s: ${JSON.stringify(health.cluster)}`);
      await new Promise((r) => setTimeout(r, 200)); // polling a condition with a deadline
    }
  }

  async function everyoneCommits(pages: Page[], ids: string[], proposal: Record<string, string>): Promise<void> {
    for (const [i, tab] of pages.entries()) {
      await waitForSnapshot(tab, (s) => ids.every((id) => s.consensus.replicas.includes(id)), `tab ${i} counts all ${ids.length} as replicas`, 60_000);
    }
    const seq = await (pages[0] as Page).evaluate((p) => window.tabmesh.propose(p), proposal);
    expect(seq).toBeGreaterThan(0);
    for (const [i, tab] of pages.entries()) await waitForSnapshot(tab, (s) => s.consensus.log.some((e) => e.seq === seq), `tab ${i} committed #${seq}`, 30_000);
  }

  test('tabs on three servers and a Node peer link into one mesh and commit', async () => {
    expect(new Set(allIds).size).toBe(4);
    for (const [i, tab] of tabs.entries()) {
      const others = allIds.filter((id) => id !== tabIds[i]).sort();
      await waitForSnapshot(tab, (s) => linkedPeers(s).join() === others.join(), `tab ${i} linked to the three others`, 45_000);
    }
    await node.waitFor((s) => tabIds.every((id) => s.links.has(id)), 'the Node peer linked to the three tabs', 30_000);
    await everyoneCommits(tabs, allIds, { before: 'the kill' });
  });

  test('one server killed: links stay, its nodes move to the others, a new tab joins, the mesh commits', async () => {
    const killed = members[2] as Member;
    const onKilled = tabs[2] as Page;
    const through = (detail: string): string => detail.slice(detail.lastIndexOf(' ') + 1);
    expect(through((await snapshotOf(onKilled)).signalingDetail)).toBe(killed.wsUrl);
    const killedAt = Date.now();
    killed.process.kill();
    await killed.process.exited;
    // Its tab signals through another server of its list; no link went down for it.
    const back = await waitForSnapshot(
      onKilled,
      (s) => s.signaling === 'joined' && through(s.signalingDetail) !== killed.wsUrl,
      'the tab of the killed server joined through another',
      30_000,
    );
    const tabMovedMs = Date.now() - killedAt;
    expect([members[0]?.wsUrl, members[1]?.wsUrl]).toContain(through(back.signalingDetail));
    await node.waitFor(
      (_, events) =>
        events.some(
          (e) =>
            e.event === 'signaling' &&
            e['status'] === 'joined' &&
            typeof e['detail'] === 'string' &&
            through(e['detail']) !== killed.wsUrl &&
            typeof e['time'] === 'string' &&
            Date.parse(e['time']) >= killedAt,
        ),
      'the Node peer joined through another server',
      30_000,
    );
    // The survivors swept the dead member out of Redis (its nodes had moved already, so nobody
    // was announced as left: a left announcement would drop the links a second later).
    await waitUntilMembers(members[0] as Member, 2);
    // A new tab, served by A, with A and B as its list, joins the room and the mesh.
    const late = await openTab(user, (members[0] as Member).url, room, `&signal=${[members[0]!.wsUrl, members[1]!.wsUrl].map(encodeURIComponent).join(',')}`);
    tabs.push(late);
    const lateId = (await snapshotOf(late)).id;
    await waitForSnapshot(late, (s) => allIds.every((id) => linkedPeers(s).includes(id)), 'the new tab linked to all four', 45_000);
    await everyoneCommits(tabs, [...allIds, lateId], { after: 'the kill' });
    // Every link of the first four nodes is the one made before the kill: none went down.
    for (const [i, tab] of tabs.slice(0, 3).entries()) {
      const snapshot = await snapshotOf(tab);
      const sinceKillMs = Date.now() - killedAt;
      const others = allIds.filter((id) => id !== tabIds[i]);
      const keptUp = snapshot.links.filter((l) => others.includes(l.peer) && l.upForMs >= sinceKillMs).map((l) => l.peer);
      expect(
        others.filter((id) => !keptUp.includes(id)),
        `tab ${i}: links re-made or lost since the kill`,
      ).toEqual([]);
    }
    console.log(JSON.stringify({ figure: 'cluster-e2e', tabBackThroughAnotherServerMs: tabMovedMs }));
  });
});
