// The chain of epoch records travels in pages (state-transfer.ts pageEpochRecords): every record
// once, in order, at most maxEpochRecordsPerMessage to a page, and each page within the frame limit
// whatever the size of the replica sets.
import { describe, expect, test } from 'vitest';
import { maxFrameBytes } from '../../../src/core/envelope.ts';
import { maxEpochRecordsPerMessage, maxReplicasCeiling } from '../../../src/core/pbft/constants.ts';
import type { EpochRecord } from '../../../src/core/pbft/messages.ts';
import { pageEpochRecords } from '../../../src/core/pbft/state-transfer.ts';
import { utf8Length } from '../../../src/core/pbft/utf8.ts';
import { asNodeId } from '../../../src/core/types.ts';

const id = (i: number) => asNodeId(`${'N'.repeat(40)}${String(i).padStart(3, '0')}`);

function record(epoch: number, replicas: number): EpochRecord {
  const set = Array.from({ length: replicas }, (_, i) => id(i));
  const body = { type: 'checkpoint' as const, epoch: epoch - 1, seq: epoch * 64, stateDigest: 'd'.repeat(64), configDigest: 'c'.repeat(64) };
  return { epoch, startSeq: epoch * 64, replicas: set, proof: set.map((signer) => ({ body, signer, sig: 's'.repeat(86) })) };
}

describe('epoch record pages', () => {
  test('small records: pages of maxEpochRecordsPerMessage, every record once and in order', () => {
    const records = Array.from({ length: 100 }, (_, i) => record(i + 1, 7));
    const pages = pageEpochRecords(records);
    expect(maxEpochRecordsPerMessage).toBe(32);
    expect(pages.map((p) => p.length)).toEqual([32, 32, 32, 4]);
    expect(pages.flat().map((r) => r.epoch)).toEqual(records.map((r) => r.epoch));
  });

  test('records of the largest replica sets: fewer to a page, each page within the frame limit', () => {
    const records = Array.from({ length: 40 }, (_, i) => record(i + 1, maxReplicasCeiling));
    const pages = pageEpochRecords(records);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.flat()).toHaveLength(40);
    for (const page of pages) expect(utf8Length(JSON.stringify({ type: 'epochs', to: id(0), records: page }))).toBeLessThan(maxFrameBytes - 1024);
  });

  test('nothing to send: no page', () => {
    expect(pageEpochRecords([])).toEqual([]);
  });
});
