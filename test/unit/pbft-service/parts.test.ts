// The service's small parts on their own: the verification cache, what propose() accepts, group
// commit, the phase board and the driver. (The genesis rule and the membership planner are pure
// cores now: test/core/pbft-room/.)
import { describe, expect, test } from 'vitest';
import type { SignatureCheck } from '../../../src/core/pbft/index.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { createIdentity, signText, verifyText } from '../../../src/crypto/ed25519.ts';
import { maxOpenProposals, Proposals, toOp } from '../../../src/worker/services/pbft-proposals.ts';
import { SignatureVerifier } from '../../../src/worker/services/pbft-verify.ts';
import { GroupCommit } from '../../../src/worker/group-commit.ts';
import { PhaseBoard, phaseRowsKept } from '../../../src/worker/services/pbft-phases.ts';
import { PbftDriver, maxDurableBacklog, maxQueuedInputs, type DriverHooks } from '../../../src/worker/services/pbft-driver.ts';
import { PbftReplica } from '../../../src/core/pbft/index.ts';
import { createRng } from '../../../src/core/rng.ts';
import { sha256Hex } from '../../../src/compute/kernels/sha256.ts';
import { MemoryStorage } from '../../../src/store/memory.ts';

describe('signature verification cache', () => {
  test('checks each triple once, never vouches for other text, and stays within its cap', async () => {
    const who = await createIdentity();
    let calls = 0;
    const verifier = new SignatureVerifier(async (signer, text, sig) => {
      calls++;
      return verifyText(signer, text, sig);
    }, 3);
    const check = async (text: string): Promise<SignatureCheck> => ({ signer: who.id, bytes: text, sig: await signText(who, text) });
    const one = await check('one');
    expect(await verifier.verifyAll([one, one])).toEqual({ ok: true });
    expect(await verifier.verifyAll([one])).toEqual({ ok: true });
    expect(calls).toBe(2);
    expect(verifier.stats().cacheHits).toBe(1);
    // The same signature over other text is not in the cache, and fails.
    expect(await verifier.verifyAll([one, { ...one, bytes: 'two' }])).toEqual({ ok: false, signer: who.id });
    expect(verifier.stats().failed).toBe(1);
    for (const t of ['a', 'b', 'c', 'd', 'e']) await verifier.verifyAll([await check(t)]);
    expect(verifier.stats().cached).toBe(3);
    // A thrown verification is a failure, not a crash.
    const throwing = new SignatureVerifier(() => Promise.reject(new Error('boom')));
    expect(await throwing.verifyAll([one])).toEqual({ ok: false, signer: who.id });
  });
});

describe('what propose() accepts', () => {
  test('text and JSON are decisions; key–value operations pass; membership and oversized ones are refused', () => {
    expect(toOp('hello')).toEqual({ ok: true, value: { kind: 'decision', value: 'hello' } });
    expect(toOp({ choice: 2 })).toEqual({ ok: true, value: { kind: 'decision', value: { choice: 2 } } });
    expect(toOp([1, 2])).toEqual({ ok: true, value: { kind: 'decision', value: [1, 2] } });
    expect(toOp({ kind: 'kv-set', key: 'k', value: 1 })).toEqual({ ok: true, value: { kind: 'kv-set', key: 'k', value: 1 } });
    expect(toOp({ kind: 'kv-del', key: 'k' }).ok).toBe(true);
    const join = toOp({ kind: 'join', node: 'x' });
    expect(join.ok).toBe(false);
    if (!join.ok) expect(join.error).toMatch(/node itself/);
    expect(toOp(undefined).ok).toBe(false);
    expect(toOp('x'.repeat(5_000)).ok).toBe(false);
    expect(toOp({ kind: 'kv-set', key: '', value: 1 }).ok).toBe(false);
    expect(toOp({ f: () => 1 }).ok).toBe(false);
  });

  test('open proposals are capped, and settle with their sequence number or the reason', async () => {
    const p = new Proposals();
    const first = p.add({ kind: 'decision', value: 1 }, 0);
    const second = p.add({ kind: 'decision', value: 2 }, 0);
    const handed = p.takeFor(1);
    expect(handed.map((h) => h.op)).toEqual([
      { kind: 'decision', value: 1 },
      { kind: 'decision', value: 2 },
    ]);
    expect(p.takeFor(1)).toEqual([]);
    // A new core (genesis adopted) gets them again.
    expect(p.takeFor(2)).toHaveLength(2);
    p.settle({ type: 'client-result', tag: handed[0]!.tag, ok: true, ts: 1, seq: 7, result: { ok: true }, latencyMs: 5 }, 40);
    p.settle({ type: 'client-result', tag: handed[1]!.tag, ok: false, reason: 'timed out' }, 50);
    await expect(first).resolves.toBe(7);
    await expect(second).rejects.toThrow(/timed out/);
    expect(p.stats()).toMatchObject({ submitted: 2, committed: 1, failed: 1, open: 0, latencyMs: { p50: 40, p99: 40 } });
    const many = new Proposals();
    for (let i = 0; i < maxOpenProposals; i++) void many.add({ kind: 'decision', value: i }, 0).catch(() => {});
    expect(() => many.add({ kind: 'decision', value: 'one too many' }, 0)).toThrow(/already waiting/);
    many.failAll('shutting down');
    expect(many.stats().open).toBe(0);
  });
});

describe("group commit of the core's writes", () => {
  /** Storage whose writes finish only when the test says so, recording what each transaction held. */
  class SlowStorage extends MemoryStorage {
    readonly transactions: string[][] = [];
    private release: Array<() => void> = [];
    fail = false;
    override async setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
      this.transactions.push(entries.map(([k]) => k));
      await new Promise<void>((resolve) => this.release.push(resolve));
      if (this.fail) throw new Error('disk full');
      await super.setMany(entries);
    }
    finishAll(): void {
      for (const r of this.release.splice(0)) r();
    }
    hold(resolve: () => void): void {
      this.release.push(resolve);
    }
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  test('writes asked for while one is on its way go together, and actions wait only for the writes before them', async () => {
    const storage = new SlowStorage();
    const errors: unknown[] = [];
    const group = new GroupCommit(storage, { now: () => 0, failed: (e) => void errors.push(e) });
    const log: string[] = [];
    group.persist([['a', 1]], []);
    group.after(() => log.push('sent after a'));
    group.persist([['b', 1]], []);
    group.persist(
      [
        ['b', 2],
        ['c', 1],
      ],
      ['a'],
    );
    group.after(() => log.push('sent after b, c'));
    await tick();
    expect(storage.transactions).toEqual([['a']]);
    expect(log).toEqual([]);
    storage.finishAll();
    await tick();
    await tick();
    // The first send needed only 'a'; the three later requests became one transaction.
    expect(log).toEqual(['sent after a']);
    expect(storage.transactions[1]).toEqual(['b', 'c']);
    storage.finishAll();
    await group.idle();
    expect(log).toEqual(['sent after a', 'sent after b, c']);
    // The last word on each key won: 'a' deleted, 'b' = 2.
    expect(await storage.get('a')).toBeUndefined();
    expect(await storage.get('b')).toBe(2);
    expect(group.stats()).toMatchObject({ batches: 2, requests: 3 });
    // With nothing being written, an action does not wait.
    group.after(() => log.push('free'));
    await tick();
    expect(log.at(-1)).toBe('free');
    expect(errors).toEqual([]);
  });

  test('deletes hold back no action: they go one at a time once nothing is pending, and a later write of the key cancels its delete', async () => {
    const storage = new SlowStorage();
    for (const key of ['old1', 'old2', 'old3']) await storage.set(key, 0);
    const deleted: string[] = [];
    const del = storage.del.bind(storage);
    storage.del = async (key: string) => {
      deleted.push(key);
      await new Promise<void>((resolve) => storage.hold(resolve));
      await del(key);
    };
    const group = new GroupCommit(storage, { now: () => 0, failed: () => {}, deletesWhenIdle: true });
    const sent: string[] = [];
    // A stable checkpoint: its record, and the slots below it to delete.
    group.persist([['stable', 1]], ['old1', 'old2', 'old3']);
    group.after(() => sent.push('checkpoint vote'));
    await tick();
    expect(storage.transactions).toEqual([['stable']]);
    storage.finishAll();
    await tick();
    await tick();
    // The vote went as soon as its record landed; one delete is now on its way.
    expect(sent).toEqual(['checkpoint vote']);
    expect(deleted).toEqual(['old1']);
    // The next vote (which also writes old3 again) waits for that one delete only.
    group.persist([['old3', 2]], []);
    group.after(() => sent.push('next vote'));
    storage.finishAll();
    await tick();
    await tick();
    expect(storage.transactions[1]).toEqual(['old3']);
    storage.finishAll();
    await tick();
    await tick();
    expect(sent).toEqual(['checkpoint vote', 'next vote']);
    const idle = group.idle();
    for (let i = 0; i < 20 && deleted.length < 3; i++) {
      storage.finishAll();
      await tick();
    }
    storage.finishAll();
    await idle;
    // old3 was written again after its delete was asked: its delete was cancelled.
    expect(deleted).toEqual(['old1', 'old2']);
    expect(await storage.get('old1')).toBeUndefined();
    expect(await storage.get('old2')).toBeUndefined();
    expect(await storage.get('old3')).toBe(2);
  });

  test('a failed write holds back what depended on it, and later writes still go', async () => {
    const storage = new SlowStorage();
    const errors: unknown[] = [];
    const group = new GroupCommit(storage, { now: () => 0, failed: (e) => void errors.push(e) });
    const sent: string[] = [];
    storage.fail = true;
    group.persist([['vote', 1]], []);
    group.after(() => sent.push('vote'));
    await tick();
    storage.finishAll();
    await tick();
    storage.fail = false;
    group.persist([['next', 1]], []);
    group.after(() => sent.push('next'));
    await tick();
    storage.finishAll();
    await group.idle();
    expect(sent).toEqual(['next']);
    expect(errors).toHaveLength(1);
  });
});

describe('phase board', () => {
  const r = (i: number) => asNodeId(`r${i}`);
  test("records each replica's votes per sequence number, starts over in a new view, and keeps the newest", () => {
    const board = new PhaseBoard();
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(0), phase: 'pre-prepare' });
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(1), phase: 'prepare' });
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(1), phase: 'prepare' });
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(2), phase: 'prepare' });
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(1), phase: 'prepared' });
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(1), phase: 'commit' });
    expect(board.list()).toEqual([
      {
        seq: 5,
        view: 0,
        digest: null,
        requests: 0,
        prePrepared: true,
        prepares: [r(1), r(2)],
        commits: [r(1)],
        prepared: true,
        committed: false,
        executed: false,
      },
    ]);
    // A view change re-orders 5 in view 1: the old votes no longer count; stale ones are ignored.
    board.phase({ type: 'phase', seq: 5, view: 1, replica: r(2), phase: 'commit' });
    board.phase({ type: 'phase', seq: 5, view: 0, replica: r(3), phase: 'commit' });
    board.executed({ type: 'executed', seq: 5, digest: 'd5', requests: 2 });
    expect(board.list()[0]).toMatchObject({
      view: 1,
      prePrepared: false,
      prepares: [],
      commits: [r(2)],
      executed: true,
      committed: true,
      digest: 'd5',
      requests: 2,
    });
    for (let seq = 6; seq < 6 + phaseRowsKept; seq++) board.executed({ type: 'executed', seq, digest: `d${seq}`, requests: 0 });
    const seqs = board.list().map((row) => row.seq);
    expect(seqs).toHaveLength(phaseRowsKept);
    expect(seqs[0]).toBe(6);
    // Something older than everything kept is not brought back.
    board.phase({ type: 'phase', seq: 2, view: 0, replica: r(0), phase: 'commit' });
    expect(board.list().map((row) => row.seq)).toEqual(seqs);
  });
});

/** Storage whose writes never land (a disk that stopped answering). */
const stuckStorage = () =>
  new (class extends MemoryStorage {
    override setMany(): Promise<void> {
      return new Promise(() => {});
    }
  })();

/** A driver's hooks that only record sends; a failure fails the test. */
const driverHooks = (send: DriverHooks['send']): DriverHooks => ({
  now: () => 0,
  sign: async () => 'sig',
  send,
  committed: () => {},
  clientResult: () => {},
  ui: () => {},
  failed: (error) => {
    throw error;
  },
  stepped: () => {},
  reenter: (fn) => fn(),
});

describe('driver', () => {
  test("this node's own request leaves while a write is on its way; it depends on none", async () => {
    const stuck = stuckStorage();
    const durable = new GroupCommit(stuck, { now: () => 0, failed: () => {}, deletesWhenIdle: true });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(asNodeId) as [NodeId, NodeId, NodeId, NodeId];
    const core = new PbftReplica({ id: b, genesis: [a, b, c, d], digest: sha256Hex, rng: createRng(3) });
    const sent: string[] = [];
    const driver = new PbftDriver(
      core,
      durable,
      driverHooks((_to, msg) => sent.push(msg.body.type)),
    );
    driver.start();
    await driver.idle();
    // A vote's record (say) is being written and never lands.
    durable.persist([['pbft/slot/x', 1]], []);
    const before = sent.length;
    driver.input({ type: 'submit', op: { kind: 'decision', value: 'go' } });
    await driver.idle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.slice(before)).toEqual(['request']);
    driver.close();
  });

  test('a disk that stops answering does not grow memory: the driver waits, and inputs beyond its queue are dropped', async () => {
    const stuck = stuckStorage();
    const durable = new GroupCommit(stuck, { now: () => 0, failed: () => {} });
    const self = asNodeId('solo');
    const core = new PbftReplica({ id: self, genesis: [self], digest: sha256Hex, rng: createRng(1) });
    let sent = 0;
    const driver = new PbftDriver(
      core,
      durable,
      driverHooks(() => sent++),
    );
    driver.start();
    let accepted = 0;
    for (let i = 0; i < 3 * maxQueuedInputs + maxDurableBacklog; i++) {
      if (driver.input({ type: 'submit', op: { kind: 'decision', value: i } })) accepted++;
      if (i % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(driver.dropped).toBeGreaterThan(0);
    expect(driver.queued).toBeLessThanOrEqual(maxQueuedInputs);
    expect(durable.backlog).toBeLessThanOrEqual(maxDurableBacklog + 64);
    expect(accepted).toBeLessThan(3 * maxQueuedInputs + maxDurableBacklog);
    // Nothing was sent before its write was durable (the write never finished).
    expect(sent).toBe(0);
    driver.close();
  });
});
