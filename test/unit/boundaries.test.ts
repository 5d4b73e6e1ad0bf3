// Every decoder at a boundary: valid input passes, anything else is refused with a reason and
// never throws (fast-check throws random and mutated input at each).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, maxFrameBytes } from '../../src/core/envelope.ts';
import { decodeLinkMessage } from '../../src/core/link/messages.ts';
import { decodePageToWorker, decodeWorkerToPage } from '../../src/worker/protocol.ts';
import { decodeSignedSignal } from '../../src/net/signed-signal.ts';
import type { NodeId } from '../../src/core/types.ts';

const id = (c: string) => (c.repeat(42) + 'A') as NodeId;

describe('link frames', () => {
  test('round-trip', () => {
    const decoded = decodeFrame(encodeFrame('link', { type: 'ping', n: 3 }));
    expect(decoded).toEqual({ ok: true, value: { p: 'link', m: { type: 'ping', n: 3 } } });
    expect(decodeLinkMessage({ type: 'ping', n: 3 })).toEqual({ type: 'ping', n: 3 });
  });
  test('refuse oversized, non-UTF-8, non-JSON and unknown protocols with a reason', () => {
    expect(decodeFrame(new Uint8Array(maxFrameBytes + 1))).toMatchObject({ ok: false, error: expect.stringMatching(/exceeds/) });
    expect(decodeFrame(new Uint8Array([0xff, 0xfe]))).toEqual({ ok: false, error: 'frame is not UTF-8' });
    expect(decodeFrame(new TextEncoder().encode('{nope'))).toEqual({ ok: false, error: 'not valid JSON' });
    expect(decodeFrame(new TextEncoder().encode('{"p":"evil","m":1}'))).toMatchObject({ ok: false, error: expect.stringMatching(/^p:/) });
  });
  test('random bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void decodeFrame(bytes)));
    fc.assert(fc.property(fc.anything(), (value) => void decodeLinkMessage(value)));
  });
  test('link messages with bad fields are refused', () => {
    expect(decodeLinkMessage({ type: 'ping', n: -1 })).toBeNull();
    expect(decodeLinkMessage({ type: 'chat', text: 'x'.repeat(2001) })).toBeNull();
    expect(decodeLinkMessage({ type: 'ping', n: 1, extra: true })).toBeNull();
  });
});

describe('page ⇄ worker protocol', () => {
  test('accepts well-formed messages', () => {
    expect(decodePageToWorker({ type: 'init', slot: 0, room: 'lobby', signalingUrl: 'ws://x/signal', iceServers: [] }).ok).toBe(true);
    expect(decodePageToWorker({ type: 'link-data', peer: id('a'), linkId: 'abcdefgh', bytes: new ArrayBuffer(4) }).ok).toBe(true);
    expect(decodeWorkerToPage({ type: 'send', peer: id('a'), linkId: 'abcdefgh', bytes: new ArrayBuffer(4) }).ok).toBe(true);
  });
  test('refuses malformed ones with the offending field named', () => {
    expect(decodePageToWorker({ type: 'link-up', peer: 'short', linkId: 'abcdefgh' })).toMatchObject({ ok: false, error: expect.stringMatching(/^peer:/) });
    expect(decodePageToWorker({ type: 'init', slot: -1, room: 'x', signalingUrl: 'y', iceServers: [] })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^slot:/),
    });
    expect(decodePageToWorker({ type: 'link-data', peer: id('a'), linkId: 'abcdefgh', bytes: 'text' }).ok).toBe(false);
    expect(decodeWorkerToPage({ type: 'launch-missiles' }).ok).toBe(false);
  });
  test('random input never throws', () => {
    fc.assert(fc.property(fc.anything(), (value) => void decodePageToWorker(value)));
    fc.assert(fc.property(fc.anything(), (value) => void decodeWorkerToPage(value)));
  });
});

describe('signed signals', () => {
  const body = { v: 1, from: id('a'), to: id('b'), session: 'abcdefgh', kind: 'signal', signal: { type: 'offer', sdp: 'v=0' } };
  const sig = 'S'.repeat(85) + 'A';
  test('well-formed and addressed to us: accepted (signature is checked separately)', () => {
    expect(decodeSignedSignal({ body, sig }, id('b'), id('a')).ok).toBe(true);
  });
  test('wrong addressee, wrong sender, oversized SDP, missing data: refused', () => {
    expect(decodeSignedSignal({ body, sig }, id('c'))).toEqual({ ok: false, reason: 'signal addressed to another node' });
    expect(decodeSignedSignal({ body, sig }, id('b'), id('c'))).toEqual({ ok: false, reason: 'signal signed by a node other than its sender' });
    const huge = { ...body, signal: { type: 'offer', sdp: 'x'.repeat(20_000) } };
    expect(decodeSignedSignal({ body: huge, sig }, id('b')).ok).toBe(false);
    const empty = { ...body, signal: undefined };
    expect(decodeSignedSignal({ body: empty, sig }, id('b'))).toEqual({ ok: false, reason: 'signal without WebRTC data' });
  });
  test('random input never throws', () => {
    fc.assert(fc.property(fc.anything(), (value) => void decodeSignedSignal(value, id('b'))));
  });
});
