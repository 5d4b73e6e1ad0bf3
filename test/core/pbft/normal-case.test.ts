// The normal case, message by message, on a hand-driven network of 4 replicas (f = 1, q = 3):
// the three phases, quorum thresholds, every refusal reason a backup applies to a pre-prepare
// or vote, watermarks, checkpoints and garbage collection, and durability before sending.
import { describe, expect, test } from 'vitest';
import { asNodeId } from '../../../src/core/types.ts';
import { batchDigest } from '../../../src/core/pbft/certificates.ts';
import type { PbftMessage, PrePrepareBody } from '../../../src/core/pbft/messages.ts';
import { slotKey, type SlotRecord } from '../../../src/core/pbft/persistence.ts';
import { fakeDigest } from './fake-crypto.ts';
import { ManualNet } from './manual-net.ts';

const [r0, r1, r2, r3] = ['r0', 'r1', 'r2', 'r3'].map(asNodeId) as [
  ReturnType<typeof asNodeId>,
  ReturnType<typeof asNodeId>,
  ReturnType<typeof asNodeId>,
  ReturnType<typeof asNodeId>,
];

function net() {
  const n = ManualNet.named(4);
  n.deliverAll(); // start-up status messages
  return n;
}

describe('normal case', () => {
  test('request → pre-prepare → prepare → commit → reply, and the client takes f + 1 matching replies', () => {
    const n = net();
    n.submit(r1, { kind: 'decision', value: 'lunch at noon' }, 'p1');
    const types: string[] = [];
    n.deliverAll((e) => {
      types.push(e.msg.body.type);
      return true;
    });
    // r1's client sends to the primary r0; r0 pre-prepares to 3 backups; each backup prepares
    // to the 3 others; all 4 commit to the 3 others; all 4 reply to r1 (r1's own is local).
    const count = (t: string) => types.filter((x) => x === t).length;
    expect(count('request')).toBe(1);
    expect(count('pre-prepare')).toBe(3);
    expect(count('prepare')).toBe(9);
    expect(count('commit')).toBe(12);
    expect(count('reply')).toBe(3);
    for (const id of n.ids) {
      const v = n.node(id).view();
      expect(v.lastCommitted).toBe(1);
      expect(v.log.map((e) => e.op)).toEqual([{ kind: 'decision', value: 'lunch at noon' }]);
    }
    expect(new Set(n.committed.map((c) => c.digest)).size).toBe(1);
    expect(n.results).toEqual([expect.objectContaining({ node: r1, tag: 'p1', ok: true, seq: 1, result: { ok: true } })]);
  });

  test('with one backup silent the others still commit; with two silent nothing commits', () => {
    const one = net();
    one.submit(r0, { kind: 'decision', value: 1 });
    one.deliverAll((e) => e.from !== r3 && e.to !== r3);
    expect([r0, r1, r2].map((id) => one.node(id).view().lastCommitted)).toEqual([1, 1, 1]);

    const two = net();
    two.submit(r0, { kind: 'decision', value: 1 });
    two.deliverAll((e) => ![r2, r3].includes(e.from) && ![r2, r3].includes(e.to));
    expect([r0, r1].map((id) => two.node(id).view().lastCommitted)).toEqual([0, 0]);
    const phases = two.node(r1).view().phases[0];
    expect(phases).toMatchObject({ seq: 1, prePrepared: true, prepared: false, committed: false });
  });

  test('batching: requests that arrive while batches are in flight share the next pre-prepare', () => {
    const n = ManualNet.named(4, { timing: { maxInFlightBatches: 1 } });
    n.deliverAll();
    for (let i = 0; i < 5; i++) n.submit(asNodeId(['r0', 'r1', 'r2', 'r3'][i % 4] as string), { kind: 'decision', value: i });
    // Only the primary's own request goes out first; the rest queue behind the one in flight.
    n.deliverAll();
    n.advance(1_000); // clients whose request queued behind get their replies on retransmission
    n.deliverAll();
    const v = n.node(r2).view();
    expect(v.log).toHaveLength(5);
    expect(v.lastCommitted).toBeLessThan(5);
  });
});

describe('a backup refuses', () => {
  function prePrepare(
    n: ManualNet,
    over: Partial<PrePrepareBody> = {},
    signer = r0,
    batch = [n.sign({ type: 'request' as const, client: r0, ts: 1, op: { kind: 'decision' as const, value: 'x' } }, r0)],
  ) {
    const digest = batchDigest(fakeDigest, batch);
    const body: PrePrepareBody = { type: 'pre-prepare', epoch: 0, view: 0, seq: 1, digest, ...over };
    return { ...n.sign(body, signer), batch } as PbftMessage;
  }

  test.each([
    ['not from the primary', 'wrong-primary', (n: ManualNet) => prePrepare(n, {}, r2)],
    ['above the high watermark h + L', 'outside-watermarks', (n: ManualNet) => prePrepare(n, { seq: 17 })],
    ['at or below the stable checkpoint', 'outside-watermarks', (n: ManualNet) => prePrepare(n, { seq: 0 })],
    ['whose batch does not match its digest', 'wrong-digest', (n: ManualNet) => prePrepare(n, { digest: 'not-the-batch' })],
    ['for a view already left', 'old-view', (n: ManualNet) => prePrepare(n, { view: 0 })],
    ['for an epoch far ahead', 'too-far-ahead', (n: ManualNet) => prePrepare(n, { epoch: 5 })],
  ])('a pre-prepare %s (%s)', (what, reason, make) => {
    const n = net();
    if (what === 'for a view already left') {
      // Move r1 to view 1 first: f + 1 = 2 view changes from others make it join. (A replica
      // starts no view change of its own in its first idleStatusIntervalMs: it may be behind.)
      n.submit(r1, { kind: 'decision', value: 'stuck' });
      n.deliverAll((e) => e.from !== r0 && e.to !== r0);
      n.advance(5_000);
      n.deliverAll((e) => e.from !== r0 && e.to !== r0);
      n.advance(1_000);
      n.deliverAll((e) => e.from !== r0 && e.to !== r0);
      expect(n.node(r1).view().view).toBe(1);
    }
    const before = n.node(r1).view().rejected[reason] ?? 0;
    n.inject(r1, make(n));
    expect((n.node(r1).view().rejected[reason] ?? 0) - before).toBe(1);
    expect(
      n
        .node(r1)
        .view()
        .phases.filter((p) => p.prePrepared && p.view === 0),
    ).toHaveLength(0);
  });

  test('a duplicate, then an equivocating pre-prepare for the same number (counted as conflict)', () => {
    const n = net();
    const first = prePrepare(n);
    n.inject(r1, first);
    n.inject(r1, first);
    const other = prePrepare(n, {}, r0, []);
    n.inject(r1, other);
    expect(n.node(r1).view().rejected).toMatchObject({ duplicate: 1, conflict: 1 });
    expect(n.node(r1).view().phases[0]?.digest).toBe(first.body.type === 'pre-prepare' ? first.body.digest : '');
  });

  test('a prepare from the primary, a second prepare with another digest, and a vote from a stranger', () => {
    const n = net();
    const pp = prePrepare(n);
    n.inject(r1, pp);
    const digest = (pp.body as PrePrepareBody).digest;
    n.inject(r1, n.sign({ type: 'prepare', epoch: 0, view: 0, seq: 1, digest }, r0));
    n.inject(r1, n.sign({ type: 'prepare', epoch: 0, view: 0, seq: 1, digest }, r2));
    n.inject(r1, n.sign({ type: 'prepare', epoch: 0, view: 0, seq: 1, digest: 'other' }, r2));
    n.inject(r1, n.sign({ type: 'prepare', epoch: 0, view: 0, seq: 1, digest }, asNodeId('mallory')));
    n.inject(r1, n.sign({ type: 'commit', epoch: 0, view: 3, seq: 1, digest }, r2)); // future view: held, not applied
    expect(n.node(r1).view().rejected).toMatchObject({ 'wrong-primary': 1, conflict: 1, 'not-a-replica': 1 });
    // Its own prepare and r2's make q − 1 = 2: prepared, so r1 commits (the view-3 commit waits).
    expect(n.node(r1).view().phases[0]?.prepares.sort()).toEqual([r1, r2]);
    expect(n.node(r1).view().phases[0]).toMatchObject({ prepared: true, commits: [r1], committed: false });
  });

  test('a forged signature never reaches the core (the runtime refuses it, the core counts it)', () => {
    const n = net();
    const pp = prePrepare(n);
    n.inject(r1, { ...pp, sig: 'forged' });
    expect(n.node(r1).view().rejected['runtime: bad-signature']).toBe(1);
    expect(n.node(r1).view().phases).toHaveLength(0);
  });
});

describe('checkpoints and the log window', () => {
  test('every K = 8 a checkpoint; once stable the log below it is discarded, on disk too', () => {
    const n = net();
    for (let i = 0; i < 20; i++) {
      n.submit(asNodeId(`r${i % 4}`), { kind: 'kv-set', key: `k${i}`, value: i });
      n.deliverAll();
    }
    for (const id of n.ids) {
      const v = n.node(id).view();
      expect(v.lastCommitted).toBe(20);
      expect(v.stableCheckpoint).toBe(16);
      expect(v.phases.map((p) => p.seq)).toEqual([17, 18, 19, 20]);
      const slotKeys = [...(n.disks.get(id) as Map<string, unknown>).keys()].filter((k) => k.startsWith('pbft/slot/'));
      expect(slotKeys).toHaveLength(4);
      expect(n.node(id).kvGet('k19')).toBe(19);
    }
  });

  test('the primary stops at the high watermark h + L until a checkpoint becomes stable', () => {
    const n = net();
    // Checkpoint messages are lost: no checkpoint becomes stable, so h stays 0 and L = 16.
    for (let i = 0; i < 24; i++) {
      n.submit(r0, { kind: 'decision', value: i });
      n.deliverAll((e) => e.msg.body.type !== 'checkpoint');
    }
    expect(n.node(r1).view().lastCommitted).toBe(16);
    expect(n.node(r1).view().stableCheckpoint).toBe(0);
    // Checkpoints get through on retransmission: the window moves and the rest commits.
    n.advance(500);
    n.deliverAll();
    n.advance(500);
    n.deliverAll();
    expect(n.node(r1).view().stableCheckpoint).toBeGreaterThanOrEqual(16);
    // The 8 operations that waited in the client went out packed, in fewer requests.
    expect(n.node(r1).view().lastCommitted).toBeGreaterThan(16);
    expect(n.node(r1).view().stats.executedRequests).toBe(24);
    expect(
      n
        .node(r1)
        .view()
        .log.map((e) => e.op)
        .at(-1),
    ).toEqual({ kind: 'decision', value: 23 });
  });
});

describe('observers', () => {
  test('an observer executes only commit certificates with q matching commits whose batch matches', () => {
    // r4 is not in the replica set: it follows the log through proofs it asks for.
    const ids = ['r0', 'r1', 'r2', 'r3', 'r4'].map(asNodeId);
    const n = new ManualNet(ids, {}, ids.slice(0, 4));
    n.deliverAll();
    n.submit(r1, { kind: 'decision', value: 'seen by the observer' });
    n.deliverAll();
    const observer = asNodeId('r4');
    expect(n.node(observer).view().role).toBe('observer');
    // Build certificates from what r2 holds for seq 1.
    const slot = (n.disks.get(r2) as Map<string, unknown>).get(slotKey(1)) as SlotRecord;
    const cert = slot.committed as NonNullable<SlotRecord['committed']>;
    const proof = (commits: typeof cert.commits, batch: typeof cert.batch): PbftMessage => ({
      ...n.sign({ type: 'proof' as const, to: observer, pp: cert.pp, commits }, r2),
      batch,
    });
    n.inject(observer, proof(cert.commits.slice(0, 2), cert.batch)); // 2 of the 3 commits needed
    n.inject(observer, proof(cert.commits, [])); // batch does not match the digest
    expect(n.node(observer).view().rejected['bad-certificate']).toBe(2);
    expect(n.node(observer).view().lastCommitted).toBe(0);
    n.inject(observer, proof(cert.commits, cert.batch));
    expect(n.node(observer).view().lastCommitted).toBe(1);
    expect(n.node(observer).view().log[0]?.op).toEqual({ kind: 'decision', value: 'seen by the observer' });
  });
});

describe('durability', () => {
  test('a vote is persisted before it is sent', () => {
    const n = net();
    const mark = n.effectsOf(r1).length;
    n.submit(r0, { kind: 'decision', value: 'x' });
    n.deliverAll();
    const effects = n.effectsOf(r1, mark);
    for (const type of ['prepare', 'commit'] as const) {
      const sent = effects.findIndex((e) => e.type === 'broadcast' && e.msg.body.type === type);
      expect(sent).toBeGreaterThan(0);
      const persisted = effects.slice(0, sent).findLastIndex((e) => e.type === 'persist');
      expect(persisted).toBeGreaterThanOrEqual(0);
      const write = effects[persisted];
      expect(write?.type === 'persist' && write.writes.some(([key]) => key.startsWith('pbft/slot/'))).toBe(true);
    }
  });

  test('a restarted backup keeps its vote: it refuses a different pre-prepare for the same number', () => {
    const n = net();
    n.submit(r0, { kind: 'decision', value: 'first' });
    // r1 prepares, then crashes before anything else reaches it.
    n.deliverAll((e) => e.to !== r1 || e.msg.body.type === 'pre-prepare' || e.msg.body.type === 'request');
    n.boot(r1);
    const batch = [n.sign({ type: 'request' as const, client: r2, ts: 9, op: { kind: 'decision' as const, value: 'second' } }, r2)];
    const body: PrePrepareBody = { type: 'pre-prepare', epoch: 0, view: 0, seq: 1, digest: batchDigest(fakeDigest, batch) };
    n.inject(r1, { ...n.sign(body, r0), batch });
    expect(n.node(r1).view().rejected.conflict).toBe(1);
  });
});
