// The service's window of open proposals, in whole real nodes (real-room.ts): one tab opens a
// full window at once, every proposal resolves with its committed sequence number, in the order it
// was made, and every node's log holds them in one order; one more is refused with a clear error.
import { describe, expect, test } from 'vitest';
import { maxOpenProposals } from '../../../src/worker/services/pbft-proposals.ts';
import { SignatureVerifier } from '../../../src/worker/services/pbft-verify.ts';
import { asNodeId } from '../../../src/core/types.ts';
import { roomTest } from '../../sim/real-node/real-room.ts';

describe('many open proposals from one tab', () => {
  roomTest(
    'a full window commits: each proposal resolves with its sequence number, in order, and every node logs them alike',
    async (room) => {
      const nodes = await room.replicaRoom(4);
      const proposer = nodes[1]!;
      // The batch size is a live, local setting; out of range it is refused with the range.
      expect(() => room.command(nodes[0]!, 'setSettings', { batchSize: 0 })).toThrow('Batch size must be a whole number from 1 to 256 (got 0)');
      expect(room.command<{ batchSize: number }>(nodes[0]!, 'setSettings', { batchSize: 64 }).batchSize).toBe(64);
      const opened = Array.from({ length: maxOpenProposals }, (_, i) => room.propose(proposer, `w${i}`));
      // The window is full: one more is refused at once, with what to do about it.
      expect(() => room.propose(proposer, 'one too many')).toThrow(`${maxOpenProposals} proposals are already waiting for consensus; wait for some to finish`);
      const seqs = await room.until(Promise.all(opened), `${maxOpenProposals} proposals commit`, 120_000);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]!);
      const top = Math.max(...seqs);
      await room.runUntil(() => nodes.every((n) => room.consensus(n).lastCommitted >= top), 'every node executed them');
      // The log tail (its last entries) is the same everywhere and ends with the last proposals, in order.
      const tails = nodes.map((n) =>
        JSON.stringify(
          room
            .consensus(n)
            .log.filter((e) => e.client === proposer.id)
            .map((e) => [e.seq, e.op]),
        ),
      );
      expect(new Set(tails).size).toBe(1);
      const values = room
        .consensus(nodes[0]!)
        .log.filter((e) => e.client === proposer.id)
        .map((e) => (e.op.kind === 'decision' ? e.op.value : null));
      expect(values.length).toBeGreaterThan(10);
      expect(values).toEqual(Array.from({ length: values.length }, (_, i) => `w${maxOpenProposals - values.length + i}`));
      // The proposer's counters add up: every proposal committed, none failed, none left open.
      expect(room.consensus(proposer).proposals).toMatchObject({ committed: maxOpenProposals, failed: 0, open: 0 });
      // And the window is free again.
      await expect(room.until(room.propose(proposer, 'after'), 'one more commits')).resolves.toBeGreaterThan(top - 1);
    },
    { timeoutMs: 120_000 },
  );
});

describe('signatures this node made', () => {
  test('are remembered as verified (its request comes back inside the pre-prepare), for that text only', async () => {
    let calls = 0;
    const verifier = new SignatureVerifier(async () => {
      calls++;
      return false;
    });
    const me = asNodeId('me');
    verifier.remember(me, 'my request', 'sig-1');
    expect(await verifier.verifyAll([{ signer: me, bytes: 'my request', sig: 'sig-1' }])).toEqual({ ok: true });
    expect(calls).toBe(0);
    // Another text under the same signature is checked with the key (and here refused).
    expect(await verifier.verifyAll([{ signer: me, bytes: 'another request', sig: 'sig-1' }])).toEqual({ ok: false, signer: me });
    expect(calls).toBe(1);
    expect(verifier.stats()).toMatchObject({ cacheHits: 1, checked: 1, failed: 1 });
  });
});
