// Issue 5 in real Chromium: four tabs run pBFT over their data channels, with real Ed25519
// signatures and IndexedDB. They agree on one genesis and become replicas by committed joins;
// proposals from every tab commit in one order everywhere; an equivocating primary is replaced
// by a view change while the other three keep committing; with one tab closed the rest still
// commit; a reloaded tab comes back with the same log.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { snapshotOf, startRoom, waitForSnapshot, type NodeSnapshot, type Room } from './harness.ts';

/** The committed log as people compare it: sequence number, batch digest and operation. */
const logOf = (s: NodeSnapshot) => s.consensus.log.map((e) => `${e.seq}:${e.digest.slice(0, 12)}:${JSON.stringify(e.op)}`);
const decisionsOf = (s: NodeSnapshot) => s.consensus.log.filter((e) => e.op.kind === 'decision').map((e) => (e.op.kind === 'decision' ? e.op.value : null));

const propose = (tab: Page, op: unknown) => tab.evaluate((o) => window.tabmesh.propose(o), op);

/** Waits until every tab has executed up to `seq`, and returns their snapshots. */
async function allAt(tabs: Page[], seq: number, what: string): Promise<NodeSnapshot[]> {
  const out: NodeSnapshot[] = [];
  for (const [i, tab] of tabs.entries()) out.push(await waitForSnapshot(tab, (s) => s.consensus.lastCommitted >= seq, `tab ${i}: ${what}`, 30_000));
  return out;
}

/** Waits until the tabs show one and the same committed log. */
async function sameLog(tabs: Page[], what: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const snapshots = await Promise.all(tabs.map(snapshotOf));
    const logs = snapshots.map((s) => JSON.stringify(logOf(s)));
    if (new Set(logs).size === 1) return logOf(snapshots[0]!);
    if (Date.now() > deadline) throw new Error(`the tabs do not show the same log (${what}):\n${logs.join('\n')}`);
    await tabs[0]!.waitForTimeout(100);
  }
}

describe('pBFT consensus across four tabs', () => {
  let room: Room | undefined;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    room = await startRoom(4, 'consensus');
    ({ tabs, ids } = room);
  });

  afterAll(async () => {
    await room?.close();
  });

  test('the tabs agree on one genesis and all four become replicas', async () => {
    const all = [...ids].sort().join();
    const snapshots: NodeSnapshot[] = [];
    for (const [i, tab] of tabs.entries()) {
      snapshots.push(
        await waitForSnapshot(
          tab,
          (s) => [...s.consensus.replicas].sort().join() === all && s.consensus.status === 'replica' && s.consensus.genesis?.settled === true,
          `tab ${i} is one of four replicas under a settled genesis`,
          60_000,
        ),
      );
    }
    expect(new Set(snapshots.map((s) => s.consensus.genesis?.id)).size).toBe(1);
    for (const s of snapshots) expect([s.consensus.n, s.consensus.f, s.consensus.quorum]).toEqual([4, 1, 3]);
  });

  test('proposals from every tab commit, and every tab shows the same log in the same order', async () => {
    const seqs = await Promise.all(tabs.map((tab, i) => propose(tab, i % 2 === 0 ? `lunch at ${12 + i}` : { tab: i, vote: 'yes' })));
    // Proposals that reach the primary together share a batch, and so a sequence number.
    for (const seq of seqs) expect(seq).toBeGreaterThan(0);
    const kv = await propose(tabs[1]!, { kind: 'kv-set', key: 'leader', value: ids[1] });
    await allAt(tabs, Math.max(kv, ...seqs), 'executed the proposals');
    const log = await sameLog(tabs, 'after four proposals');
    expect(log.length).toBeGreaterThanOrEqual(5);
    const snapshot = await snapshotOf(tabs[2]!);
    expect(decisionsOf(snapshot)).toHaveLength(4);
    // Each proposal sits at the number its proposer was given.
    for (const [i, seq] of seqs.entries()) expect(snapshot.consensus.log.some((e) => e.seq === seq && e.client === ids[i])).toBe(true);
    expect(snapshot.consensus.rejected['runtime: bad signature'] ?? 0).toBe(0);
    // Figures, not assertions (tests never judge wall-clock time): commit latency between tabs.
    const own = await Promise.all(tabs.map(async (t) => (await snapshotOf(t)).consensus.proposals.latencyMs.p50));
    console.log(
      `pBFT in four tabs: replica commit latency p50 ${snapshot.consensus.latencyMs.p50} ms, p99 ${snapshot.consensus.latencyMs.p99} ms; propose→result p50 per tab ${own.join(', ')} ms`,
    );
    // One at a time from a backup (low load): propose → f+1 matching replies, measured in the page.
    const backup = tabs.find((_, i) => ids[i] !== snapshot.consensus.primary)!;
    const times = await backup.evaluate(async () => {
      const out: number[] = [];
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        await window.tabmesh.propose(`sequential ${i}`);
        out.push(Math.round(performance.now() - t0));
      }
      return out.sort((a, b) => a - b);
    });
    console.log(`pBFT in four tabs, one proposal at a time from a backup: ${times.join(', ')} ms (median ${times[4]} ms)`);
    const disk = (await snapshotOf(backup)).consensus.storage;
    console.log(
      `IndexedDB at that backup: ${disk.requests} persist requests in ${disk.batches} transactions, write p50 ${disk.writeMs.p50} ms, p99 ${disk.writeMs.p99} ms`,
    );
  });

  test('an equivocating primary is replaced by a view change, and the other three still commit', async () => {
    const before = await snapshotOf(tabs[0]!);
    const primary = before.consensus.primary as string;
    const byzantine = tabs[ids.indexOf(primary)]!;
    const honest = tabs.filter((t) => t !== byzantine);
    const viewChangesBefore = await Promise.all(honest.map(async (t) => (await snapshotOf(t)).consensus.viewChanges));
    await byzantine.evaluate(() => window.tabmesh.setByzantine('equivocate'));
    await waitForSnapshot(byzantine, (s) => s.consensus.byzantine === 'equivocate', 'the primary is Byzantine');
    const seqs = await Promise.all(honest.map((tab, i) => propose(tab, `despite equivocation ${i}`)));
    for (const [i, tab] of honest.entries()) {
      await waitForSnapshot(
        tab,
        (s) => s.consensus.viewChanges > viewChangesBefore[i]! && s.consensus.primary !== primary,
        `honest tab ${i} changed view away from the equivocating primary`,
      );
    }
    await allAt(honest, Math.max(...seqs), 'executed the proposals made during equivocation');
    await sameLog(honest, 'after the view change');
    const after = await snapshotOf(honest[0]!);
    for (let i = 0; i < seqs.length; i++) expect(decisionsOf(after)).toContain(`despite equivocation ${i}`);
    await byzantine.evaluate(() => window.tabmesh.setByzantine(null));
    await waitForSnapshot(byzantine, (s) => s.consensus.byzantine === null, 'the former primary is honest again');
  });

  test('with one of the four tabs closed, the others still commit', async () => {
    // Close the current primary: the hardest case, it needs a view change too.
    const primary = (await snapshotOf(tabs[0]!)).consensus.primary as string;
    const closing = tabs[ids.indexOf(primary)]!;
    await closing.close({ runBeforeUnload: true });
    tabs = tabs.filter((t) => t !== closing);
    ids = ids.filter((id) => id !== primary);
    const seq = await propose(tabs[0]!, 'three of four are enough');
    await allAt(tabs, seq, 'executed the proposal made with a tab closed');
    await sameLog(tabs, 'with a tab closed');
    // Gossip reports the closed tab as left; the others vote it out of the replica set.
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => s.consensus.replicas.length === 3 && !s.consensus.replicas.includes(primary) && s.consensus.status === 'replica',
        `tab ${i}: the closed tab was removed from the replica set`,
        60_000,
      );
    }
    const again = await propose(tabs[1]!, 'three replicas now');
    await allAt(tabs, again, 'executed a proposal with three replicas');
  });

  test('a reloaded tab shows the same log, and can propose again', async () => {
    const tab = tabs[2]!;
    const before = await snapshotOf(tab);
    const logBefore = logOf(before);
    await tab.reload();
    const after = await waitForSnapshot(
      tab,
      (s) => s.signaling === 'joined' && s.consensus.status !== 'bootstrapping' && s.consensus.lastCommitted >= before.consensus.lastCommitted,
      'the reloaded tab restored its consensus state',
      30_000,
    );
    expect(after.id).toBe(before.id);
    expect(after.consensus.genesis?.id).toBe(before.consensus.genesis?.id);
    expect(logOf(after).slice(0, logBefore.length)).toEqual(logBefore);
    const seq = await propose(tab, 'back after a reload');
    await allAt(tabs, seq, "executed the reloaded tab's proposal");
    const log = await sameLog(tabs, 'after the reload');
    expect(log.some((line) => line.includes('back after a reload'))).toBe(true);
  });
});
