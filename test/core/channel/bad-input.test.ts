// Bad channel input from a peer is counted and dropped, never delivered, never thrown; an
// origin that keeps sending it is throttled, and its sends then fail as throttled.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  badMessageBurst,
  ChannelCore,
  chunkBytes,
  maxChannelMessageBytes,
  maxIncomingPerOrigin,
  throttleMs,
  type ChannelEffect,
} from '../../../src/core/channel/index.ts';
import { toBase64 } from '../../../src/core/channel/base64.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { ChannelNet, deliveries, outcome, patternBytes } from './net.ts';

const A = 'node-a' as NodeId;
const B = 'node-b' as NodeId;
const chunk = (over: Record<string, unknown> = {}) => ({
  t: 'c',
  id: 'x.1',
  ch: 'chat',
  seq: 0,
  n: 1,
  size: 3,
  enc: 'b',
  d: toBase64(new Uint8Array([1, 2, 3])),
  ...over,
});
const sends = (effects: ChannelEffect[]) => effects.filter((e) => e.type === 'send').map((e) => (e as { msg: unknown }).msg);

describe('what a receiver refuses', () => {
  test('a message over 16 MiB is refused as too large, counted, and charged to its origin', () => {
    const core = new ChannelCore(0, createRng(1));
    const size = maxChannelMessageBytes + 1;
    const effects = core.step(10, { type: 'message', from: A, msg: chunk({ size, n: Math.ceil(size / chunkBytes), d: toBase64(new Uint8Array(chunkBytes)) }) });
    expect(sends(effects)).toEqual([{ t: 'x', id: 'x.1', why: 'too-large' }]);
    expect(effects).toContainEqual({ type: 'bad', origin: A, reason: expect.stringContaining('over the') });
    expect(core.view().incoming).toBe(0);
  });

  test.each([
    ['not an object', 'hello'],
    ['an unknown type', { t: 'z', id: 'x.1' }],
    ['a bad channel name', chunk({ ch: '' })],
    ['data that is not base64', chunk({ d: '!!!!' })],
    ['data of the wrong length', chunk({ d: toBase64(new Uint8Array([1, 2])) })],
    ['a chunk count that does not match the size', chunk({ n: 2 })],
    ['a piece number past the end', chunk({ seq: 1 })],
    ['JSON that is not JSON', chunk({ enc: 'j', d: toBase64(new TextEncoder().encode('{no')), size: 3 })],
  ])('%s: counted as bad, nothing delivered', (_what, msg) => {
    const core = new ChannelCore(0, createRng(2));
    const effects = core.step(10, { type: 'message', from: A, msg });
    expect(effects.filter((e) => e.type === 'deliver')).toEqual([]);
    expect(effects.filter((e) => e.type === 'bad')).toHaveLength(1);
    expect(Object.values(core.view().counters.dropped).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  test('a chunk that contradicts the first chunk of its transfer is bad', () => {
    const core = new ChannelCore(0, createRng(3));
    core.step(10, { type: 'message', from: A, msg: chunk({ n: 2, size: chunkBytes + 3, d: toBase64(new Uint8Array(chunkBytes)) }) });
    const effects = core.step(11, { type: 'message', from: A, msg: chunk({ n: 2, size: chunkBytes + 4, seq: 1, d: toBase64(new Uint8Array(4)) }) });
    expect(effects).toContainEqual({ type: 'bad', origin: A, reason: 'chunk does not match its transfer' });
  });

  test('any input at all: the core never throws and delivers only well-formed messages (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.anything(),
            fc.record(
              {
                t: fc.constantFrom('c', 'a', 'x'),
                id: fc.string(),
                ch: fc.string(),
                seq: fc.integer(),
                n: fc.integer(),
                size: fc.integer(),
                enc: fc.constantFrom('j', 'b', 'q'),
                d: fc.base64String(),
                why: fc.string(),
              },
              { requiredKeys: ['t'] },
            ),
          ),
          { maxLength: 30 },
        ),
        (inputs) => {
          const core = new ChannelCore(0, createRng(4));
          let now = 0;
          for (const msg of inputs) {
            for (const effect of core.step((now += 100), { type: 'message', from: A, msg })) {
              if (effect.type === 'deliver') expect(effect.bytes).toBeLessThanOrEqual(maxChannelMessageBytes);
            }
          }
          expect(core.view().incomingBytes).toBeLessThanOrEqual(maxIncomingPerOrigin * maxChannelMessageBytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('an origin that keeps sending bad messages', () => {
  test('is throttled after its budget: its transfers are refused as throttled, and lifted after throttleMs', () => {
    const net = new ChannelNet(11, [A, B]);
    // Bad messages from A, as B's app validator would report them.
    for (let i = 0; i <= badMessageBurst; i++) net.step(B, { type: 'invalid', origin: A, channel: 'chat' });
    expect(
      net
        .core(B)
        .view()
        .throttled.map((t) => t.origin),
    ).toEqual([A]);
    expect(net.core(B).view().counters.invalid).toEqual({ chat: badMessageBurst + 1 });
    net.step(A, { type: 'send', sendId: 's', channel: 'chat', enc: 'b', bytes: patternBytes(10, 1), to: [B], everyone: false });
    net.run(() => outcome(net, A, 's') !== undefined);
    expect(outcome(net, A, 's')).toMatchObject({ type: 'failed', failure: 'throttled' });
    expect(deliveries(net, B)).toHaveLength(0);
    // Later, B takes A's messages again.
    net.now += throttleMs;
    net.step(A, { type: 'send', sendId: 't', channel: 'chat', enc: 'b', bytes: patternBytes(10, 2), to: [B], everyone: false });
    net.run(() => outcome(net, A, 't') !== undefined);
    expect(outcome(net, A, 't')).toMatchObject({ type: 'sent', delivered: 1 });
  });

  test('another origin is not disturbed meanwhile', () => {
    const C = 'node-c' as NodeId;
    const net = new ChannelNet(12, [A, B, C]);
    for (let i = 0; i <= badMessageBurst; i++) net.step(B, { type: 'invalid', origin: A, channel: 'chat' });
    net.step(C, { type: 'send', sendId: 's', channel: 'chat', enc: 'b', bytes: patternBytes(10, 1), to: [B], everyone: false });
    net.run(() => outcome(net, C, 's') !== undefined);
    expect(outcome(net, C, 's')).toMatchObject({ type: 'sent', delivered: 1 });
  });

  test('a refusal is sent once per transfer, not once per chunk (a flood gets no flood back)', () => {
    const core = new ChannelCore(0, createRng(5));
    for (let i = 0; i <= badMessageBurst; i++) core.step(1, { type: 'invalid', origin: A, channel: 'chat' });
    let refusals = 0;
    for (let i = 0; i < 50; i++) refusals += sends(core.step(2 + i, { type: 'message', from: A, msg: chunk() })).length;
    expect(refusals).toBe(1);
    expect(core.view().counters.dropped['from a throttled origin']).toBe(50);
  });
});

test('half-received messages are bounded per origin: further ones are not acknowledged (the sender retries later)', () => {
  const core = new ChannelCore(0, createRng(6));
  const big = (id: string) => chunk({ id, n: 2, size: chunkBytes + 1, d: toBase64(new Uint8Array(chunkBytes)) });
  for (let i = 0; i < maxIncomingPerOrigin; i++) expect(sends(core.step(1, { type: 'message', from: A, msg: big(`x.${i}`) }))).toHaveLength(1);
  expect(sends(core.step(2, { type: 'message', from: A, msg: big('x.99') }))).toEqual([]);
  expect(core.view().counters.dropped['receiver busy']).toBe(1);
  // Another origin still gets through.
  expect(sends(core.step(3, { type: 'message', from: B, msg: big('x.99') }))).toHaveLength(1);
});
