import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLoadAdvert,
  decodeStealMessage,
  describeStealMessage,
  maxTasksPerMessage,
  type StealMsg,
  type WorkItem,
} from '../../../src/core/steal/messages.ts';
import { message } from './arbitraries.ts';

describe('steal messages', () => {
  it('decode every valid message after a trip through JSON, unchanged', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const wire = JSON.parse(JSON.stringify(msg)) as unknown;
        const decoded = decodeStealMessage(wire);
        expect(decoded).toEqual(wire);
        expect(describeStealMessage(decoded as StealMsg)).toMatch(new RegExp(`^${msg.type}`));
      }),
      { numRuns: 300 },
    );
  });

  it('refuse anything else without throwing', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const decoded = decodeStealMessage(raw);
        // Arbitrary values are almost never valid; if one is, it must at least be a message.
        if (decoded !== null) expect(typeof decoded.type).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('refuse valid messages with one field broken', () => {
    fc.assert(
      fc.property(message, fc.constantFrom('type', 'load', 'tasks', 'refs', 'reqId', 'ref', 'extra'), (msg, field) => {
        const broken = { ...(msg as Record<string, unknown>) };
        if (field === 'extra') broken.extra = 1;
        else if (field in broken) broken[field] = field === 'type' ? 'steal-everything' : { bogus: true };
        else return;
        expect(decodeStealMessage(broken)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('enforce the caps: items per message, params size, error length, excluded nodes', () => {
    const base: WorkItem = {
      jobId: 'j',
      index: 0,
      total: 1,
      home: 'h',
      kind: 'primes',
      priority: 'low',
      params: {},
      cost: 1,
      replica: 0,
      attempt: 1,
      ticket: 't',
      exclude: [],
      hops: 0,
    } as unknown as WorkItem;
    const load = { node: 'a', boot: 0, seq: 0, workers: 1, running: 0, queued: 0, queuedCost: 0, runningCost: 0 };
    const grant = (tasks: unknown[]) => ({ type: 'steal-grant', reqId: 'r', tasks, load });
    expect(decodeStealMessage(grant([base]))).not.toBeNull();
    expect(decodeStealMessage(grant(Array.from({ length: maxTasksPerMessage + 1 }, () => base)))).toBeNull();
    expect(decodeStealMessage(grant([{ ...base, params: 'x'.repeat(20_000) }]))).toBeNull();
    expect(decodeStealMessage(grant([{ ...base, params: { a: Number.NaN } }]))).toBeNull();
    expect(decodeStealMessage(grant([{ ...base, exclude: Array.from({ length: 40 }, (_, i) => `n${i}`) }]))).toBeNull();
    expect(decodeStealMessage(grant([{ ...base, kind: 'Not A Kind' }]))).toBeNull();
    expect(decodeStealMessage(grant([{ ...base, attempt: 0 }]))).toBeNull();
    const result = (error: string) => ({ type: 'result', ref: { jobId: 'j', index: 0, replica: 0, attempt: 1, ticket: 't' }, outcome: { ok: false, error } });
    expect(decodeStealMessage(result('boom'))).not.toBeNull();
    expect(decodeStealMessage(result('x'.repeat(501)))).toBeNull();
    const renew = { type: 'lease-renew', refs: [{ jobId: 'j', index: 0, replica: 0, attempt: 1, ticket: 't' }], running: [] };
    expect(decodeStealMessage(renew)).toBeNull();
    expect(decodeLoadAdvert(load)).toEqual(load);
    expect(decodeLoadAdvert({ ...load, workers: -1 })).toBeNull();
  });
});
