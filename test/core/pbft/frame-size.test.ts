// The largest message pBFT produces must fit the frame a peer accepts (maxFrameBytes, in UTF-8
// bytes). The worst case is a view change carrying a prepared certificate and its full batch for
// every slot of the log window; with batches bounded in characters, operations made of emoji
// (4 bytes for 2 characters) or CJK text (3 bytes for 1) made it larger than the frame limit,
// so the view change that was to replace a failed primary was refused unread by every peer.
import { describe, expect, test } from 'vitest';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { decodeFrame, encodeFrame, maxFrameBytes } from '../../../src/core/envelope.ts';
import { defaultPbftParams } from '../../../src/core/pbft/constants.ts';
import { canonicalBytes, decodeMessage, type PbftMessage, type ViewChangeBody } from '../../../src/core/pbft/messages.ts';
import { checkPbftParams, worstViewChangeFrameBytes } from '../../../src/core/pbft/size-bounds.ts';
import { jsonStringBytes, splitByJsonBytes, utf8Length } from '../../../src/core/pbft/utf8.ts';
import { maxStateChunkBytes } from '../../../src/core/pbft/constants.ts';
import fc from 'fast-check';
import type { PbftEffect } from '../../../src/core/pbft/types.ts';
import { ManualNet } from './manual-net.ts';

const [r0, r1, r2, r3] = ['r0', 'r1', 'r2', 'r3'].map(asNodeId) as [NodeId, NodeId, NodeId, NodeId];
const bytesOf = (value: unknown): number => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/**
 * Fills the whole log window with full batches of `glyph` operations from three clients while
 * checkpoints are lost (so nothing leaves the window), then silences the primary so the backups
 * change view. Returns r1's view-change message as it went on the wire.
 */
function worstViewChange(glyph: string): PbftMessage<ViewChangeBody> {
  const n = ManualNet.named(4);
  n.deliverAll();
  // Small operations (a few hundred bytes), so that packed requests fill batches to within a few
  // hundred bytes of maxBatchBytes; far more of them than the window holds (the rest wait).
  const value = glyph.repeat(120 / glyph.length);
  const noCheckpoints = (e: { msg: PbftMessage }) => e.msg.body.type !== 'checkpoint';
  for (let i = 0; i < 200; i++) for (const c of [r1, r2, r3]) n.submit(c, { kind: 'decision', value: `${i} ${value}` });
  for (let i = 0; i < 40; i++) {
    n.deliverAll(noCheckpoints);
    n.advance(50);
  }
  const window = defaultPbftParams.logWindowSeqs;
  for (const id of n.ids) expect(n.node(id).view().stableCheckpoint).toBe(0);
  expect(Math.min(...n.ids.map((id) => n.node(id).view().lastCommitted))).toBe(window);
  // The primary goes quiet; the backups' timers for the waiting requests run out.
  const from = n.effectsOf(r1).length;
  for (let i = 0; i < 40 && !n.effectsOf(r1, from).some(isViewChange); i++) {
    n.deliverAll((e) => e.from !== r0 && e.to !== r0 && noCheckpoints(e));
    n.advance(200);
  }
  const sent = n.effectsOf(r1, from).find(isViewChange);
  if (!sent) throw new Error('r1 sent no view change');
  return sent.msg as PbftMessage<ViewChangeBody>;
}

function isViewChange(e: PbftEffect): e is Extract<PbftEffect, { type: 'broadcast' | 'send' }> {
  return (e.type === 'broadcast' || e.type === 'send') && e.msg.body.type === 'view-change';
}

describe('pBFT messages fit the frame limit in bytes', () => {
  test.each([
    ['emoji (4 bytes per 2 characters)', '😀'],
    ['CJK (3 bytes per character)', '漢'],
  ])('a view change with a full window of full batches of %s fits one frame and decodes', (_name, glyph) => {
    const vc = worstViewChange(glyph);
    const window = defaultPbftParams.logWindowSeqs;
    // The real worst case: every slot of the window prepared, each batch close to its byte limit.
    expect(vc.body.prepared).toHaveLength(window);
    expect(vc.batches).toHaveLength(window);
    const sizes = (vc.batches ?? []).map((batch) => utf8Length(canonicalBytes(batch)));
    for (const bytes of sizes) expect(bytes).toBeLessThanOrEqual(defaultPbftParams.maxBatchBytes);
    // Only the first batches, holding each client's first (unpacked) request, are small.
    expect(sizes.filter((bytes) => bytes > defaultPbftParams.maxBatchBytes * 0.9).length).toBeGreaterThanOrEqual(window - 3);
    // Counted in characters, the full batches are well under their bytes: a bound in characters
    // would have let each grow to about twice (emoji) or three times (CJK) maxBatchBytes.
    for (const batch of vc.batches ?? []) {
      const text = canonicalBytes(batch);
      if (utf8Length(text) > defaultPbftParams.maxBatchBytes * 0.9) expect(text.length).toBeLessThan(utf8Length(text) * 0.7);
    }
    const frame = encodeFrame('pbft', { g: '0123456789abcdef', m: vc });
    expect(frame.byteLength).toBeGreaterThan(window * defaultPbftParams.maxBatchBytes * 0.7);
    expect(frame.byteLength).toBeLessThanOrEqual(maxFrameBytes);
    expect(frame.byteLength).toBeLessThanOrEqual(worstViewChangeFrameBytes(defaultPbftParams));
    const decoded = decodeFrame(frame);
    expect(decoded.ok).toBe(true);
    const inner = decoded.ok ? (decoded.value.m as { m: unknown }).m : null;
    expect(decodeMessage(inner)).toMatchObject({ ok: true });
  });

  test('utf8Length counts what TextEncoder writes, without encoding', () => {
    for (const text of ['', 'ascii', 'é', '€', '😀', '漢字', 'a😀b\u00e9', '\ud83d', 'x\udc00y', '\ud83d\ud83d']) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).byteLength);
    }
  });

  test('the worst-case bound covers a view change with every field at its wire maximum and is within the frame for the defaults', () => {
    const bound = worstViewChangeFrameBytes(defaultPbftParams);
    console.log(`worst view-change frame for the default parameters: ${bound} bytes of ${maxFrameBytes}`);
    expect(bound).toBeLessThanOrEqual(maxFrameBytes);
    expect(checkPbftParams(defaultPbftParams)).toBeNull();
    // The bound grows with the batch bytes: batches take the largest share.
    expect(worstViewChangeFrameBytes({ ...defaultPbftParams, maxBatchBytes: 2 * defaultPbftParams.maxBatchBytes }) - bound).toBe(
      defaultPbftParams.logWindowSeqs * defaultPbftParams.maxBatchBytes,
    );
    expect(bytesOf([])).toBe(2);
  });

  test('parameters whose largest view change would not fit a frame are refused with what to change', () => {
    for (const params of [
      { ...defaultPbftParams, maxBatchBytes: 16 * 1024 },
      { ...defaultPbftParams, logWindowSeqs: 64 },
      { ...defaultPbftParams, maxReplicas: 64 },
    ]) {
      expect(checkPbftParams(params)).toMatch(/more than the 262144-byte frame limit: lower maxBatchBytes, logWindowSeqs or maxReplicas/);
      expect(() => ManualNet.named(4, { params })).toThrow(/frame limit/);
    }
    expect(checkPbftParams({ ...defaultPbftParams, maxBatchBytes: 0 })).toMatch(/maxBatchBytes must be/);
  });

  test('a state transfer of a state full of CJK text goes in parts that each fit a frame, and the lagging replica ends with the same state', () => {
    const n = ManualNet.named(4);
    n.deliverAll();
    const cut = (e: { from: NodeId; to: NodeId }) => e.from !== r3 && e.to !== r3;
    const value = '漢'.repeat(900);
    // Many rounds, so many sequence numbers: r3 falls behind by far more than the log window.
    for (let round = 0; round < 24; round++) {
      for (let i = 0; i < 8; i++) n.submit(r1, { kind: 'kv-set', key: `k${round}-${i}`, value: `${round}${value}` });
      for (let j = 0; j < 10; j++) {
        n.deliverAll(cut);
        n.advance(100);
      }
    }
    expect(n.node(r0).view().stableCheckpoint).toBeGreaterThan(2 * defaultPbftParams.logWindowSeqs);
    const sentBefore = new Map([r0, r1, r2].map((id) => [id, n.effectsOf(id).length]));
    for (let j = 0; j < 40 && n.node(r3).view().lastCommitted < n.node(r0).view().lastCommitted; j++) {
      n.deliverAll();
      n.advance(200);
    }
    const states = [r0, r1, r2].flatMap((id) =>
      n
        .effectsOf(id, sentBefore.get(id))
        .flatMap((e) => ((e.type === 'send' || e.type === 'broadcast') && e.msg.body.type === 'state' && e.msg.chunk !== undefined ? [e.msg] : [])),
    );
    expect(states.length).toBeGreaterThan(3);
    console.log(
      `state transfer: ${states.length} parts, largest frame ${Math.max(...states.map((m) => encodeFrame('pbft', { g: '0123456789abcdef', m }).byteLength))} bytes`,
    );
    for (const msg of states) {
      expect(jsonStringBytes(msg.chunk ?? '')).toBeLessThanOrEqual(maxStateChunkBytes);
      const frame = encodeFrame('pbft', { g: '0123456789abcdef', m: msg });
      expect(frame.byteLength).toBeLessThanOrEqual(maxFrameBytes);
      expect(decodeMessage(JSON.parse(JSON.stringify(msg)))).toMatchObject({ ok: true });
    }
    expect(n.node(r3).view().rejected['wrong-digest']).toBeUndefined();
    expect(n.node(r3).view().lastCommitted).toBe(n.node(r0).view().lastCommitted);
    expect(n.node(r3).kvGet('k23-7')).toEqual(n.node(r0).kvGet('k23-7'));
  }, 60_000); // fixed work; 6.7 s on a loaded machine, past the default 5 s

  test('jsonStringBytes and splitByJsonBytes agree with JSON.stringify and TextEncoder on any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), (text, first, rest) => {
        const wire = new TextEncoder().encode(JSON.stringify(text)).byteLength - 2;
        expect(jsonStringBytes(text)).toBe(wire);
        const pieces = splitByJsonBytes(text, first, rest);
        expect(pieces.join('')).toBe(text);
        pieces.forEach((piece, i) => {
          expect(jsonStringBytes(piece)).toBeLessThanOrEqual(Math.max(12, i === 0 ? first : rest));
          // A surrogate pair is never cut in two.
          const head = piece.charCodeAt(0);
          const before = i > 0 ? (pieces[i - 1] as string).charCodeAt((pieces[i - 1] as string).length - 1) : 0;
          expect(head >= 0xdc00 && head <= 0xdfff && before >= 0xd800 && before <= 0xdbff).toBe(false);
        });
      }),
      { seed: 7, numRuns: 500 },
    );
    // A fixed amount of work (seed 7, 500 runs): on a loaded 2-core machine it took 7–15 s, past
    // vitest's default 5 s, which is a clock, not a check.
  }, 60_000);
});
