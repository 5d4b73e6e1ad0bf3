// fast-check generators of steal protocol values: valid messages (for round trips, and as
// plausible input from peers in the step-function property test).
import fc from 'fast-check';
import { priorities, type LoadAdvert, type StealMsg, type WorkItem } from '../../../src/core/steal/messages.ts';

export const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,43}$/);
export const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/);
export const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => JSON.stringify(v).length < 2000);

export const advert: fc.Arbitrary<LoadAdvert> = fc.record({
  node: id,
  boot: fc.integer({ min: 0, max: 1e12 }),
  seq: fc.nat(),
  workers: fc.integer({ min: 0, max: 64 }),
  running: fc.integer({ min: 0, max: 64 }),
  queued: fc.nat({ max: 10_000 }),
  queuedCost: fc.double({ min: 0, max: 1e6, noNaN: true }),
  runningCost: fc.double({ min: 0, max: 1e6, noNaN: true }),
}) as fc.Arbitrary<LoadAdvert>;

export const item: fc.Arbitrary<WorkItem> = fc.record({
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

export const ref = fc.record({
  jobId: id,
  index: fc.nat({ max: 4095 }),
  replica: fc.nat({ max: 15 }),
  attempt: fc.integer({ min: 1, max: 1000 }),
  ticket: token,
});

export const message: fc.Arbitrary<StealMsg> = fc.oneof(
  fc.record({
    type: fc.constant('steal-request' as const),
    reqId: token,
    want: fc.integer({ min: 1, max: 256 }),
    kinds: fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/), { maxLength: 4 }),
    load: advert,
  }),
  fc.record({ type: fc.constant('steal-grant' as const), reqId: token, tasks: fc.array(item, { maxLength: 4 }), load: advert }),
  fc.record({ type: fc.constant('steal-deny' as const), reqId: token, reason: fc.constantFrom('empty' as const, 'refused' as const), load: advert }),
  fc.record({ type: fc.constant('shed' as const), shedId: token, tasks: fc.array(item, { maxLength: 4 }), load: advert }),
  fc.record({ type: fc.constant('shed-return' as const), shedId: token, tasks: fc.array(item, { maxLength: 4 }), reason: fc.string({ maxLength: 50 }) }),
  fc.array(ref, { maxLength: 4 }).chain((refs) =>
    fc.record({
      type: fc.constant('lease-renew' as const),
      refs: fc.constant(refs),
      running: fc.array(fc.boolean(), { minLength: refs.length, maxLength: refs.length }),
    }),
  ),
  fc.record({
    type: fc.constant('lease-cancel' as const),
    refs: fc.array(ref, { maxLength: 4 }),
    reason: fc.constantFrom('done' as const, 'cancelled' as const, 'unknown' as const, 'refused' as const),
  }),
  fc.record({
    type: fc.constant('result' as const),
    ref,
    outcome: fc.oneof(
      fc.record({ ok: fc.constant(true as const), value: json }),
      fc.record({ ok: fc.constant(false as const), error: fc.string({ maxLength: 100 }) }),
    ),
  }),
  fc.record({ type: fc.constant('load' as const), load: advert }),
) as fc.Arbitrary<StealMsg>;
