// Many open proposals from one tab, in real Chromium (four tabs, real Ed25519, IndexedDB): one
// tab opens its whole window at once (256 proposals); every one resolves with its committed
// sequence number, in the order made, and every tab shows the same log; a proposal beyond the
// window is refused with a clear error, and the window is free again once they commit.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { maxOpenProposals } from '../../src/worker/services/pbft-proposals.ts';
import { snapshotOf, startRoom, waitForSnapshot, type NodeSnapshot, type Room } from './harness.ts';

const logOf = (s: NodeSnapshot) => s.consensus.log.map((e) => `${e.seq}:${e.digest.slice(0, 12)}:${e.client}:${JSON.stringify(e.op)}`);

describe('a full window of proposals from one tab', () => {
  let room: Room | undefined;
  let tabs: Page[] = [];
  let ids: string[] = [];

  beforeAll(async () => {
    room = await startRoom(4, 'consensus-window');
    ({ tabs, ids } = room);
    const all = [...ids].sort().join();
    for (const [i, tab] of tabs.entries()) {
      await waitForSnapshot(
        tab,
        (s) => [...s.consensus.replicas].sort().join() === all && s.consensus.status === 'replica' && s.consensus.genesis?.settled === true,
        `tab ${i} is one of four replicas under a settled genesis`,
        90_000,
      );
    }
  });

  afterAll(async () => {
    await room?.close();
  });

  test('all commit in the order made, the same log shows everywhere, and one more than the window is refused', async () => {
    const tab = tabs[1]!;
    const outcome = await tab.evaluate(async (window_) => {
      const opened = Array.from({ length: window_ }, (_, i) => window.tabmesh.propose(`window ${i}`));
      let refusal = '';
      try {
        await window.tabmesh.propose('one too many');
      } catch (error) {
        refusal = error instanceof Error ? error.message : String(error);
      }
      const seqs = await Promise.all(opened);
      return { seqs, refusal };
    }, maxOpenProposals);
    expect(outcome.refusal).toContain(`${maxOpenProposals} proposals are already waiting for consensus; wait for some to finish`);
    expect(outcome.seqs).toHaveLength(maxOpenProposals);
    for (let i = 1; i < outcome.seqs.length; i++) expect(outcome.seqs[i]).toBeGreaterThanOrEqual(outcome.seqs[i - 1]!);
    const top = Math.max(...outcome.seqs);
    const snapshots: NodeSnapshot[] = [];
    for (const [i, t] of tabs.entries()) snapshots.push(await waitForSnapshot(t, (s) => s.consensus.lastCommitted >= top, `tab ${i} executed them`, 60_000));
    // The newest entries of the log (the last proposals of the window) are the same in every tab, in the order made.
    const logs = snapshots.map((s) => JSON.stringify(logOf(s).filter((line) => line.includes(ids[1]!))));
    expect(new Set(logs).size).toBe(1);
    const values = snapshots[0]!.consensus.log.filter((e) => e.client === ids[1]).map((e) => (e.op.kind === 'decision' ? e.op.value : null));
    expect(values.length).toBeGreaterThan(10);
    expect(values).toEqual(values.map((_, i) => `window ${maxOpenProposals - values.length + i}`));
    // The proposer's counters add up: all committed, none failed, none left open.
    const proposer = await snapshotOf(tab);
    expect(proposer.consensus.proposals).toMatchObject({ committed: maxOpenProposals, failed: 0, open: 0 });
    // The window is free again.
    expect(await tab.evaluate(() => window.tabmesh.propose('after the window'))).toBeGreaterThanOrEqual(top);
  });
});
