// The step function under arbitrary interleavings: two real nodes exchanging real messages
// (delivered late, out of order, twice or never, sometimes tampered with), mixed with garbage
// and plausible forgeries from a third party, failures, cancels, membership changes and ticks.
// After every step: nothing throws, every message a core sends is one our decoder accepts,
// no task is accepted twice, views add up, and wake-ups are never in the past. At the end,
// with the network healed, every job reaches a final state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStealMessage, type StealMsg } from '../../../src/core/steal/messages.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { message } from './arbitraries.ts';
import { Harness, job, type Run } from './harness.ts';

type Action =
  | { kind: 'deliver'; pick: number; copies: 0 | 1 | 2 }
  | { kind: 'tamper'; pick: number; field: 'ticket' | 'index' | 'attempt' | 'jobId' }
  | { kind: 'garbage'; to: 0 | 1; from: 0 | 1 | 2; msg: unknown }
  | { kind: 'tick'; ms: number }
  | { kind: 'finish'; pick: number; how: 'ok' | 'fail' | 'huge' | 'wrong' }
  | { kind: 'submit'; at: 0 | 1; n: number; redundancy: 1 | 2 }
  | { kind: 'cancel'; at: 0 | 1; pick: number }
  | { kind: 'workers'; at: 0 | 1; count: number }
  | { kind: 'membership'; at: 0 | 1; status: 'dead' | 'alive' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), copies: fc.constantFrom(0 as const, 1 as const, 1 as const, 2 as const) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tamper' as const),
      pick: fc.nat(),
      field: fc.constantFrom('ticket' as const, 'index' as const, 'attempt' as const, 'jobId' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      to: fc.constantFrom(0 as const, 1 as const),
      from: fc.constantFrom(0 as const, 1 as const, 2 as const),
      msg: fc.oneof(message, fc.anything()),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3_000 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      pick: fc.nat(),
      how: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'fail' as const, 'huge' as const, 'wrong' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      at: fc.constantFrom(0 as const, 1 as const),
      n: fc.integer({ min: 1, max: 8 }),
      redundancy: fc.constantFrom(1 as const, 2 as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), at: fc.constantFrom(0 as const, 1 as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('workers' as const), at: fc.constantFrom(0 as const, 1 as const), count: fc.integer({ min: 0, max: 3 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('membership' as const),
      at: fc.constantFrom(0 as const, 1 as const),
      status: fc.constantFrom('dead' as const, 'alive' as const),
    }),
  },
);

/** A harness whose messages wait in a pool so the test decides their fate. */
class Lossy extends Harness {
  readonly pool: Array<{ from: NodeId; to: NodeId; msg: StealMsg }> = [];
  constructor() {
    super();
    this.filter = (from, to, msg) => {
      if (!this.cores.has(to)) return false; // replies to the forger go nowhere
      this.pool.push({ from, to, msg: JSON.parse(JSON.stringify(msg)) as StealMsg });
      return false;
    };
  }
}

function check(h: Lossy, nodes: readonly NodeId[]): void {
  for (const { msg } of h.sent) expect(decodeStealMessage(JSON.parse(JSON.stringify(msg))), `sent ${JSON.stringify(msg).slice(0, 200)}`).not.toBeNull();
  h.sent.length = 0;
  const accepted = new Map<string, number>();
  for (const e of h.eventsOf('task-accepted')) accepted.set(`${e.jobId}#${e.index}`, (accepted.get(`${e.jobId}#${e.index}`) ?? 0) + 1);
  for (const [key, n] of accepted) expect(n, `${key} accepted ${n} times`).toBe(1);
  for (const node of nodes) {
    const core = h.core(node);
    const view = core.view();
    const wake = core.nextWakeAt();
    if (wake !== undefined) expect(wake).toBeGreaterThanOrEqual(h.now);
    const runs = h.runs.filter((r) => r.node === node);
    expect(new Set(runs.map((r) => r.key)).size).toBe(runs.length);
    expect(view.running).toBe(runs.length);
    for (const j of view.jobs.filter((x) => x.mine)) {
      const acceptedHere = [...accepted.keys()].filter((k) => k.startsWith(`${j.id}#`)).length;
      expect(j.done).toBe(acceptedHere);
      expect(j.done).toBeLessThanOrEqual(j.total);
    }
  }
}

describe('the stealing step function', () => {
  it(
    'keeps its invariants under arbitrary interleavings, loss, duplication, forgery and garbage',
    () => {
      fc.assert(
        fc.property(fc.array(action, { minLength: 10, maxLength: 70 }), (actions) => {
          const h = new Lossy();
          const a = h.add('a', { workers: 2, config: { leaseMs: 4_000, leaseRenewIntervalMs: 1_000, retryBaseMs: 100 } });
          const b = h.add('b', { workers: 1, config: { leaseMs: 4_000, leaseRenewIntervalMs: 1_000, retryBaseMs: 100 } });
          const nodes = [a, b];
          const senders = [a, b, 'mallory' as NodeId];
          h.step(a, job(6));
          // Jobs given a wrong answer: with r = 2 and only two nodes, a dispute needs a third node
          // to settle, so those may rightly wait; every other job must end.
          const disputed = new Set<string>();
          for (const act of actions) {
            switch (act.kind) {
              case 'deliver': {
                if (h.pool.length === 0) break;
                const [m] = h.pool.splice(act.pick % h.pool.length, 1);
                for (let i = 0; i < act.copies; i++) h.inject(m!.from, m!.to, JSON.parse(JSON.stringify(m!.msg)));
                break;
              }
              case 'tamper': {
                const m = h.pool[act.pick % Math.max(1, h.pool.length)];
                if (!m) break;
                const copy = JSON.parse(JSON.stringify(m.msg)) as Record<string, unknown>;
                const target = (copy.ref ?? (Array.isArray(copy.refs) ? copy.refs[0] : Array.isArray(copy.tasks) ? copy.tasks[0] : undefined)) as
                  Record<string, unknown> | undefined;
                if (target) target[act.field] = act.field === 'ticket' || act.field === 'jobId' ? 'forged' : 7;
                h.inject(m.from, m.to, copy);
                break;
              }
              case 'garbage':
                if (senders[act.from] !== nodes[act.to]) h.inject(senders[act.from]!, nodes[act.to]!, act.msg);
                break;
              case 'tick':
                h.advance(act.ms);
                break;
              case 'finish': {
                const run = h.runs[act.pick % Math.max(1, h.runs.length)] as Run | undefined;
                if (!run) break;
                const value = (run.task.params as { value: number }).value;
                if (act.how === 'wrong') disputed.add(run.task.jobId);
                h.finish(
                  run,
                  act.how === 'ok'
                    ? undefined
                    : act.how === 'fail'
                      ? { ok: false, error: 'kernel threw' }
                      : act.how === 'huge'
                        ? { ok: true, value: { blob: 'x'.repeat(300_000) } }
                        : { ok: true, value: { value: value * 2 + 1 } },
                );
                break;
              }
              case 'submit':
                h.step(nodes[act.at]!, job(act.n, { redundancy: act.redundancy }));
                break;
              case 'cancel': {
                const mine = h
                  .core(nodes[act.at]!)
                  .view()
                  .jobs.filter((j) => j.mine);
                const victim = mine[act.pick % Math.max(1, mine.length)];
                if (victim) h.step(nodes[act.at]!, { type: 'cancel', jobId: victim.id });
                break;
              }
              case 'workers':
                h.step(nodes[act.at]!, { type: 'set-workers', count: act.count });
                break;
              case 'membership':
                h.step(nodes[act.at]!, { type: act.status === 'dead' ? 'member-dead' : 'member-alive', node: nodes[1 - act.at]! });
                break;
            }
            check(h, nodes);
          }
          // Heal: everyone alive, enough workers, messages flow, kernels answer honestly.
          for (const node of nodes) {
            h.step(node, { type: 'member-alive', node: nodes.find((n) => n !== node)! });
            h.step(node, { type: 'set-workers', count: 2 });
          }
          h.filter = () => true;
          for (let round = 0; round < 200; round++) {
            for (const m of h.pool.splice(0)) h.inject(m.from, m.to, m.msg);
            h.finishAll();
            h.advance(1_000);
            const open = nodes.flatMap((n) =>
              h
                .core(n)
                .view()
                .jobs.filter((j) => j.mine && (j.status === 'queued' || j.status === 'running')),
            );
            if (open.length === 0) break;
          }
          check(h, nodes);
          for (const node of nodes) {
            for (const j of h
              .core(node)
              .view()
              .jobs.filter((x) => x.mine && !(x.redundancy > 1 && disputed.has(x.id)))) {
              expect(['done', 'failed', 'cancelled'], `${j.id} ended ${j.status}`).toContain(j.status);
              if (j.status === 'done') expect(h.core(node).jobOutput(j.id)?.results).toHaveLength(j.total);
            }
          }
        }),
        { numRuns: process.env.LONG ? 1_000 : 120 },
      );
    },
    process.env.LONG ? 600_000 : 30_000,
  );
});
