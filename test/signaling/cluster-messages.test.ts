// What one cluster member accepts from another over Redis: the bus messages' schemas, and the
// list of signaling URLs a node fails over between.
import { describe, expect, it } from 'vitest';
import { decodeBusMessage, maxBusMessageBytes } from '../../signaling/cluster/messages.ts';
import { signalingUrlList, signalingUrlsFromQuery, maxSignalingUrls } from '../../src/net/signaling-urls.ts';
import { redactUrl } from '../../signaling/cluster/redis-cluster.ts';
import { newIdentity } from './helpers.ts';

const a = newIdentity().id;
const b = newIdentity().id;
const verifier = 'x'.repeat(43);

describe('bus messages between cluster members', () => {
  it('takes well-formed changes, reaps and signals', () => {
    expect(
      decodeBusMessage(
        JSON.stringify({
          t: 'changes',
          from: 'member-123',
          changes: [
            { key: 'lobby', id: a, kind: 'joined' },
            { key: `vault\n${verifier}`, id: b, kind: 'left' },
          ],
        }),
      ).ok,
    ).toBe(true);
    expect(decodeBusMessage(JSON.stringify({ t: 'reaped', member: 'member-123', nodes: [['lobby', a]] })).ok).toBe(true);
    expect(decodeBusMessage(JSON.stringify({ t: 'signal', key: 'lobby', from: a, to: b, data: { sdp: 'x' } })).ok).toBe(true);
  });

  it('refuses what another member must never send, saying what is wrong', () => {
    expect(decodeBusMessage('not json')).toEqual({ ok: false, error: 'not valid JSON' });
    expect(decodeBusMessage(JSON.stringify({ t: 'changes', from: 'member-123', changes: [{ key: 'lobby', id: 'short', kind: 'joined' }] }))).toMatchObject({
      ok: false,
      error: expect.stringContaining('node id'),
    });
    expect(decodeBusMessage(JSON.stringify({ t: 'changes', from: 'member-123', changes: [] })).ok).toBe(false);
    expect(decodeBusMessage(JSON.stringify({ t: 'changes', from: 'm', changes: [{ key: 'lobby', id: a, kind: 'joined' }] }))).toMatchObject({
      ok: false,
      error: expect.stringContaining('member id'),
    });
    expect(decodeBusMessage(JSON.stringify({ t: 'changes', from: 'member-123', changes: [{ key: 'lob by', id: a, kind: 'joined' }] }))).toMatchObject({
      ok: false,
      error: expect.stringContaining('room key'),
    });
    expect(decodeBusMessage(JSON.stringify({ t: 'signal', key: 'lobby', from: a, to: b, data: [1] })).ok).toBe(false);
    expect(decodeBusMessage(JSON.stringify({ t: 'signal', key: 'lobby', from: a, to: b, data: {}, extra: 1 })).ok).toBe(false);
    expect(decodeBusMessage(JSON.stringify({ t: 'takeover', all: true })).ok).toBe(false);
    expect(decodeBusMessage(`"${'x'.repeat(maxBusMessageBytes)}"`)).toMatchObject({ ok: false, error: expect.stringContaining('over') });
  });
});

describe('signaling URL lists', () => {
  it('takes one URL, a list, or comma-separated text, without blanks or repeats', () => {
    expect(signalingUrlList('ws://a/signal')).toEqual(['ws://a/signal']);
    expect(signalingUrlList(['ws://a/signal', ' ws://b/signal ,ws://a/signal', ''])).toEqual(['ws://a/signal', 'ws://b/signal']);
    expect(signalingUrlsFromQuery(new URLSearchParams('room=x&signal=ws://a/signal,ws://b/signal&signal=ws://c/signal'))).toEqual([
      'ws://a/signal',
      'ws://b/signal',
      'ws://c/signal',
    ]);
    expect(signalingUrlsFromQuery(new URLSearchParams('room=x'))).toEqual([]);
    expect(signalingUrlList(Array.from({ length: 40 }, (_, i) => `ws://h${i}/signal`))).toHaveLength(maxSignalingUrls);
  });

  it('never logs a Redis password', () => {
    expect(redactUrl('redis://:secret@cache:6379')).toBe('redis://:***@cache:6379');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
