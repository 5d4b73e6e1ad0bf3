// The one effect driver (src/worker/effect-driver.ts): writes are asked for first, signatures
// are made and answered depth first, sends and events leave only once every earlier write is
// durable, a signer or core that fails is counted and never becomes an unhandled rejection,
// and seeded interleavings of slow disks and slow signers keep those rules.
import { describe, expect, test } from 'vitest';
import type { CoreEffect, SignEffect, SignedInput } from '../../src/core/effects.ts';
import { createRng, type Rng } from '../../src/core/rng.ts';
import type { NodeId } from '../../src/core/types.ts';
import { MemoryStorage } from '../../src/store/memory.ts';
import { EffectDriver, type DriverPorts } from '../../src/worker/effect-driver.ts';
import { GroupCommit } from '../../src/worker/group-commit.ts';

type Ev = { type: 'note'; text: string };
type Fx = CoreEffect<string, Ev>;

/** Storage whose writes land only when the test (or a seeded scheduler) releases them. */
class HeldStorage extends MemoryStorage {
  readonly held: Array<() => void> = [];
  transactions = 0;
  fail = false;
  override async setMany(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    this.transactions++;
    await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.fail) throw new Error('disk full');
    return super.setMany(entries);
  }
  release(index = 0): void {
    this.held.splice(index, 1)[0]?.();
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

const peer = 'n-peer' as NodeId;

function driverWith(storage: MemoryStorage, over: Partial<DriverPorts<string, Ev>> = {}, signed: (input: SignedInput) => Fx[] = () => []) {
  const log: string[] = [];
  const failures: string[] = [];
  const ports: DriverPorts<string, Ev> = {
    send: (to, msg) => void log.push(`send ${msg}`),
    event: (e) => void log.push(`event ${e.text}`),
    sign: (e: SignEffect) => {
      log.push(`sign ${e.text}`);
      return Promise.resolve(`sig(${e.text})`);
    },
    signed: (input) => {
      log.push(`signed ${input.id} ${input.sig}`);
      return signed(input);
    },
    reenter: (fn) => fn(),
    failed: (what, error) => void failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`),
    ...over,
  };
  const commit = new GroupCommit(storage, { now: () => 0, failed: (e) => void failures.push(`storage: ${String(e)}`) });
  return { driver: new EffectDriver(commit, ports), log, failures, commit };
}

describe('effect driver', () => {
  test('persist, then sign, then send: nothing leaves before the write is durable, and the signed step goes first', async () => {
    const storage = new HeldStorage();
    const { driver, log } = driverWith(storage, {}, (input) => [{ type: 'send', to: peer, msg: `vote#${input.id}` }]);
    const done = driver.apply([
      { type: 'persist', writes: [['k', 1]], deletes: [] },
      { type: 'send', to: peer, msg: 'before-sign' },
      { type: 'sign', id: 7, text: 'vote' },
      { type: 'send', to: peer, msg: 'after-sign' },
      { type: 'note', text: 'done' },
    ]);
    expect(done).toBeInstanceOf(Promise);
    await done;
    // Signed at once, but nothing sent: the write is still on its way.
    expect(log).toEqual(['sign vote', 'signed 7 sig(vote)']);
    expect(await storage.get('k')).toBeUndefined();
    storage.release();
    await driver.settled();
    expect(await storage.get('k')).toBe(1);
    expect(log.slice(2)).toEqual(['send before-sign', 'send vote#7', 'send after-sign', 'event done']);
  });

  test('an unordered send leaves at once; a send with nothing to wait for leaves in the caller’s turn', () => {
    const storage = new HeldStorage();
    const { driver, log } = driverWith(storage);
    driver.apply([{ type: 'send', to: peer, msg: 'first' }]);
    expect(log).toEqual(['send first']);
    driver.apply([
      { type: 'persist', writes: [['k', 1]], deletes: [] },
      { type: 'send', to: peer, msg: 'relayed', unordered: true },
      { type: 'send', to: peer, msg: 'own' },
    ]);
    expect(log).toEqual(['send first', 'send relayed']);
  });

  test('group commit: writes asked for while one batch is on its way share one transaction, in order', async () => {
    const storage = new HeldStorage();
    const { driver, log } = driverWith(storage);
    for (let i = 0; i < 100; i++)
      driver.apply([
        { type: 'persist', writes: [[`k${i % 10}`, i]], deletes: [] },
        { type: 'send', to: peer, msg: `m${i}` },
      ]);
    await flush();
    expect(storage.transactions).toBe(1);
    storage.release();
    await flush();
    expect(storage.transactions).toBe(2);
    storage.release();
    await driver.settled();
    expect(log).toEqual(Array.from({ length: 100 }, (_, i) => `send m${i}`));
    expect(await storage.get('k9')).toBe(99);
    expect(driver.commit.stats()).toMatchObject({ batches: 2, requests: 100 });
  });

  test('a failed write sends nothing that came after it and is counted', async () => {
    const storage = new HeldStorage();
    storage.fail = true;
    const { driver, log, failures } = driverWith(storage);
    driver.apply([
      { type: 'persist', writes: [['k', 1]], deletes: [] },
      { type: 'send', to: peer, msg: 'vote' },
    ]);
    await flush();
    storage.release();
    await driver.settled();
    expect(log).toEqual([]);
    expect(failures).toEqual(['storage: Error: disk full']);
    expect(driver.commit.storageFailures).toBe(1);
  });

  test('a signer that rejects or throws, and a core that throws on its signature, are counted; the rest of the batch is dropped', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const storage = new MemoryStorage();
      const rejecting = driverWith(storage, { sign: () => Promise.reject(new Error('no key')) });
      await rejecting.driver.apply([
        { type: 'sign', id: 1, text: 't' },
        { type: 'send', to: peer, msg: 'needs-sig' },
      ]);
      const throwing = driverWith(storage, {
        sign: () => {
          throw new Error('crypto gone');
        },
      });
      throwing.driver.apply([
        { type: 'sign', id: 2, text: 't' },
        { type: 'send', to: peer, msg: 'needs-sig' },
      ]);
      const badCore = driverWith(storage, {}, () => {
        throw new Error('broken invariant');
      });
      await badCore.driver.apply([
        { type: 'sign', id: 3, text: 't' },
        { type: 'send', to: peer, msg: 'needs-sig' },
      ]);
      // A reentry that throws (the runtime's dispatch counts it) still lets the driver go on.
      let reentries = 0;
      const loudRuntime = driverWith(storage, {
        reenter: (fn) => {
          reentries++;
          fn();
        },
      });
      await loudRuntime.driver.apply([
        { type: 'sign', id: 4, text: 't' },
        { type: 'send', to: peer, msg: 'ok' },
      ]);
      await flush();
      expect(rejecting.failures).toEqual(['sign: no key']);
      expect(throwing.failures).toEqual(['sign: crypto gone']);
      expect(badCore.failures).toEqual(['signed: broken invariant']);
      for (const d of [rejecting, throwing, badCore]) expect(d.log.filter((l) => l.startsWith('send'))).toEqual([]);
      expect(reentries).toBe(1);
      expect(loudRuntime.log).toContain('send ok');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a sign with no signer is refused and counted, not thrown', () => {
    const { driver, failures, log } = driverWith(new MemoryStorage(), { sign: undefined });
    driver.apply([
      { type: 'sign', id: 1, text: 't' },
      { type: 'send', to: peer, msg: 'x' },
    ]);
    expect(failures).toEqual(['sign: this core asked for a signature, but its driver has no signer']);
    expect(log).toEqual([]);
  });

  test('after close nothing more is sent', async () => {
    const storage = new HeldStorage();
    const { driver, log } = driverWith(storage);
    driver.apply([
      { type: 'persist', writes: [['k', 1]], deletes: [] },
      { type: 'send', to: peer, msg: 'late' },
    ]);
    driver.close();
    await flush();
    storage.release();
    await driver.settled();
    expect(log).toEqual([]);
    expect(await storage.get('k')).toBe(1);
  });
});

/**
 * One seeded run: steps of random writes, sends, broadcasts, events and signs (whose signed
 * steps have effects of their own); the disk and the signer answer in a seeded order. Every
 * send must find durable each write asked for before it: those ahead of it in its batch (and,
 * for a signed step, ahead of the sign in the batch that asked), and those of every batch
 * applied in full before its own began. The sends of one batch leave in list order.
 */
async function interleaving(seed: number): Promise<{ sent: number; violations: string[] }> {
  const rng: Rng = createRng(seed);
  const storage = new HeldStorage();
  const signatures: Array<() => void> = [];
  const violations: string[] = [];
  const durable = new Set<number>();
  /** Writes of batches applied in full (all handed to the group commit). */
  const applied = new Set<number>();
  /** Message → the writes it needs durable. */
  const needs = new Map<string, number[]>();
  /** Sign id → the writes the signed step's effects need. */
  const signContext = new Map<number, number[]>();
  const signDepth = new Map<number, number>();
  let writes = 0;
  let signs = 0;
  let messages = 0;
  let sent = 0;
  const lastInBatch = new Map<number, number>();
  const check = (msg: string) => {
    const [batch, index] = msg.split(':').map(Number) as [number, number];
    for (const w of needs.get(msg) ?? []) if (!durable.has(w)) violations.push(`${msg} left before w${w} was durable`);
    if ((lastInBatch.get(batch) ?? -1) > index) violations.push(`${msg} overtook a later effect of its batch`);
    lastInBatch.set(batch, index);
    sent++;
  };
  storage.setMany = async (entries) => {
    storage.transactions++;
    await new Promise<void>((resolve) => storage.held.push(resolve));
    for (const [key] of entries) durable.add(Number(key.slice(1)));
  };
  let batchNo = 0;
  const makeBatch = (depth: number, prior: readonly number[]): { effects: Fx[]; writes: number[] } => {
    const batch = batchNo++;
    const effects: Fx[] = [];
    const own: number[] = [];
    const n = 1 + rng.int(6);
    for (let i = 0; i < n; i++) {
      const roll = rng.int(10);
      const msg = `${batch}:${i}:${++messages}`;
      needs.set(msg, [...prior, ...own]);
      if (roll < 3) {
        own.push(++writes);
        effects.push({ type: 'persist', writes: [[`w${writes}`, seed]], deletes: [] });
      } else if (roll < 6) effects.push({ type: 'send', to: peer, msg });
      else if (roll < 7) effects.push({ type: 'broadcast', to: [peer, peer], msg });
      else if (roll < 8) effects.push({ type: 'note', text: msg });
      else if (depth < 2) {
        signContext.set(++signs, [...prior, ...own]);
        signDepth.set(signs, depth + 1);
        effects.push({ type: 'sign', id: signs, text: String(depth) });
      }
    }
    return { effects, writes: own };
  };
  const commit = new GroupCommit(storage, { now: () => 0, failed: () => violations.push('storage failed') });
  const driver = new EffectDriver<string, Ev>(commit, {
    // A broadcast is one message to several: its order in the batch is checked once.
    broadcast: (_to, msg) => check(msg),
    send: (_to, msg) => check(msg),
    event: (e) => check(e.text),
    sign: (e) => (rng.int(3) === 0 ? `now(${e.id})` : new Promise<string>((resolve) => signatures.push(() => resolve(`later(${e.id})`)))),
    signed: (input) => makeBatch(signDepth.get(input.id) ?? 2, signContext.get(input.id) ?? []).effects,
    reenter: (fn) => fn(),
    failed: (what, error) => violations.push(`${what}: ${String(error)}`),
  });
  const pending: Array<Promise<void>> = [];
  for (let step = 0; step < 60; step++) {
    const { effects, writes: own } = makeBatch(0, [...applied]);
    const done = driver.apply(effects);
    if (done) pending.push(done.then(() => own.forEach((w) => applied.add(w))));
    else own.forEach((w) => applied.add(w));
    // Let the disk and the signer answer, in a seeded order.
    for (let k = rng.int(4); k > 0; k--) {
      const pickDisk = storage.held.length > 0 && (signatures.length === 0 || rng.int(2) === 0);
      if (pickDisk) storage.release(rng.int(storage.held.length));
      else if (signatures.length > 0) signatures.splice(rng.int(signatures.length), 1)[0]?.();
      await flush();
    }
  }
  for (let guard = 0; guard < 10_000 && (storage.held.length > 0 || signatures.length > 0); guard++) {
    if (storage.held.length > 0) storage.release();
    if (signatures.length > 0) signatures.splice(0, 1)[0]?.();
    await flush();
  }
  await Promise.all(pending);
  await driver.settled();
  return { sent, violations };
}

describe('effect driver: seeded interleavings', () => {
  test('no send leaves before a write asked for ahead of it is durable, and a batch keeps its order, whatever the disk and signer do', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const run = await interleaving(seed);
      expect(run.violations, `SEED=${seed}`).toEqual([]);
      expect(run.sent, `SEED=${seed}`).toBeGreaterThan(20);
    }
  });
});
