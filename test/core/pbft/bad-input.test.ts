// Bad input at the boundary. Anything undecodable is refused with a reason; anything that
// decodes — even validly signed by a replica gone rogue — may be refused but can never crash a
// replica, make it commit what was not agreed, or grow its memory past the caps.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createRng, type Rng } from '../../../src/core/rng.ts';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { maxFutureMessages, maxHeldProofs, maxPendingRequests, maxPendingSignatures } from '../../../src/core/pbft/constants.ts';
import { canonicalBytes, decodeMessage, type PbftMessage } from '../../../src/core/pbft/messages.ts';
import { PbftReplica } from '../../../src/core/pbft/replica.ts';
import { simTest } from '../../sim/seed.ts';
import { fakeDigest, fakeSign } from './fake-crypto.ts';
import { ManualNet } from './manual-net.ts';
import { scenario } from './scenario.ts';

/** Changes one random spot of a JSON value: a number, a string, a type, a key, an array length. */
function mutate(value: unknown, rng: Rng): unknown {
  const copy = structuredClone(value) as unknown;
  const spots: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (node: unknown, depth: number) => {
    if (depth > 6 || node === null || typeof node !== 'object') return;
    for (const [k, child] of Object.entries(node as Record<string, unknown>)) {
      spots.push({ parent: node as Record<string, unknown>, key: Array.isArray(node) ? Number(k) : k });
      walk(child, depth + 1);
    }
  };
  walk(copy, 0);
  const spot = rng.pick(spots);
  if (!spot) return copy;
  const replacements: unknown[] = [
    -1,
    0,
    1,
    2,
    7,
    8,
    9,
    16,
    17,
    1e15,
    2 ** 53,
    0.5,
    NaN,
    'x',
    '',
    'n1',
    'n3',
    'r2',
    null,
    true,
    [],
    {},
    'A'.repeat(300),
    { kind: 'join', node: 'n3' },
  ];
  const target = spot.parent as Record<string | number, unknown>;
  const roll = rng.int(10);
  if (roll === 0 && !Array.isArray(spot.parent)) delete target[spot.key];
  else if (roll === 1 && Array.isArray(target[spot.key])) (target[spot.key] as unknown[]).push(...(target[spot.key] as unknown[]));
  else target[spot.key] = rng.pick(replacements);
  return copy;
}

describe('undecodable input', () => {
  test('any JSON value: decode answers with a reason and never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const d = decodeMessage(raw);
        if (!d.ok) expect(d.error).not.toBe('');
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('validly signed garbage', () => {
  simTest(
    'a replica fed thousands of mutated, re-signed messages never throws and stays within its caps',
    (seed) => {
      // Real traffic to mutate: a normal run with checkpoints, a view change and a restart.
      const net = ManualNet.named(4);
      const corpus: PbftMessage[] = [];
      const keep = (cut?: NodeId) => (e: { from: NodeId; to: NodeId; msg: PbftMessage }) => {
        corpus.push(e.msg);
        return cut === undefined || (e.to !== cut && e.from !== cut);
      };
      for (let i = 0; i < 20; i++) {
        net.submit(asNodeId(`r${i % 4}`), { kind: 'kv-set', key: `k${i}`, value: i });
        net.deliverAll(keep());
      }
      net.submit(asNodeId('r1'), { kind: 'decision', value: 'during view change' });
      net.deliverAll(keep(asNodeId('r0')));
      for (let i = 0; i < 4; i++) {
        net.advance(1_500);
        net.deliverAll(keep(asNodeId('r0')));
      }
      expect(corpus.length).toBeGreaterThan(200);
      const kinds = new Set(corpus.map((m) => m.body.type));
      for (const k of ['pre-prepare', 'prepare', 'commit', 'checkpoint', 'view-change', 'new-view', 'reply', 'status']) expect(kinds).toContain(k);

      const victim = new PbftReplica({ id: asNodeId('r1'), genesis: ['r0', 'r1', 'r2', 'r3'].map(asNodeId), digest: fakeDigest, rng: createRng(1) });
      const sign = (body: unknown, signer: NodeId) => fakeSign(signer, canonicalBytes(body));
      const answer = (effects: ReturnType<PbftReplica['step']>, now: number) => {
        for (const e of effects) if (e.type === 'sign') answer(victim.step(now, { type: 'signed', id: e.id, sig: fakeSign(asNodeId('r1'), e.text) }), now);
      };
      answer(victim.start(0), 0);
      const rng = createRng(seed);
      let decoded = 0;
      for (let i = 0; i < Number(process.env.FUZZ_ROUNDS ?? 6_000); i++) {
        const base = rng.pick(corpus) as PbftMessage;
        // A quarter are replays of real messages (duplicates, stale views, old checkpoints).
        let raw: unknown = rng.int(4) === 0 ? base : mutate(base, rng);
        if (rng.int(3) === 0) raw = mutate(raw, rng);
        const d = decodeMessage(raw);
        if (!d.ok) continue;
        decoded++;
        // Signed by whoever it claims: every replica is hostile here, the caps must still hold.
        const msg = { ...d.value, sig: sign(d.value.body, d.value.signer) };
        const now = i * 7;
        answer(victim.step(now, { type: 'message', msg }), now);
        if (i % 500 === 0) answer(victim.step(now, { type: 'tick' }), now);
      }
      expect(decoded).toBeGreaterThan(1_000);
      const f = victim.footprint();
      expect(f.slots).toBeLessThanOrEqual(16);
      expect(f.future).toBeLessThanOrEqual(maxFutureMessages);
      expect(f.pending).toBeLessThanOrEqual(maxPendingRequests);
      expect(f.heldProofs).toBeLessThanOrEqual(maxHeldProofs);
      expect(f.pendingSignatures).toBeLessThanOrEqual(maxPendingSignatures);
      const n = victim.view().n;
      expect(f.checkpointVotes).toBeLessThanOrEqual(4 * n);
      expect(f.viewChanges).toBeLessThanOrEqual(n);
      const refused = Object.values(victim.view().rejected).reduce((a, b) => a + b, 0);
      expect(refused).toBeGreaterThan(decoded / 4);
    },
    { seeds: 1, longSeeds: 10 },
  );
});

/** Real traffic an honest replica persisted: its votes, pre-prepares, view changes and checkpoint proofs. */
function persistedTraffic(entries: Array<[string, unknown]>): PbftMessage[] {
  const out: PbftMessage[] = [];
  for (const [key, value] of entries) {
    const rec = value as Record<string, unknown>;
    if (key.startsWith('pbft/slot/')) {
      if (rec.pp) out.push({ ...(rec.pp as PbftMessage), batch: rec.batch as PbftMessage['batch'] });
      if (rec.ownPrepare) out.push(rec.ownPrepare as PbftMessage);
      if (rec.ownCommit) out.push(rec.ownCommit as PbftMessage);
    } else if (key === 'pbft/stable') out.push(...((rec.proof as PbftMessage[]) ?? []));
    else if (key === 'pbft/vc' || key === 'pbft/nv') out.push(rec as unknown as PbftMessage);
  }
  return out;
}

simTest(
  'a rogue replica sends mutated copies of real traffic, validly signed with its own key: the others stay safe and live',
  (seed) => {
    const s = scenario({ seed, nodes: 4, byzantine: { n3: 'silent' } });
    const rogue = asNodeId('n3');
    const honest = [asNodeId('n0'), asNodeId('n1'), asNodeId('n2')];
    const rng = createRng(seed * 7919);
    s.watchSafety(100);
    const tags = s.submitMany(honest, 20, 'fuzz');
    let delivered = 0;
    for (let round = 0; round < 300; round++) {
      s.cluster.runFor(50);
      const corpus = honest.flatMap((id) => persistedTraffic(s.cluster.storage(id).entries('pbft/')));
      for (let k = 0; k < 8 && corpus.length > 0; k++) {
        const d = decodeMessage(mutate(rng.pick(corpus), rng));
        if (!d.ok) continue;
        const msg = { ...d.value, signer: rogue, sig: fakeSign(rogue, canonicalBytes(d.value.body)) };
        const to = rng.pick(honest) as NodeId;
        s.cluster.act(to, (node, now) => node.deliver(now, rogue, JSON.parse(JSON.stringify(msg))));
        delivered++;
      }
    }
    expect(delivered).toBeGreaterThan(200);
    s.waitResults(tags, 30_000);
    s.waitConverged(honest, 10_000);
    s.checkSafety();
    for (const id of honest) expect(Object.values(s.cluster.node(id).core.view().rejected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  },
  { seeds: 2, longSeeds: 20 },
);
