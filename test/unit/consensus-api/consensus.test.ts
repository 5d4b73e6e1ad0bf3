// createConsensus (src/api/consensus.ts) with the worker's bridge (pbft-apps.ts) and the real
// replicated state behind it (fake-room.ts: only pBFT's agreement is replaced). What an app
// would check: every node's machine ends in the same state, propose resolves with the result,
// a late node restores from the certified snapshot, a machine that throws or is not
// deterministic is reported and counted while the order of operations stays the agreed one,
// and wrong arguments are refused with a code.
import { describe, expect, test } from 'vitest';
import { createConsensus, ConsensusError, type Consensus, type StateMachine } from '../../../src/api/consensus.ts';
import { AbortError, InvalidArgumentError, TabmeshError } from '../../../src/api/errors.ts';
import { appCheckpointEveryOps, maxAppSnapshotBytes } from '../../../src/core/pbft/app-limits.ts';
import { asNodeId } from '../../../src/core/types.ts';
import { commitAll, FakeRoom, settle } from './fake-room.ts';

type AddOp = { add: number };

/** A counter: the total after each operation is the result; `add: 13` throws (a bad operation). */
function counter(options: { skew?: number } = {}): StateMachine<AddOp, number, number> & { total: number; restored: number[] } {
  return {
    total: 0,
    restored: [],
    apply(op) {
      if (op.add === 13) throw new Error('13 is unlucky');
      this.total += op.add + (options.skew ?? 0);
      return this.total;
    },
    snapshot() {
      return this.total;
    },
    restore(total) {
      this.total = total;
      this.restored.push(total);
    },
  };
}

const four = () => new FakeRoom(['A', 'B', 'C', 'D'].map(asNodeId));

async function proposeAll(room: FakeRoom, proposals: Array<[Consensus<AddOp, number>, number]>): Promise<PromiseSettledResult<number>[]> {
  const results = Promise.allSettled(proposals.map(([c, n]) => c.propose({ add: n })));
  await commitAll(room);
  return results;
}

describe('an app state machine over the room', () => {
  test('proposals from two nodes apply in one order everywhere, and resolve with their results', async () => {
    const room = four();
    const machines = ['A', 'B', 'C', 'D'].map(() => counter());
    const handles = ['A', 'B', 'C', 'D'].map((n, i) => createConsensus(room.node(n).backend, 'counter', machines[i]!));
    await Promise.all(handles.map((h) => h.ready));
    const applied: number[] = [];
    handles[2]!.on('applied', (e) => applied.push(e.index));
    const results = await proposeAll(room, [
      [handles[0]!, 1],
      [handles[1]!, 10],
      [handles[0]!, 100],
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    // Results are the running totals, in the committed order (all three in one batch here).
    expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual([1, 11, 111]);
    await commitAll(room);
    expect(machines.map((m) => m.total)).toEqual([111, 111, 111, 111]);
    expect(applied).toEqual([1, 2, 3]);
    expect(handles.map((h) => h.applied)).toEqual([3, 3, 3, 3]);
  });

  test('two machines of one room have their own operations', async () => {
    const room = four();
    const a = counter();
    const b = counter();
    const x = createConsensus(room.node('A').backend, 'apples', a);
    const y = createConsensus(room.node('A').backend, 'pears', b);
    await proposeAll(room, [
      [x, 2],
      [y, 5],
      [x, 3],
    ]);
    expect([a.total, b.total]).toEqual([5, 5]);
    expect([x.applied, y.applied]).toEqual([2, 1]);
  });

  test('replicas vote snapshots; f+1 certify one, and a late node restores from it, then applies the rest', async () => {
    const room = four();
    const a = counter();
    const b = counter();
    const ha = createConsensus(room.node('A').backend, 'counter', a);
    createConsensus(room.node('B').backend, 'counter', b);
    for (let i = 1; i <= appCheckpointEveryOps + 3; i++) await proposeAll(room, [[ha, 2 * i]]);
    await commitAll(room);
    const expected = (appCheckpointEveryOps + 3) * (appCheckpointEveryOps + 4);
    expect(room.state.appMachine('counter')).toMatchObject({ certified: { index: appCheckpointEveryOps }, ops: [{ index: 17 }, { index: 18 }, { index: 19 }] });
    // An observer arrives: it never saw the first 16 operations.
    const late = counter();
    const hl = createConsensus(room.node('E').backend, 'counter', late);
    const restored: number[] = [];
    hl.on('restored', (e) => restored.push(e.index));
    await hl.ready;
    expect(restored).toEqual([appCheckpointEveryOps]);
    expect(late.restored).toEqual([appCheckpointEveryOps * (appCheckpointEveryOps + 1)]);
    expect([a.total, b.total, late.total]).toEqual([expected, expected, expected]);
    expect(hl.stats()).toMatchObject({ applied: appCheckpointEveryOps + 3, restores: 1, votes: 0 });
    // And it follows from there like everyone else.
    await proposeAll(room, [[hl, 1000]]);
    expect([a.total, b.total, late.total]).toEqual([expected + 1000, expected + 1000, expected + 1000]);
  });
});

describe('an app state machine that throws or is not deterministic', () => {
  test('an operation the machine throws for rejects with apply-threw everywhere, is counted, and the log goes on', async () => {
    const room = four();
    const machines = [counter(), counter()];
    const [ha, hb] = ['A', 'B'].map((n, i) => createConsensus(room.node(n).backend, 'counter', machines[i]!)) as [
      Consensus<AddOp, number>,
      Consensus<AddOp, number>,
    ];
    const errors: number[] = [];
    hb.on('error', (e) => errors.push(e.index));
    const results = await proposeAll(room, [
      [ha, 1],
      [ha, 13],
      [hb, 2],
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'apply-threw' } });
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConsensusError);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(TabmeshError);
    expect(results[2]).toEqual({ status: 'fulfilled', value: 3 });
    await commitAll(room);
    expect(machines.map((m) => m.total)).toEqual([3, 3]);
    expect(errors).toEqual([2]);
    expect(hb.stats().threw).toBe(1);
    expect(room.node('B').bridge.view()).toEqual([
      { name: 'counter', ordered: 3, certifiedIndex: 0, retained: 3, divergences: 0, local: { threw: 1, diverged: 0, 'bad-snapshot': 0 } },
    ]);
  });

  test('a machine that is not deterministic on one replica: replicas disagree, it is reported and counted, the others certify, the order stays', async () => {
    const room = four();
    const honest = ['A', 'C', 'D'].map(() => counter());
    const odd = counter({ skew: 1 });
    const handles = [
      createConsensus(room.node('A').backend, 'counter', honest[0]!),
      createConsensus(room.node('B').backend, 'counter', odd),
      createConsensus(room.node('C').backend, 'counter', honest[1]!),
      createConsensus(room.node('D').backend, 'counter', honest[2]!),
    ];
    const seen: Array<{ node: string; index: number; local: boolean }> = [];
    handles.forEach((h, i) => h.on('diverged', (e) => seen.push({ node: 'ABCD'[i]!, index: e.index, local: e.local })));
    for (let i = 0; i < appCheckpointEveryOps; i++) await proposeAll(room, [[handles[i % 4]!, 1]]);
    await commitAll(room);
    const k = appCheckpointEveryOps;
    // Every node applied the same operations in the same order; only B's arithmetic is off.
    expect(handles.map((h) => h.applied)).toEqual([k, k, k, k]);
    expect(honest.map((m) => m.total)).toEqual([k, k, k]);
    expect(odd.total).toBe(2 * k);
    const m = room.state.appMachine('counter');
    expect(m).toMatchObject({ certified: { index: k, snapshot: k }, divergences: 1, diverged: [{ index: k }] });
    // Everyone hears that replicas disagreed; B also learns that it is the one that differs.
    for (const node of 'ABCD') expect(seen).toContainEqual({ node, index: k, local: false });
    expect(seen.filter((s) => s.local)).toEqual([{ node: 'B', index: k, local: true }]);
    expect(room.node('B').bridge.view()[0]).toMatchObject({ divergences: 1, local: { diverged: 1 } });
    expect(room.node('A').bridge.view()[0]).toMatchObject({ divergences: 1, local: { diverged: 0 } });
  });
});

describe('events from the node to the page', () => {
  test('a lost event is noticed at the next one: the page asks the node and catches up in order', async () => {
    const room = four();
    const a = counter();
    const b = counter();
    const ha = createConsensus(room.node('A').backend, 'counter', a);
    const hb = createConsensus(room.node('B').backend, 'counter', b);
    await Promise.all([ha.ready, hb.ready]);
    room.node('B').deaf = true;
    await proposeAll(room, [[ha, 1]]);
    await proposeAll(room, [[ha, 2]]);
    room.node('B').deaf = false;
    const order: number[] = [];
    hb.on('applied', (e) => order.push(e.index));
    await proposeAll(room, [[ha, 4]]);
    await settle();
    expect(order).toEqual([1, 2, 3]);
    expect([a.total, b.total]).toEqual([7, 7]);
  });

  test('event payloads that do not decode are counted and dropped; a sync event from another genesis starts the machine over', async () => {
    const room = four();
    const a = counter();
    const ha = createConsensus(room.node('A').backend, 'counter', a);
    await proposeAll(room, [[ha, 5]]);
    room.node('A').inject('consensus-op', { machine: 'counter', index: 'two' });
    room.node('A').inject('consensus-checkpoint', null);
    await settle();
    expect(ha.stats().malformed).toBe(2);
    expect(a.total).toBe(5);
    // The room's consensus started over (the node adopted an earlier genesis): nothing is ordered there yet.
    const fresh = new FakeRoom(room.replicas);
    Object.assign(room, { state: fresh.state });
    room.genesis = 'genesis-2';
    room.node('A').bridge.jumped();
    await settle();
    expect(a.total).toBe(0);
    expect(ha.applied).toBe(0);
  });
});

describe('refused arguments and commands', () => {
  test('arguments are checked and refused with a code', async () => {
    const room = four();
    const backend = room.node('A').backend;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as ConsensusError).code;
      }
      return 'no error';
    };
    expect(code(() => createConsensus(backend, 'Has Spaces', counter()))).toBe('invalid-argument');
    expect(code(() => createConsensus(backend, 'counter', { apply: () => 1 } as never))).toBe('invalid-argument');
    expect(code(() => createConsensus(backend, 'huge', { apply: () => 1, snapshot: () => 'x'.repeat(maxAppSnapshotBytes + 1), restore: () => {} }))).toBe(
      'invalid-argument',
    );
    expect(() => createConsensus(backend, 'Has Spaces', counter())).toThrow(InvalidArgumentError);
    const h = createConsensus(backend, 'counter', counter());
    expect(code(() => createConsensus(backend, 'counter', counter()))).toBe('name-taken');
    await expect(h.propose({ add: () => 1 } as never)).rejects.toMatchObject({ code: 'invalid-argument', argument: 'propose: op' });
    await expect(h.propose({ add: 1, pad: 'x'.repeat(2_000) } as never)).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(h.propose({ add: 1 }, { signal: 'soon' } as never)).rejects.toMatchObject({ code: 'invalid-argument', argument: 'propose: options.signal' });
    await expect(h.propose({ add: 1 }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(() => h.on('nonsense' as never, () => {})).toThrow(InvalidArgumentError);
    // Aborting stops the wait; the operation still commits and applies.
    const controller = new AbortController();
    const waiting = h.propose({ add: 1 }, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'aborted', name: 'AbortError' });
    await commitAll(room);
    expect(h.applied).toBe(1);
    const open = h.propose({ add: 2 }).catch((error: unknown) => error);
    h.close();
    await commitAll(room);
    expect(await open).toMatchObject({ code: 'closed' });
    await expect(h.propose({ add: 1 })).rejects.toMatchObject({ code: 'closed' });
    // Once closed, the name is free again.
    expect(createConsensus(backend, 'counter', counter()).name).toBe('counter');
  });

  test("the worker's bridge refuses bad commands from the page with a code, and ignores snapshot votes while an observer", async () => {
    const room = four();
    const replica = room.node('A').backend;
    const observer = room.node('E').backend;
    await expect(replica.command('consensus-propose', 'Bad Name', 1)).rejects.toMatchObject({ code: 'bad-name' });
    await expect(replica.command('consensus-propose', 'counter', { f: 1n })).rejects.toMatchObject({ code: 'bad-op' });
    await expect(replica.command('consensus-vote', 'counter', 16, 'x'.repeat(maxAppSnapshotBytes + 1))).rejects.toMatchObject({ code: 'bad-snapshot' });
    await expect(replica.command('consensus-vote', 'counter', 0, 1)).rejects.toMatchObject({ code: 'bad-snapshot' });
    await expect(replica.command('consensus-report', 'counter', 'exploded')).rejects.toMatchObject({ code: 'bad-report' });
    expect(await observer.command('consensus-vote', 'counter', 16, 1)).toBe(false);
    expect(room.pending).toBe(0);
    expect(await replica.command('consensus-vote', 'counter', 16, 1)).toBe(true);
    expect(room.pending).toBe(1);
    // The room refuses what it cannot order; propose says why.
    room.commit();
    const h = createConsensus(room.node('B').backend, 'counter', counter());
    await expect(proposeAll(room, [[h, 1]]).then((r) => r[0])).resolves.toEqual({ status: 'fulfilled', value: 1 });
    // With "counter", seven more make the eight a room may have.
    for (let i = 0; i < 7; i++)
      expect((await proposeAll(room, [[createConsensus(room.node('C').backend, `m${i}`, counter()), 1]]))[0]?.status).toBe('fulfilled');
    const ninth = createConsensus(room.node('C').backend, 'ninth', counter());
    const [result] = await proposeAll(room, [[ninth, 1]]);
    expect(result).toMatchObject({ status: 'rejected', reason: { code: 'refused', message: /state machines already/ } });
  });
});
