// The apps' state machines in the replicated state: operations are numbered per machine,
// f+1 matching snapshot votes from replicas certify a snapshot (and drop the operations it
// covers), disagreeing votes are counted as a divergence without changing the order, caps
// refuse with a reason, and the whole survives a snapshot round trip (state transfer).
import { describe, expect, test } from 'vitest';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { defaultPbftParams } from '../../../src/core/pbft/constants.ts';
import { appCheckpointEveryOps, maxAppMachines, maxAppOpsRetained, maxAppSnapshotBytes } from '../../../src/core/pbft/app-limits.ts';
import { canonicalBytes } from '../../../src/core/pbft/json.ts';
import type { Batch } from '../../../src/core/pbft/messages.ts';
import { decodeOp, type Op } from '../../../src/core/pbft/ops.ts';
import { decodeSnapshot, ReplicatedState } from '../../../src/core/pbft/state-machine.ts';

const [A, B, C, D] = ['A', 'B', 'C', 'D'].map(asNodeId) as [NodeId, NodeId, NodeId, NodeId];
const X = asNodeId('X');
const timestamps = new Map<NodeId, number>();
const req = (client: NodeId, op: Op): Batch[number] => {
  const ts = (timestamps.get(client) ?? 0) + 1;
  timestamps.set(client, ts);
  return { body: { type: 'request', client, ts, op }, signer: client, sig: '' };
};
const exec = (state: ReplicatedState, ...requests: Batch[number][]) => state.execute(state.seq + 1, `d${state.seq + 1}`, requests).map((e) => e.result);
const add = (n: number): Op => ({ kind: 'app', machine: 'counter', op: { add: n } });
const vote = (index: number, total: number): Op => ({ kind: 'app-checkpoint', machine: 'counter', index, snapshot: { total } });

/** A room of four replicas (f = 1) with `count` counter operations ordered. */
function withOps(count: number): ReplicatedState {
  const state = new ReplicatedState([A, B, C, D], defaultPbftParams);
  for (let i = 0; i < count; i++) exec(state, req(X, add(1)));
  return state;
}

describe('app state machines in the replicated state', () => {
  test('operations are numbered per machine, in commit order, and anyone may propose them', () => {
    const state = new ReplicatedState([A, B, C, D], defaultPbftParams);
    const results = exec(state, req(X, add(1)), req(A, { kind: 'app', machine: 'poll', op: 'yes' }), req(B, add(2)));
    expect(results).toEqual([
      { ok: true, index: 1 },
      { ok: true, index: 1 },
      { ok: true, index: 2 },
    ]);
    expect(state.appMachine('counter')).toMatchObject({
      ordered: 2,
      certified: null,
      ops: [
        { index: 1, client: X, op: { add: 1 } },
        { index: 2, client: B, op: { add: 2 } },
      ],
    });
    expect(state.appMachine('nothing')).toBeUndefined();
  });

  test('f+1 matching votes from replicas certify a snapshot and drop the operations it covers', () => {
    const state = withOps(appCheckpointEveryOps + 3);
    const k = appCheckpointEveryOps;
    expect(exec(state, req(A, vote(k, k)))).toEqual([{ ok: true, index: k, certified: false, variants: 1 }]);
    // A client that is not a replica does not count.
    expect(exec(state, req(X, vote(k, k)))[0]).toMatchObject({ ok: false, note: 'only a replica votes a snapshot' });
    expect(exec(state, req(A, vote(k, k)))[0]).toMatchObject({ ok: false, note: /voted for this index already/ });
    expect(exec(state, req(B, vote(k, k)))).toEqual([{ ok: true, index: k, certified: true, variants: 1 }]);
    const m = state.appMachine('counter');
    expect(m?.certified).toEqual({ index: k, snapshot: { total: k } });
    expect(m?.ops.map((e) => e.index)).toEqual([k + 1, k + 2, k + 3]);
    expect(m?.votes).toEqual([]);
    // Late votes: the same snapshot is fine; another one is a divergence.
    expect(exec(state, req(C, vote(k, k)))[0]).toMatchObject({ ok: true, note: 'already certified' });
    expect(exec(state, req(D, vote(k, 999)))[0]).toMatchObject({ ok: true, variants: 2, note: 'differs from the certified snapshot' });
    expect(state.appMachine('counter')).toMatchObject({ divergences: 1, diverged: [{ index: k, variants: 2 }] });
  });

  test('a vote for an index not ordered yet, not on the interval, or below the certified one is refused', () => {
    const state = withOps(appCheckpointEveryOps);
    expect(exec(state, req(A, vote(2 * appCheckpointEveryOps, 0)))[0]).toMatchObject({ ok: false, note: /not ordered yet/ });
    expect(exec(state, req(A, vote(3, 0)))[0]).toMatchObject({ ok: false, note: /every 16 operations/ });
    expect(exec(state, req(A, { kind: 'app-checkpoint', machine: 'other', index: 16, snapshot: 0 }))[0]).toMatchObject({ ok: false });
  });

  test('replicas that disagree are counted once per index, the order of operations stays, and f+1 still certify', () => {
    const state = withOps(appCheckpointEveryOps);
    const k = appCheckpointEveryOps;
    exec(state, req(A, vote(k, k)));
    expect(exec(state, req(B, vote(k, 1)))[0]).toEqual({ ok: true, index: k, certified: false, variants: 2 });
    expect(exec(state, req(C, vote(k, 2)))[0]).toEqual({ ok: true, index: k, certified: false, variants: 3 });
    expect(exec(state, req(D, vote(k, k)))[0]).toEqual({ ok: true, index: k, certified: true, variants: 3 });
    expect(state.appMachine('counter')).toMatchObject({
      ordered: k,
      divergences: 1,
      diverged: [{ index: k, variants: 3 }],
      certified: { index: k, snapshot: { total: k } },
    });
    // Ordering goes on as before.
    expect(exec(state, req(X, add(1)))[0]).toEqual({ ok: true, index: k + 1 });
  });

  test('without a certified snapshot a machine keeps at most maxAppOpsRetained operations; then it is refused', () => {
    const state = withOps(maxAppOpsRetained);
    expect(exec(state, req(X, add(1)))[0]).toMatchObject({ ok: false, note: /wait for a checkpoint/ });
    exec(state, req(A, vote(appCheckpointEveryOps, 1)), req(B, vote(appCheckpointEveryOps, 1)));
    expect(exec(state, req(X, add(1)))[0]).toEqual({ ok: true, index: maxAppOpsRetained + 1 });
  });

  test('at most maxAppMachines machines', () => {
    const state = new ReplicatedState([A], defaultPbftParams);
    for (let i = 0; i < maxAppMachines; i++) expect(exec(state, req(X, { kind: 'app', machine: `m${i}`, op: i }))[0]?.ok).toBe(true);
    expect(exec(state, req(X, { kind: 'app', machine: 'one-more', op: 1 }))[0]).toMatchObject({ ok: false, note: /state machines already/ });
  });

  test('the state with apps survives a snapshot round trip; without apps its canonical form is unchanged', () => {
    const plain = new ReplicatedState([A, B, C, D], defaultPbftParams);
    exec(plain, req(X, { kind: 'kv-set', key: 'k', value: 1 }));
    expect('apps' in plain.snapshot()).toBe(false);
    const state = withOps(appCheckpointEveryOps + 1);
    exec(state, req(A, vote(appCheckpointEveryOps, 5)), req(B, vote(appCheckpointEveryOps, 5)));
    const decoded = decodeSnapshot(JSON.parse(state.text()));
    if (!decoded.ok) throw new Error(decoded.error);
    const copy = ReplicatedState.fromSnapshot(decoded.value, defaultPbftParams);
    expect(copy.text()).toBe(state.text());
    expect(copy.appMachine('counter')).toEqual(state.appMachine('counter'));
    // And the copy goes on exactly as the original does.
    expect(exec(copy, req(X, add(1)))).toEqual([{ ok: true, index: appCheckpointEveryOps + 2 }]);
    expect(exec(state, req(X, add(1)))).toEqual([{ ok: true, index: appCheckpointEveryOps + 2 }]);
  });

  test('operations are checked: machine names, sizes, snapshots within maxAppSnapshotBytes', () => {
    expect(decodeOp({ kind: 'app', machine: 'counter', op: { add: 1 } }).ok).toBe(true);
    expect(decodeOp({ kind: 'app', machine: 'Bad Name', op: 1 }).ok).toBe(false);
    expect(decodeOp({ kind: 'app', machine: 'counter', op: 'x'.repeat(2_000) }).ok).toBe(false);
    expect(decodeOp({ kind: 'app', machine: 'counter' }).ok).toBe(false);
    expect(decodeOp({ kind: 'app-checkpoint', machine: 'counter', index: 16, snapshot: 'x'.repeat(4_000) }).ok).toBe(true);
    // Bytes, not characters: 3-byte characters count three times.
    const wide = '€'.repeat(Math.ceil(maxAppSnapshotBytes / 3) + 1);
    expect(canonicalBytes(wide).length).toBeLessThan(maxAppSnapshotBytes);
    expect(decodeOp({ kind: 'app-checkpoint', machine: 'counter', index: 16, snapshot: wide }).ok).toBe(false);
    expect(decodeOp({ kind: 'app-checkpoint', machine: 'counter', index: 0, snapshot: 1 }).ok).toBe(false);
  });
});
