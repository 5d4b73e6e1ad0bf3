// The pure client helper: one outstanding request, first to the primary, to every replica
// after a timeout; a result only once f + 1 replicas reply alike; refusals with reasons.
import { describe, expect, test } from 'vitest';
import { asNodeId } from '../../../src/core/types.ts';
import { PbftClient, type ClientEffect } from '../../../src/core/pbft/client.ts';
import type { ReplyBody, Signed } from '../../../src/core/pbft/messages.ts';

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
  const s = sign[0] as Extract<ClientEffect, { kind: 'sign' }>;
  const sent = client.step(now, { type: 'signed', id: s.id, sig: 'sig' });
  return { client, ts: s.body.ts, sent };
}

describe('client', () => {
  test('signs, then sends to the primary only', () => {
    const { sent, ts } = started();
    expect(ts).toBe(1_000);
    expect(sent).toEqual([{ kind: 'send', to: [asNodeId('r0')], msg: expect.objectContaining({ signer: me, sig: 'sig' }) }]);
  });

  test('f + 1 = 2 matching replies resolve it; one, or two that differ, do not', () => {
    const { client, ts } = started();
    expect(client.step(1_050, { type: 'reply', msg: reply('r1', ts, 7) })).toEqual([]);
    expect(client.step(1_060, { type: 'reply', msg: reply('r1', ts, 7) })).toEqual([]); // same replica twice
    expect(client.step(1_070, { type: 'reply', msg: reply('r2', ts, 8) })).toEqual([]); // disagrees
    const done = client.step(1_080, { type: 'reply', msg: reply('r3', ts, 7) });
    expect(done).toEqual([{ kind: 'result', tag: 't', ok: true, ts, seq: 7, result: { ok: true }, latencyMs: 80 }]);
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
    expect(again).toEqual([{ kind: 'send', to: replicas, msg: expect.anything() }]);
    expect(client.nextWakeAt()).toBe(2_500);
  });

  test('one outstanding at a time; the next starts when the first resolves, with a larger number', () => {
    const { client, ts } = started();
    expect(client.step(1_010, { type: 'submit', op: { kind: 'kv-del', key: 'k' }, tag: 'second' })).toEqual([]);
    client.step(1_050, { type: 'reply', msg: reply('r1', ts, 1) });
    const effects = client.step(1_050, { type: 'reply', msg: reply('r2', ts, 1) });
    expect(effects.map((e) => e.kind)).toEqual(['result', 'sign']);
    const sign = effects[1] as Extract<ClientEffect, { kind: 'sign' }>;
    expect(sign.body.ts).toBeGreaterThan(ts);
    expect(sign.body.op).toEqual({ kind: 'kv-del', key: 'k' });
  });

  test('an invalid operation is refused at once with the reason; a timed-out one fails with an explanation', () => {
    const client = new PbftClient(me, { timeoutMs: 2_000 });
    client.step(0, { type: 'config', epoch: 0, replicas, primary: null });
    const bad = client.step(0, { type: 'submit', op: { kind: 'kv-set', key: '' }, tag: 'bad' });
    expect(bad).toEqual([{ kind: 'result', tag: 'bad', ok: false, reason: expect.stringMatching(/^refused: /) }]);
    const sign = client.step(0, { type: 'submit', op: { kind: 'decision', value: 1 }, tag: 'slow' })[0] as Extract<ClientEffect, { kind: 'sign' }>;
    client.step(0, { type: 'signed', id: sign.id, sig: 's' });
    const out = client.step(2_000, { type: 'tick' });
    expect(out).toEqual([expect.objectContaining({ kind: 'result', tag: 'slow', ok: false, reason: expect.stringMatching(/no 2 matching replies/) })]);
  });
});
