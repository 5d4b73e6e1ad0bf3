import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLoadAdvert,
  decodeStealMessage,
  describeStealMessage,
  maxTasksPerMessage,
  priorities,
  type LoadAdvert,
  type StealMsg,
  type WorkItem,
} from '../../../src/core/steal/messages.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,43}$/);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/);
const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => JSON.stringify(v).length < 2000);

const advert: fc.Arbitrary<LoadAdvert> = fc.record({
  node: id,
  boot: fc.integer({ min: 0, max: 1e12 }),
  seq: fc.nat(),
  workers: fc.integer({ min: 0, max: 64 }),
  running: fc.integer({ min: 0, max: 64 }),
  queued: fc.nat({ max: 10_000 }),
  queuedCost: fc.double({ min: 0, max: 1e6, noNaN: true }),
  runningCost: fc.double({ min: 0, max: 1e6, noNaN: true }),
}) as fc.Arbitrary<LoadAdvert>;

const item: fc.Arbitrary<WorkItem> = fc.record({
  jobId: id,
  index: fc.nat({ max: 4095 }),
  total: fc.integer({ min: 1, max: 4096 }),
  home: id,
  kind: fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/),
  priority: fc.constantFrom(...priorities),
  params: json,
  cost: fc.double({ min: 0, max: 1e6, noNaN: true }),
  replica: fc.nat({ max: 15 }),
  attempt: fc.integer({ min: 1, max: 1000 }),
  ticket: token,
  exclude: fc.array(id, { maxLength: 5 }),
  hops: fc.nat({ max: 100 }),
}) as fc.Arbitrary<WorkItem>;

const ref = fc.record({ jobId: id, index: fc.nat({ max: 4095 }), replica: fc.nat({ max: 15 }), attempt: fc.integer({ min: 1, max: 1000 }), ticket: token });

const message: fc.Arbitrary<StealMsg> = fc.oneof(
  fc.record({ type: fc.constant('steal-request' as const), reqId: token, want: fc.integer({ min: 1, max: 256 }), kinds: fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/), { maxLength: 4 }), load: advert }),
  fc.record({ type: fc.constant('steal-grant' as const), reqId: token, tasks: fc.array(item, { maxLength: 4 }), load: advert }),
  fc.record({ type: fc.constant('steal-deny' as const), reqId: token, reason: fc.constantFrom('empty' as const, 'refused' as const), load: advert }),
  fc.record({ type: fc.constant('shed' as const), shedId: token, tasks: fc.array(item, { maxLength: 4 }), load: advert }),
  fc.record({ type: fc.constant('shed-return' as const), shedId: token, tasks: fc.array(item, { maxLength: 4 }), reason: fc.string({ maxLength: 50 }) }),
  fc.array(ref, { maxLength: 4 }).chain((refs) =>
    fc.record({ type: fc.constant('lease-renew' as const), refs: fc.constant(refs), running: fc.array(fc.boolean(), { minLength: refs.length, maxLength: refs.length }) }),
  ),
  fc.record({ type: fc.constant('lease-cancel' as const), refs: fc.array(ref, { maxLength: 4 }), reason: fc.constantFrom('done' as const, 'cancelled' as const, 'unknown' as const, 'refused' as const) }),
  fc.record({
    type: fc.constant('result' as const),
    ref,
    outcome: fc.oneof(fc.record({ ok: fc.constant(true as const), value: json }), fc.record({ ok: fc.constant(false as const), error: fc.string({ maxLength: 100 }) })),
  }),
  fc.record({ type: fc.constant('load' as const), load: advert }),
) as fc.Arbitrary<StealMsg>;

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
      jobId: 'j', index: 0, total: 1, home: 'h', kind: 'primes', priority: 'low', params: {}, cost: 1, replica: 0, attempt: 1, ticket: 't', exclude: [], hops: 0,
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
