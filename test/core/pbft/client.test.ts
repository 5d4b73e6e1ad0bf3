// The pure client helper: one outstanding request, first to the primary, to every replica
// after a timeout; a result only once f + 1 replicas reply alike; refusals with reasons.
import { describe, expect, test } from 'vitest';
import { asNodeId } from '../../../src/core/types.ts';
import { PbftClient, type ClientEffect } from '../../../src/core/pbft/client.ts';
import { canonicalBytes } from '../../../src/core/pbft/json.ts';
import type { ReplyBody, RequestBody, Signed } from '../../../src/core/pbft/messages.ts';

type SignRequest = Extract<ClientEffect, { type: 'sign' }>;
/** The request a `sign` effect asks to sign: its text is canonical JSON of the body. */
const requestOf = (sign: SignRequest): RequestBody => JSON.parse(sign.text) as RequestBody;

const me = asNodeId('me');
const replicas = ['r0', 'r1', 'r2', 'r3'].map(asNodeId);
const reply = (signer: string, ts: number, seq: number, ok = true): Signed<ReplyBody> => ({
  body: { type: 'reply', to: me, epoch: 0, view: 0, ts, seq, result: { ok } },
  signer: asNodeId(signer),
  sig: 's',
});

function started(now = 1_000) {
  const client = new PbftClient(me, { retransmitMs: 500, timeoutMs: 10_000 });
  client.step(0, { type: 'config', epoch: 0, replicas, primary: asNodeId('r0') });
  const sign = client.step(now, { type: 'submit', op: { kind: 'decision', value: 'x' }, tag: 't' });
  const s = sign[0] as SignRequest;
  const sent = client.step(now, { type: 'signed', id: s.id, sig: 'sig' });
  return { client, ts: requestOf(s).ts, sent };
}

describe('client', () => {
  test('signs, then sends to the primary only', () => {
    const { sent, ts } = started();
    expect(ts).toBe(1_000);
    expect(sent).toEqual([{ type: 'broadcast', to: [asNodeId('r0')], msg: expect.objectContaining({ signer: me, sig: 'sig' }) }]);
  });

  test('the text it asks to sign, as this node, is the canonical bytes of the request it sends', () => {
    const client = new PbftClient(me);
    client.step(0, { type: 'config', epoch: 0, replicas, primary: asNodeId('r0') });
    const sign = client.step(1_000, { type: 'submit', op: { kind: 'decision', value: 'x' } })[0] as SignRequest;
    expect(sign).toMatchObject({ type: 'sign', signer: me });
    const [sent] = client.step(1_000, { type: 'signed', id: sign.id, sig: 'sig' });
    expect(sent?.type === 'broadcast' && canonicalBytes(sent.msg.body)).toBe(sign.text);
  });

  test('f + 1 = 2 matching replies resolve it; one, or two that differ, do not', () => {
    const { client, ts } = started();
    expect(client.step(1_050, { type: 'reply', msg: reply('r1', ts, 7) })).toEqual([]);
    expect(client.step(1_060, { type: 'reply', msg: reply('r1', ts, 7) })).toEqual([]); // same replica twice
    expect(client.step(1_070, { type: 'reply', msg: reply('r2', ts, 8) })).toEqual([]); // disagrees
    const done = client.step(1_080, { type: 'reply', msg: reply('r3', ts, 7) });
    expect(done).toEqual([{ type: 'client-result', tag: 't', ok: true, ts, seq: 7, result: { ok: true }, latencyMs: 80 }]);
  });

  test('replies from strangers or for another request do not count', () => {
    const { client, ts } = started();
    client.step(1_050, { type: 'reply', msg: reply('mallory', ts, 7) });
    client.step(1_050, { type: 'reply', msg: reply('eve', ts, 7) });
    client.step(1_050, { type: 'reply', msg: reply('r1', ts + 1, 7) });
    expect(client.step(1_060, { type: 'reply', msg: reply('r1', ts, 7) })).toEqual([]);
    expect(client.ignoredReplies).toBe(3);
  });

  test('after the timeout the request goes to every replica, with backing off', () => {
    const { client } = started();
    expect(client.nextWakeAt()).toBe(1_500);
    const again = client.step(1_500, { type: 'tick' });
    expect(again).toEqual([{ type: 'broadcast', to: replicas, msg: expect.anything() }]);
    expect(client.nextWakeAt()).toBe(2_500);
  });

  test('one outstanding at a time; the next starts when the first resolves, with a larger number', () => {
    const { client, ts } = started();
    expect(client.step(1_010, { type: 'submit', op: { kind: 'kv-del', key: 'k' }, tag: 'second' })).toEqual([]);
    client.step(1_050, { type: 'reply', msg: reply('r1', ts, 1) });
    const effects = client.step(1_050, { type: 'reply', msg: reply('r2', ts, 1) });
    expect(effects.map((e) => e.type)).toEqual(['client-result', 'sign']);
    const sign = effects[1] as SignRequest;
    expect(requestOf(sign).ts).toBeGreaterThan(ts);
    expect(requestOf(sign).op).toEqual({ kind: 'kv-del', key: 'k' });
  });

  test('an invalid operation is refused at once with the reason; a timed-out one fails with an explanation', () => {
    const client = new PbftClient(me, { timeoutMs: 2_000 });
    client.step(0, { type: 'config', epoch: 0, replicas, primary: null });
    const bad = client.step(0, { type: 'submit', op: { kind: 'kv-set', key: '' }, tag: 'bad' });
    expect(bad).toEqual([{ type: 'client-result', tag: 'bad', ok: false, reason: expect.stringMatching(/^refused: /) }]);
    const sign = client.step(0, { type: 'submit', op: { kind: 'decision', value: 1 }, tag: 'slow' })[0] as SignRequest;
    client.step(0, { type: 'signed', id: sign.id, sig: 's' });
    const out = client.step(2_000, { type: 'tick' });
    expect(out).toEqual([expect.objectContaining({ type: 'client-result', tag: 'slow', ok: false, reason: expect.stringMatching(/no 2 matching replies/) })]);
  });

  test('operations submitted while one is outstanding go out packed in the next request, each with its own result', () => {
    const { client, ts } = started();
    for (const i of [1, 2, 3]) expect(client.step(1_010, { type: 'submit', op: { kind: 'decision', value: i }, tag: `q${i}` })).toEqual([]);
    expect(client.pending()).toBe(4);
    client.step(1_050, { type: 'reply', msg: reply('r1', ts, 1) });
    const effects = client.step(1_050, { type: 'reply', msg: reply('r2', ts, 1) });
    const sign = effects[1] as SignRequest;
    expect(requestOf(sign).op).toEqual({ kind: 'decision', value: 1 });
    expect(requestOf(sign).more).toEqual([
      { kind: 'decision', value: 2 },
      { kind: 'decision', value: 3 },
    ]);
    client.step(1_060, { type: 'signed', id: sign.id, sig: 's2' });
    const packed = (signer: string) => {
      const r = reply(signer, requestOf(sign).ts, 2);
      return {
        ...r,
        body: {
          ...r.body,
          more: [
            { ok: true, existed: false },
            { ok: false, note: 'full' },
          ],
        },
      };
    };
    client.step(1_070, { type: 'reply', msg: packed('r1') });
    const done = client.step(1_080, { type: 'reply', msg: packed('r3') });
    expect(done).toEqual([
      { type: 'client-result', tag: 'q1', ok: true, ts: requestOf(sign).ts, seq: 2, result: { ok: true }, latencyMs: 70 },
      { type: 'client-result', tag: 'q2', ok: true, ts: requestOf(sign).ts, seq: 2, result: { ok: true, existed: false }, latencyMs: 70 },
      { type: 'client-result', tag: 'q3', ok: true, ts: requestOf(sign).ts, seq: 2, result: { ok: false, note: 'full' }, latencyMs: 70 },
    ]);
    expect(client.pending()).toBe(0);
  });

  test("its own replica's reply settles a request alone while this node is a replica; otherwise f + 1 are needed", () => {
    const self = asNodeId('r1');
    const own = (ts: number, seq: number): Signed<ReplyBody> => ({
      body: { type: 'reply', to: self, epoch: 0, view: 0, ts, seq, result: { ok: true } },
      signer: self,
      sig: '',
    });
    const make = (members: typeof replicas) => {
      const client = new PbftClient(self, { retransmitMs: 500, timeoutMs: 10_000 });
      client.step(0, { type: 'config', epoch: 0, replicas: members, primary: asNodeId('r0') });
      const sign = client.step(1_000, { type: 'submit', op: { kind: 'decision', value: 'x' }, tag: 't' })[0] as SignRequest;
      client.step(1_000, { type: 'signed', id: sign.id, sig: 'sig' });
      return { client, ts: requestOf(sign).ts };
    };
    const replica = make(replicas);
    expect(replica.client.step(1_020, { type: 'reply', msg: own(replica.ts, 3), own: true })).toEqual([
      expect.objectContaining({ type: 'client-result', tag: 't', ok: true, seq: 3 }),
    ]);
    // The same reply not marked as its own replica's (say, off the wire) is one vote of f + 1.
    const wire = make(replicas);
    expect(wire.client.step(1_020, { type: 'reply', msg: own(wire.ts, 3) })).toEqual([]);
    // An observer (not in the replica set) waits for f + 1 replicas, whatever it executed itself.
    const observer = make(replicas.filter((r) => r !== self));
    expect(observer.client.step(1_020, { type: 'reply', msg: own(observer.ts, 3), own: true })).toEqual([]);
  });
});
