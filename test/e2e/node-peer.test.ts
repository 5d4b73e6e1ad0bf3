// Issue 10 in real headless Chromium: two headless Node peers (the real tabmesh-node CLI as
// child processes, each with its own data dir) and two browser tabs in one room form one mesh,
// gossip reaches the Node peers, a killed Node peer is handled like a closed tab, comes back
// as itself on its data dir, and a stopped one leaves gracefully.
//
// Not yet here: the issue's "agree on proposals" and "a compute job submitted in a tab is
// partly computed by the Node peers". They need the consensus and compute-pool services in
// src/worker/default-services.ts; the Node peer runs that list as it is, so once they are
// added, extend this test with them (and give the Node peer its worker_threads pool).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, linkedPeers, newUser, openTab, snapshotOf, startServer, waitForSnapshot, type RunningServer } from './harness.ts';
import { NodePeerProcess } from '../node/cli-process.ts';

const room = 'node-peer';

describe('two tabs and two Node peers in one room', () => {
  let server: RunningServer;
  let browser: Browser;
  let tabs: Page[] = [];
  let tabIds: string[] = [];
  const peers: NodePeerProcess[] = [];
  let nodeA: NodePeerProcess;
  let nodeB: NodePeerProcess;
  let allIds: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const user = await newUser(browser);
    nodeA = NodePeerProcess.start(room, server.url);
    nodeB = NodePeerProcess.start(room, server.url);
    peers.push(nodeA, nodeB);
    tabs = [];
    for (let i = 0; i < 2; i++) tabs.push(await openTab(user, server.url, room));
    tabIds = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
    for (const node of [nodeA, nodeB]) await node.waitFor((s) => s.id !== null && s.signaling === 'joined', 'the Node peer joined the room', 30_000);
    allIds = [...tabIds, nodeA.id, nodeB.id];
  });

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.dispose()));
    await browser?.close();
    await server?.stop();
  });

  test('they form one mesh: every node links to the three others and sees all four alive', async () => {
    expect(new Set(allIds).size).toBe(4);
    for (const [i, tab] of tabs.entries()) {
      const others = allIds.filter((id) => id !== tabIds[i]).sort();
      await waitForSnapshot(
        tab,
        (s) => linkedPeers(s).join() === others.join() && allIds.every((id) => s.members.some((m) => m.id === id && m.status === 'alive')),
        `tab ${i} linked to the three others, all four alive`,
        30_000,
      );
    }
    for (const node of [nodeA, nodeB]) {
      const others = allIds.filter((id) => id !== node.id);
      await node.waitFor(
        (s) => others.every((id) => s.links.has(id) && s.members.get(id) === 'alive'),
        `Node peer ${node.id.slice(0, 8)} linked to the three others, all alive`,
        30_000,
      );
      expect(node.state.links.size).toBe(3);
      expect(node.badLines).toEqual([]);
    }
    // The tabs see the Node peers' links measured like any other.
    const snapshot = await waitForSnapshot(tabs[0]!, (s) => s.links.every((l) => l.rttMs !== null), 'tab 0 measured every round trip');
    expect(snapshot.links.find((l) => l.peer === nodeA.id)?.rttMs).toBeGreaterThanOrEqual(0);
  });

  test('a memory key written in a tab reaches the Node peers, and so does its deletion', async () => {
    await tabs[0]!.evaluate(() => window.tabmesh.setMemory('from-tab', { text: 'hello, node', n: 1 }));
    for (const node of [nodeA, nodeB]) {
      await node.waitFor((s) => s.memory.has('from-tab'), `Node peer ${node.id.slice(0, 8)} has the key`);
      expect(node.state.memory.get('from-tab')).toEqual({ value: { text: 'hello, node', n: 1 }, origin: tabIds[0] });
    }
    await tabs[1]!.evaluate(() => window.tabmesh.deleteMemory('from-tab'));
    for (const node of [nodeA, nodeB]) await node.waitFor((s) => !s.memory.has('from-tab'), `Node peer ${node.id.slice(0, 8)} saw the delete`);
  });

  test('the Node peers are consensus replicas and agree on proposals with the tabs', async () => {
    // Four replicas (n = 4, f = 1, quorum 3): nothing commits unless a Node peer votes for it.
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(tab, (s) => allIds.every((id) => s.consensus.replicas.includes(id)), `tab ${i} counts all four as replicas`, 60_000);
    }
    const seq = await tabs[1]!.evaluate(() => window.tabmesh.propose({ lunch: 'noon' }));
    expect(seq).toBeGreaterThan(0);
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(tab, (s) => s.consensus.log.some((e) => e.seq === seq), `tab ${i} committed #${seq}`);
    }
  });

  test('a compute job submitted in a tab is partly computed by the Node peers', async () => {
    const jobId = await tabs[0]!.evaluate(() => window.tabmesh.submitJob({ kind: 'primes', params: { from: 0, to: 30_000_000 }, chunks: 48 }));
    const done = await waitForSnapshot(tabs[0]!, (s) => s.jobs.some((j) => j.id === jobId && j.status === 'done'), 'the job is done', 90_000);
    const job = done.jobs.find((j) => j.id === jobId)!;
    const byNodes = (job.shares[nodeA.id] ?? 0) + (job.shares[nodeB.id] ?? 0);
    expect(byNodes).toBeGreaterThan(0);
    expect(Object.values(job.shares).reduce((a, b) => a + b, 0)).toBe(job.total);
    const result = (await tabs[0]!.evaluate((id) => window.tabmesh.jobResult(id), jobId)) as { count: number };
    expect(result.count).toBe(1_857_859); // π(3·10⁷)
  });

  test('a killed Node peer disappears from the links and turns dead, like a closed tab', async () => {
    const killedId = nodeB.id;
    nodeB.signal('SIGKILL');
    expect((await nodeB.exited).signal).toBe('SIGKILL');
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => !linkedPeers(s).includes(killedId) && s.members.some((m) => m.id === killedId && m.status === 'dead'),
        `tab ${i} dropped the killed Node peer and marks it dead`,
        30_000,
      );
    }
    await nodeA.waitFor((s) => !s.links.has(killedId) && s.members.get(killedId) === 'dead', 'the other Node peer marks it dead', 30_000);
  });

  test('restarted on its data directory, the killed peer comes back as itself', async () => {
    const again = NodePeerProcess.start(room, server.url, { dataDir: nodeB.dataDir });
    peers.push(again);
    await again.waitFor((s) => s.id !== null, 'the restarted peer says its id', 30_000);
    expect(again.id).toBe(nodeB.id);
    expect(again.events.find((e) => e.event === 'ready')?.['identity']).toBe('loaded');
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => linkedPeers(s).includes(again.id) && s.members.some((m) => m.id === again.id && m.status === 'alive'),
        `tab ${i} linked to the returned peer and sees it alive`,
        30_000,
      );
    }
    nodeB = again;
  });

  test('a Node peer stopped with SIGTERM leaves gracefully: exit 0, unlinked, and left (not dead)', async () => {
    const leavingId = nodeA.id;
    nodeA.signal('SIGTERM');
    expect((await nodeA.exited).code).toBe(0);
    expect(nodeA.events.at(-1)).toMatchObject({ event: 'stopped', exitCode: 0 });
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => !linkedPeers(s).includes(leavingId) && s.members.some((m) => m.id === leavingId && m.status === 'left'),
        `tab ${i} unlinked the stopped Node peer and marks it left`,
        10_000,
      );
    }
    await nodeB.waitFor((s) => !s.links.has(leavingId) && s.members.get(leavingId) === 'left', 'the other Node peer marks it left', 10_000);
  });
});
