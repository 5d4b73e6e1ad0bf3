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
import { utf8Length } from '../../../src/core/pbft/utf8.ts';
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

function isViewChange(e: PbftEffect): e is Extract<PbftEffect, { kind: 'broadcast' | 'send' }> {
  return (e.kind === 'broadcast' || e.kind === 'send') && e.msg.body.type === 'view-change';
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
});
