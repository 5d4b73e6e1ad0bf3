// Issue 7, recovery, in real Chromium with four tabs: a protocol worker that crashes is restarted
// by its page with its state from IndexedDB (same id, same committed log, same memory), re-links
// and is back in consensus, and the dashboard says so; a tab whose IndexedDB holds garbage
// starts, reports what it set aside, and joins; a tab the browser freezes for longer than
// failure detection wakes, refutes its death and rejoins.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { launchBrowser, newUser, openTab, snapshotOf, waitForSnapshot, type NodeSnapshot } from './harness.ts';

const room = 'recovery';
/** Shortest sleep of the frozen tab: a nap, not a blink (the runtime counts over 5 s as asleep). */
const minFrozenMs = 10_000;
const logOf = (s: NodeSnapshot) => s.consensus.log.map((e) => `${e.seq}:${e.digest.slice(0, 12)}:${JSON.stringify(e.op)}`);
const propose = (tab: Page, op: unknown) => tab.evaluate((o) => window.tabmesh.propose(o), op);
const statusOf = (s: NodeSnapshot, id: string) => s.members.find((m) => m.id === id)?.status ?? 'unknown';

/** Proposes from `tab`, retrying while consensus is still settling (a view change, a replica rejoining). */
async function proposeUntilCommitted(tab: Page, op: unknown, what: string, timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await propose(tab, op);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: the proposal did not commit: ${String(error)}`, { cause: error });
      await tab.waitForTimeout(500);
    }
  }
}

/** Waits until every tab shows all four nodes as replicas and has executed up to `seq`. */
async function allReplicasAt(tabs: Page[], ids: string[], seq: number, what: string): Promise<NodeSnapshot[]> {
  const all = [...ids].sort().join();
  const out: NodeSnapshot[] = [];
  for (const [i, tab] of tabs.entries()) {
    out.push(
      await waitForSnapshot(
        tab,
        (s) => s.consensus.lastCommitted >= seq && [...s.consensus.replicas].sort().join() === all && s.consensus.status === 'replica',
        `tab ${i}: ${what}`,
        120_000,
      ),
    );
  }
  return out;
}

/**
 * Starts recording, in each watcher tab, how `target` looks from there (link up, gossip status),
 * every 100 ms, so a test can ask afterwards how long it was lost and how.
 */
async function watch(tabs: Page[], target: string): Promise<void> {
  await Promise.all(
    tabs.map((tab) =>
      tab.evaluate((id) => {
        const record = { lostAt: null as number | null, backAt: null as number | null, worst: 'alive', statuses: [] as string[] };
        (window as unknown as { __recoveryWatch: typeof record }).__recoveryWatch = record;
        const timer = setInterval(() => {
          const s = window.tabmesh.snapshot();
          if (!s) return;
          const linked = s.links.some((l) => l.peer === id);
          const status = s.members.find((m) => m.id === id)?.status ?? 'unknown';
          if (record.statuses.at(-1) !== status) record.statuses.push(status);
          if (status !== 'alive' && record.worst === 'alive') record.worst = status;
          if (!linked && record.lostAt === null) record.lostAt = performance.now();
          if (linked && status === 'alive' && record.lostAt !== null && record.backAt === null) {
            record.backAt = performance.now();
            clearInterval(timer);
          }
        }, 100);
      }, target),
    ),
  );
}

async function watched(tab: Page): Promise<{ lostForMs: number | null; statuses: string[] }> {
  return tab.evaluate(() => {
    const r = (window as unknown as { __recoveryWatch: { lostAt: number | null; backAt: number | null; statuses: string[] } }).__recoveryWatch;
    // Never seen without its link: the restart was quicker than this tab's snapshots.
    if (r.lostAt === null) return { lostForMs: 0, statuses: r.statuses };
    return { lostForMs: r.backAt !== null ? Math.round(r.backAt - r.lostAt) : null, statuses: r.statuses };
  });
}

/**
 * Puts a tab to sleep as the browser does when it freezes it: Page.setWebLifecycleState
 * 'frozen' (which fires 'freeze'), and — because headless Chromium 156 ignores that command
 * (checked: no freeze event, timers keep running) — the debugger pauses the page's and its
 * workers' JavaScript, so neither the page nor the protocol worker runs a single task until
 * woken. Resolves with the function that wakes it ('active', then resume).
 */
async function freeze(page: Page): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  const workerSessions: string[] = [];
  cdp.on('Target.attachedToTarget', (event) => {
    if (event.targetInfo.type === 'worker') workerSessions.push(event.sessionId);
  });
  // Reports the workers that exist now; flatten: false so we can talk to them through this session.
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const deadline = Date.now() + 10_000;
  while (workerSessions.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (workerSessions.length === 0) throw new Error('the tab has no worker to freeze');
  let nextId = 1;
  const toWorker = (sessionId: string, method: string) =>
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: nextId++, method, params: {} }) });
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  for (const session of workerSessions) {
    await toWorker(session, 'Debugger.enable');
    await toWorker(session, 'Debugger.pause');
  }
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  return async () => {
    await cdp.send('Debugger.resume');
    await cdp.send('Debugger.disable');
    for (const session of workerSessions) {
      await toWorker(session, 'Debugger.resume');
      await toWorker(session, 'Debugger.disable');
    }
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await cdp.detach();
  };
}

describe('recovery across four tabs', () => {
  let server: TabmeshServer;
  let url: string;
  let distCopy: string;
  let browser: Browser;
  let user: BrowserContext;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    // A private copy of the build: a restarted worker loads its script again, and another
    // engineer's test run may rebuild the shared directory meanwhile.
    distCopy = mkdtempSync(join(tmpdir(), 'tabmesh-recovery-dist-'));
    cpSync(inject('distDir'), distCopy, { recursive: true });
    server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: distCopy });
    url = (await server.listen()).url;
    browser = await launchBrowser();
    user = await newUser(browser);
    tabs = [];
    for (let i = 0; i < 4; i++) tabs.push(await openTab(user, url, room));
    ids = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).id));
    await allReplicasAt(tabs, ids, 0, 'one of four replicas');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (distCopy) rmSync(distCopy, { recursive: true, force: true });
  });

  test(
    'a crashed protocol worker comes back with its id, log and memory, re-links, and commits again; the page says so',
    () => crashedWorkerComesBack(tabs, ids),
    420_000,
  );

  test('a hung protocol worker is found by the watchdog and restarted', async () => {
    const victim = tabs[0] as Page;
    const before = await snapshotOf(victim);
    expect(await victim.evaluate(() => window.tabmesh.debug.hangWorker())).toBe(true);
    const hungAt = Date.now();
    // A command sent to the hung worker waits, and is rejected when the worker is replaced.
    const pending = victim.evaluate(() =>
      window.tabmesh.settings().then(
        () => 'answered',
        (error: unknown) => String(error),
      ),
    );
    // The watchdog allows 20 s of silence, checked every 2 s; generous on a loaded machine.
    const after = await waitForSnapshot(
      victim,
      (s) => s.recovery.restarts === before.recovery.restarts + 1 && !s.recovery.restarting && s.signaling === 'joined',
      'the hung worker was restarted and rejoined',
      90_000,
    );
    console.log(`recovery: a hung worker was replaced and back in the room ${Date.now() - hungAt} ms after it hung`);
    expect(after.recovery.lastReason).toMatch(/^no word from it for \d+ s \(hung\)$/);
    expect(await pending).toMatch(/the protocol worker restarted \(no word from it for \d+ s \(hung\)\); try again/);
    expect(after.id).toBe(before.id);
    await waitForSnapshot(victim, (s) => s.links.filter((l) => ids.includes(l.peer)).length === tabs.length - 1, 'the restarted tab re-linked to all', 60_000);
  }, 240_000);

  test('a worker that fails on every start is given up on after 5 restarts, and the page says why', async () => {
    // Another person's browser profile, whose protocol worker script throws as it loads.
    const other = await newUser(browser);
    try {
      const page = await other.newPage();
      await page.route(/\/node\.worker[^/]*\.js$/, (route) => route.fulfill({ contentType: 'text/javascript', body: "throw new Error('broken build');" }));
      await page.goto(`${url}?room=${room}`);
      const alert = page.getByRole('alert').filter({ hasText: 'it is not restarted again' });
      await alert.waitFor({ state: 'visible', timeout: 60_000 });
      expect(await alert.textContent()).toMatch(/the protocol worker failed 6 times within 60 s \(last: uncaught error: .*broken build.*\).*Reload the tab/);
      expect(await page.evaluate(() => window.tabmesh.snapshot())).toBeNull();
    } finally {
      await other.close();
    }
  }, 120_000);

  test(
    'a tab whose IndexedDB holds garbage starts clean for those records, says what it set aside, and joins',
    () => garbageInStorageIsSetAside({ user, url, tabs, ids }),
    420_000,
  );

  test('a tab frozen for longer than failure detection wakes, refutes its death and rejoins', () => frozenTabRejoins(tabs, ids), 420_000);
});

async function crashedWorkerComesBack(tabs: Page[], ids: string[]): Promise<void> {
  const victim = tabs[3] as Page;
  const victimId = ids[3] as string;
  const others = tabs.slice(0, 3);
  // Committed operations and memory keys, some written by the victim itself.
  const committed: number[] = [];
  committed.push(await proposeUntilCommitted(tabs[0] as Page, 'before the crash: 1', 'first proposal'));
  committed.push(await proposeUntilCommitted(victim, { kind: 'kv-set', key: 'owner', value: victimId }, 'the victim proposes'));
  committed.push(await proposeUntilCommitted(tabs[1] as Page, 'before the crash: 3', 'third proposal'));
  await victim.evaluate(() => window.tabmesh.setMemory('recovery/written-by-victim', { n: 1 }));
  await (tabs[0] as Page).evaluate(() => window.tabmesh.setMemory('recovery/written-by-other', 'hello'));
  const before = await waitForSnapshot(
    victim,
    (s) =>
      s.consensus.lastCommitted >= Math.max(...committed) &&
      s.memory['recovery/written-by-other'] === 'hello' &&
      s.memory['recovery/written-by-victim'] !== undefined,
    'the victim has the ops and both keys',
    60_000,
  );
  const logBefore = logOf(before).filter((e) => Number(e.split(':')[0]) <= Math.max(...committed));
  expect(logBefore.length).toBeGreaterThanOrEqual(3);
  expect(before.recovery).toMatchObject({ restarts: 0, gaveUp: null });

  await watch(others, victimId);
  const crashedAt = Date.now();
  expect(await victim.evaluate(() => window.tabmesh.debug.crashWorker())).toBe(true);

  const after = await waitForSnapshot(
    victim,
    (s) => s.recovery.restarts === 1 && !s.recovery.restarting && s.signaling === 'joined',
    'the worker restarted and rejoined',
    60_000,
  );
  console.log(`recovery: worker back and in the room ${Date.now() - crashedAt} ms after the crash`);
  expect(after.id).toBe(victimId);
  expect(after.identity).toBe('loaded');
  expect(after.recovery.lastReason).toMatch(/uncaught error: .*crash requested by tabmesh\.debug\.crashWorker\(\)/);
  // The pBFT log came back from IndexedDB with the committed ops in the same order.
  const restored = await waitForSnapshot(victim, (s) => s.consensus.lastCommitted >= Math.max(...committed), 'the restored log', 60_000);
  expect(logOf(restored).filter((e) => Number(e.split(':')[0]) <= Math.max(...committed))).toEqual(logBefore);
  expect(restored.memory['recovery/written-by-victim']).toEqual({ n: 1 });
  expect(restored.memory['recovery/written-by-other']).toBe('hello');

  // Re-linked with every other tab (a full mesh of four), and seen alive by all of them.
  await waitForSnapshot(victim, (s) => others.length === s.links.filter((l) => ids.includes(l.peer)).length, 'the victim re-linked to all three', 60_000);
  for (const [i, tab] of others.entries())
    await waitForSnapshot(tab, (s) => statusOf(s, victimId) === 'alive' && s.links.some((l) => l.peer === victimId), `tab ${i} has the victim back`, 60_000);
  for (const [i, tab] of others.entries()) {
    // The watcher samples on its own 100 ms timer (throttled in a background tab): let it see
    // the return the snapshot above already showed before reading it.
    await tab
      .waitForFunction(
        () => {
          const r = (window as unknown as { __recoveryWatch: { lostAt: number | null; backAt: number | null } }).__recoveryWatch;
          return r.lostAt === null || r.backAt !== null;
        },
        undefined,
        { timeout: 30_000 },
      )
      .catch(() => undefined);
    const seen = await watched(tab);
    console.log(`recovery: tab ${i} lost the victim for ${seen.lostForMs} ms (gossip: ${seen.statuses.join(' → ')})`);
    // Generous: a loaded machine slows the restart; "for long" would be a minute.
    expect(seen.lostForMs, `tab ${i} saw the victim come back`).not.toBeNull();
    expect(seen.lostForMs as number).toBeLessThan(60_000);
  }

  // Consensus commits again with it: a proposal from it and one from another tab, executed by all four replicas.
  const fromVictim = await proposeUntilCommitted(victim, 'after the crash, from the victim', 'victim proposes after the crash');
  const fromOther = await proposeUntilCommitted(tabs[2] as Page, 'after the crash, from another tab', 'another tab proposes after the crash');
  const finals = await allReplicasAt(tabs, ids, Math.max(fromVictim, fromOther), 'executed the proposals after the crash');
  const logs = finals.map((s) =>
    JSON.stringify(
      logOf(s)
        .filter((e) => Number(e.split(':')[0]) <= Math.max(fromVictim, fromOther))
        .slice(-4),
    ),
  );
  expect(new Set(logs).size, `the tabs' logs agree:\n${logs.join('\n')}`).toBe(1);

  // The page says what happened, in a status region.
  const notice = victim.getByRole('status').filter({ hasText: 'restarted with its state from IndexedDB — restart 1' });
  await notice.waitFor({ state: 'visible', timeout: 30_000 });
  expect(await notice.textContent()).toMatch(/The protocol worker crashed \(uncaught error: .*\) and was restarted/);
}

async function frozenTabRejoins(tabs: Page[], ids: string[]): Promise<void> {
  const sleeper = tabs[2] as Page;
  const sleeperId = ids[2] as string;
  const awake = tabs.filter((t) => t !== sleeper);
  const asleep = await snapshotOf(sleeper);
  let deadIncarnation = 0;
  const wake = await freeze(sleeper);
  const frozenAt = Date.now();
  try {
    // Frozen until every other tab has declared it dead (or at least suspect and unlinked).
    for (const [i, tab] of awake.entries()) {
      const seen = await waitForSnapshot(
        tab,
        (s) => ['dead', 'left'].includes(statusOf(s, sleeperId)) && !s.links.some((l) => l.peer === sleeperId),
        `tab ${i} declared the frozen tab dead`,
        90_000,
      );
      deadIncarnation = Math.max(deadIncarnation, seen.members.find((m) => m.id === sleeperId)?.incarnation ?? 0);
    }
    console.log(`recovery: the others declared the frozen tab dead ${Date.now() - frozenAt} ms after it froze`);
    // And long enough that consensus voted it out (it has to win its place back), and at least
    // a nap of `minFrozenMs`, well over the 5 s after which the worker counts itself asleep.
    for (const [i, tab] of awake.entries()) {
      await waitForSnapshot(
        tab,
        (s) => !s.consensus.replicas.includes(sleeperId) && Date.now() - frozenAt >= minFrozenMs,
        `tab ${i}: consensus removed the frozen tab`,
        90_000,
      );
    }
    console.log(`recovery: consensus removed the frozen tab ${Date.now() - frozenAt} ms after it froze`);
  } finally {
    await wake();
  }
  const wokeAt = Date.now();
  const back = await waitForSnapshot(
    sleeper,
    // A snapshot from after the wake (the worker noticed its clock jump), with an incarnation
    // above the one it was declared dead at: its refutation.
    (s) =>
      s.slept.count > asleep.slept.count &&
      s.signaling === 'joined' &&
      (s.members.find((m) => m.id === sleeperId)?.incarnation ?? 0) > deadIncarnation &&
      s.links.length === awake.length,
    'the woken tab refuted its death and re-linked',
    90_000,
  );
  // Waking is no crash: the supervisor saw the page stall, not a silent worker.
  expect(back.recovery.restarts).toBe(asleep.recovery.restarts);
  // The worker noticed it had not run, for about as long as it was frozen, and the page says so.
  expect(back.slept.lastMs).toBeGreaterThan(5_000);
  await sleeper.getByRole('status').filter({ hasText: 'it rejoined the mesh on waking' }).waitFor({ state: 'visible', timeout: 30_000 });
  for (const [i, tab] of awake.entries()) {
    await waitForSnapshot(
      tab,
      (s) => statusOf(s, sleeperId) === 'alive' && s.links.some((l) => l.peer === sleeperId),
      `tab ${i} sees the woken tab alive and linked`,
      90_000,
    );
  }
  console.log(`recovery: the woken tab was alive and linked everywhere ${Date.now() - wokeAt} ms after waking`);
  const seq = await proposeUntilCommitted(sleeper, 'after waking', 'the woken tab proposes');
  await allReplicasAt(tabs, ids, seq, 'executed the proposal after waking');
}

async function garbageInStorageIsSetAside({ user, url, tabs, ids }: { user: BrowserContext; url: string; tabs: Page[]; ids: string[] }): Promise<void> {
  const victim = tabs[1] as Page;
  const victimId = ids[1] as string;
  const slot = (await snapshotOf(victim)).slot;
  await victim.close();
  tabs.splice(1, 1);
  ids.splice(1, 1);
  for (const [i, tab] of tabs.entries()) await waitForSnapshot(tab, (s) => !s.links.some((l) => l.peer === victimId), `tab ${i} saw the closed tab go`, 60_000);
  // Garbage into the closed tab's slot, written from another page of the same origin.
  await (tabs[0] as Page).evaluate(async (database) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(database);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('kv', 'readwrite');
      const kv = tx.objectStore('kv');
      kv.put({ v: 7, garbage: true }, 'gossip/self');
      kv.put('not a meta record', 'pbft/meta');
      kv.put([1, 2, 3], 'gossip/mem/recovery/written-by-other');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, `tabmesh-node-${slot}`);

  const reopened = await openTab(user, url, room);
  tabs.splice(1, 0, reopened);
  const started = await waitForSnapshot(reopened, (s) => s.setAside.atStart >= 3, 'the reopened tab reports what it set aside', 60_000);
  expect(started.slot).toBe(slot);
  expect(started.id).toBe(victimId);
  ids.splice(1, 0, started.id);
  expect(started.setAside.records.map((r) => r.key).sort()).toEqual(
    expect.arrayContaining(['gossip/mem/recovery/written-by-other', 'gossip/self', 'pbft/meta']),
  );
  for (const record of started.setAside.records) expect(record.reason).toMatch(/\S/);
  expect(started.rejected['stored record set aside']).toBe(started.setAside.atStart);
  const notice = reopened.getByRole('status').filter({ hasText: 'did not check out and were set aside' });
  await notice.waitFor({ state: 'visible', timeout: 30_000 });

  // It joins: linked to the others, alive in their view, its memory refilled by gossip, a replica again.
  for (const [i, tab] of tabs.entries()) {
    if (tab === reopened) continue;
    await waitForSnapshot(
      tab,
      (s) => statusOf(s, victimId) === 'alive' && s.links.some((l) => l.peer === victimId),
      `tab ${i} has the reopened tab back`,
      90_000,
    );
  }
  await waitForSnapshot(reopened, (s) => s.memory['recovery/written-by-other'] === 'hello', 'the set-aside memory key came back by gossip', 60_000);
  const seq = await proposeUntilCommitted(reopened, 'after the garbage', 'the reopened tab proposes');
  await allReplicasAt(tabs, ids, seq, 'executed the proposal after the garbage');
}
