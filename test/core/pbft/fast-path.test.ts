// What the latency work changed in the core (docs/security.md, "Which consensus messages are
// signed"; docs/benchmarks.md, "Consensus latency, where the time goes"):
//  - replies travel unsigned, authenticated by the link: the core takes one only from its
//    author, so a reply relayed (or forged) by a third party is refused and counted;
//  - a committed request's result leaves after this replica's own commit vote is written, but
//    before the commit certificate's record is (which no result depends on).
import { describe, expect, test } from 'vitest';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { signaturesToVerify, type PbftMessage, type ReplyBody } from '../../../src/core/pbft/messages.ts';
import { PbftReplica } from '../../../src/core/pbft/replica.ts';
import type { PbftEffect } from '../../../src/core/pbft/types.ts';
import { slotKey } from '../../../src/core/pbft/persistence.ts';
import { createRng } from '../../../src/core/rng.ts';
import { fakeDigest, fakeSign } from './fake-crypto.ts';

const replicas = ['r0', 'r1', 'r2', 'r3'].map(asNodeId);
const client = asNodeId('client');

/** Steps `input`, answering every sign effect at once (as a runtime does), effects flattened in the order a runtime meets them. */
function run(core: PbftReplica, now: number, input: Parameters<PbftReplica['step']>[1]): PbftEffect[] {
  const out: PbftEffect[] = [];
  const apply = (effects: PbftEffect[]) => {
    for (const e of effects) {
      out.push(e);
      if (e.type === 'sign') apply(core.step(now, { type: 'signed', id: e.id, sig: fakeSign(core.id, e.text) }));
    }
  };
  apply(core.step(now, input));
  return out;
}

function observerClient(): { core: PbftReplica; ts: number } {
  const core = new PbftReplica({ id: client, genesis: replicas, digest: fakeDigest, rng: createRng(1) });
  core.start(0);
  const effects = run(core, 10, { type: 'submit', op: { kind: 'decision', value: 'x' }, tag: 't' });
  const request = effects.find((e) => (e.type === 'send' || e.type === 'broadcast') && e.msg.body.type === 'request');
  if (!request || (request.type !== 'send' && request.type !== 'broadcast')) throw new Error('the client sent no request');
  return { core, ts: (request.msg.body as { ts: number }).ts };
}

const reply = (signer: NodeId, ts: number, seq = 1): PbftMessage<ReplyBody> => ({
  body: { type: 'reply', to: client, epoch: 0, view: 0, ts, seq, result: { ok: true } },
  signer,
  sig: '',
});

const results = (effects: PbftEffect[]) => effects.filter((e) => e.type === 'client-result');

describe('replies are authenticated by the link they arrive on', () => {
  test('no signature to check on a reply; every other message still lists its own', () => {
    expect(signaturesToVerify(reply(asNodeId('r1'), 5))).toEqual([]);
    const prepare: PbftMessage = { body: { type: 'prepare', epoch: 0, view: 0, seq: 1, digest: 'd' }, signer: asNodeId('r1'), sig: '' };
    expect(signaturesToVerify(prepare)).toHaveLength(1);
  });

  test('replies relayed by a third party are refused and counted; f + 1 from their authors settle the request', () => {
    const { core, ts } = observerClient();
    // r0 hands over replies in r1's and r2's names: a relay (or a forger) is not their author.
    expect(results(run(core, 20, { type: 'message', msg: reply(asNodeId('r1'), ts), from: asNodeId('r0') }))).toEqual([]);
    expect(results(run(core, 21, { type: 'message', msg: reply(asNodeId('r2'), ts), from: asNodeId('r0') }))).toEqual([]);
    // Without the authenticated sender at all, the core cannot tell: refused too.
    expect(results(run(core, 22, { type: 'message', msg: reply(asNodeId('r3'), ts) }))).toEqual([]);
    expect(core.view().rejected['relayed-unsigned']).toBe(3);
    // One from its author is not yet f + 1 = 2 …
    expect(results(run(core, 23, { type: 'message', msg: reply(asNodeId('r1'), ts), from: asNodeId('r1') }))).toEqual([]);
    // … two are.
    const done = results(run(core, 24, { type: 'message', msg: reply(asNodeId('r2'), ts), from: asNodeId('r2') }));
    expect(done).toEqual([expect.objectContaining({ type: 'client-result', tag: 't', ok: true, seq: 1 })]);
  });
});

describe('a result does not wait for the commit certificate to be written', () => {
  test('solo replica: own votes are persisted before the result, the committed record after it', () => {
    const self = asNodeId('solo');
    const core = new PbftReplica({ id: self, genesis: [self], digest: fakeDigest, rng: createRng(2) });
    core.start(0);
    const effects = run(core, 5, { type: 'submit', op: { kind: 'decision', value: 'y' }, tag: 'mine' });
    const at = effects.findIndex((e) => e.type === 'client-result');
    expect(at).toBeGreaterThan(0);
    const slotWrites = effects
      .map((e, i) => ({ e, i }))
      .filter(({ e }) => e.type === 'persist' && e.writes.some(([key]) => key === slotKey(1)))
      .map(({ e, i }) => ({
        i,
        record: (e as Extract<PbftEffect, { type: 'persist' }>).writes.find(([key]) => key === slotKey(1))?.[1] as Record<string, unknown>,
      }));
    // The vote that made the quorum (this replica's own commit) was asked to be written before the result …
    expect(slotWrites.some(({ i, record }) => i < at && record['ownCommit'] !== undefined)).toBe(true);
    // … and the certificate only after it.
    expect(slotWrites.filter(({ record }) => record['committed'] !== undefined).every(({ i }) => i > at)).toBe(true);
    expect(slotWrites.some(({ record }) => record['committed'] !== undefined)).toBe(true);
  });
});
