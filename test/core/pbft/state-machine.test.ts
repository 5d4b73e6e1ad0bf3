// The replicated state machine on its own: deterministic execution, deduplication by
// (client, ts), the membership rule and its boundary, caps, and snapshot round trips.
import { describe, expect, test } from 'vitest';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { defaultPbftParams, maxKvEntries } from '../../../src/core/pbft/constants.ts';
import { canonicalBytes } from '../../../src/core/pbft/json.ts';
import type { Batch } from '../../../src/core/pbft/messages.ts';
import type { Op } from '../../../src/core/pbft/ops.ts';
import { decodeSnapshot, membershipBoundary, ReplicatedState } from '../../../src/core/pbft/state-machine.ts';

const params = defaultPbftParams; // K = 8, L = 16
const A = asNodeId('A');
const B = asNodeId('B');
const C = asNodeId('C');
const D = asNodeId('D');
const req = (client: NodeId, ts: number, op: Op): Batch[number] => ({ body: { type: 'request', client, ts, op }, signer: client, sig: '' });

function run(state: ReplicatedState, ...batches: Batch[]) {
  return batches.map((batch) => state.execute(state.seq + 1, `d${state.seq + 1}`, batch));
}

describe('membership boundary', () => {
  test('a change at s takes effect after ⌈s/K⌉·K + L − K', () => {
    expect(membershipBoundary(1, params)).toBe(16);
    expect(membershipBoundary(8, params)).toBe(16);
    expect(membershipBoundary(9, params)).toBe(24);
    expect(membershipBoundary(16, params)).toBe(24);
  });

  test('for every s, numbers after the boundary are beyond the window of any replica that has not executed s', () => {
    const K = params.checkpointIntervalSeqs;
    const L = params.logWindowSeqs;
    for (let s = 1; s <= 200; s++) {
      const boundary = membershipBoundary(s, params);
      // A replica works on n only if n ≤ h + L for its stable checkpoint h (a multiple of K).
      // The highest h that has not yet passed s is the checkpoint just below s.
      const hBeforeS = Math.floor((s - 1) / K) * K;
      expect(boundary + 1).toBeGreaterThan(hBeforeS + L);
    }
  });
});

describe('execution', () => {
  test('join, then the set changes exactly at the boundary, in a new epoch', () => {
    const state = new ReplicatedState([A], params);
    const [results] = run(state, [req(B, 1, { kind: 'join', node: B })]);
    expect(results?.[0]?.result).toEqual({ ok: true, effectiveAfterSeq: 16 });
    expect(state.epochEnd()).toBe(16);
    for (let i = 2; i < 16; i++) run(state, []);
    expect(state.replicas).toEqual([A]);
    run(state, []);
    expect(state.seq).toBe(16);
    expect(state.replicas).toEqual([A, B]);
    expect(state.epoch).toBe(1);
    expect(state.epochEnd()).toBeUndefined();
  });

  test('membership refusals: joining for someone else, twice, leaving for someone else, the last replica', () => {
    const state = new ReplicatedState([A], params);
    const [r] = run(state, [
      req(B, 1, { kind: 'join', node: C }),
      req(C, 1, { kind: 'join', node: C }),
      req(C, 2, { kind: 'join', node: C }),
      req(B, 2, { kind: 'leave', node: A }),
      req(A, 1, { kind: 'leave', node: A }),
    ]);
    expect(r?.map((x) => x.result.ok)).toEqual([false, true, false, false, true]);
    expect(r?.[2]?.result.note).toMatch(/already/);
    // A and C: A leaving is allowed because C joins; but only one may remain.
    const [r2] = run(state, [req(C, 3, { kind: 'leave', node: C })]);
    expect(r2?.[0]?.result).toMatchObject({ ok: false, note: 'the last replica cannot leave' });
  });

  test('remove needs f + 1 votes from replicas', () => {
    const state = new ReplicatedState([A, B, C, D], params); // n = 4, f = 1
    const [r] = run(state, [req(A, 1, { kind: 'remove', node: D }), req(C, 1, { kind: 'remove', node: D })]);
    expect(r?.[0]?.result).toMatchObject({ ok: true, votes: 1, needed: 2 });
    expect(r?.[1]?.result).toMatchObject({ ok: true, votes: 2, needed: 2, effectiveAfterSeq: 16 });
    const outsider = asNodeId('X');
    const [r2] = run(state, [req(outsider, 1, { kind: 'remove', node: A })]);
    expect(r2?.[0]?.result.ok).toBe(false);
    while (state.seq < 16) run(state, []);
    expect(state.replicas).toEqual([A, B, C]);
  });

  test('a request runs once: duplicates and older numbers are skipped, the last one re-replied', () => {
    const state = new ReplicatedState([A], params);
    run(state, [req(B, 5, { kind: 'kv-set', key: 'k', value: 1 })]);
    const [r] = run(state, [req(B, 5, { kind: 'kv-set', key: 'k', value: 2 }), req(B, 4, { kind: 'kv-set', key: 'k', value: 3 })]);
    expect(r?.map((x) => [x.fresh, x.reply])).toEqual([
      [false, true],
      [false, false],
    ]);
    expect(state.get('k')).toBe(1);
  });

  test('the key–value store is capped: a new key beyond the cap fails, overwrites still work', () => {
    const state = new ReplicatedState([A], params);
    const batch: Batch = [];
    for (let i = 0; i < maxKvEntries; i++) batch.push(req(asNodeId(`c${i}`), 1, { kind: 'kv-set', key: `k${i}`, value: i }));
    for (let i = 0; i < batch.length; i += 64) run(state, batch.slice(i, i + 64));
    const [r] = run(state, [req(A, 1, { kind: 'kv-set', key: 'one-too-many', value: 0 }), req(A, 2, { kind: 'kv-set', key: 'k0', value: 'new' })]);
    expect(r?.[0]?.result.ok).toBe(false);
    expect(r?.[1]?.result).toEqual({ ok: true, existed: true });
  });

  test('same batches, same state text, on two replicas; the snapshot round-trips', () => {
    const one = new ReplicatedState([A, B], params);
    const two = new ReplicatedState([A, B], params);
    const batches: Batch[] = [
      [req(C, 1, { kind: 'kv-set', key: 'x', value: { deep: [1, 2] } }), req(D, 1, { kind: 'decision', value: 'go' })],
      [req(C, 2, { kind: 'kv-del', key: 'x' }), req(D, 2, { kind: 'join', node: D })],
    ];
    run(one, ...batches);
    run(two, ...batches);
    expect(one.text()).toBe(two.text());
    const decoded = decodeSnapshot(JSON.parse(one.text()));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(canonicalBytes(ReplicatedState.fromSnapshot(decoded.value, params).snapshot())).toBe(one.text());
  });
});
