// The demo service (src/worker/services/demo.ts) alone: it answers trace asks within its bounds,
// and honours a fault only from the controller its person accepted, fresh and once.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PbftTrace } from '../../src/core/pbft/trace.ts';
import type { PbftMessage } from '../../src/core/pbft/messages.ts';
import type { NodeId } from '../../src/core/types.ts';
import { DemoService, traceAnswerMinIntervalMs } from '../../src/worker/services/demo.ts';
import { decodeDemoMessage, type DemoMessage } from '../../src/worker/services/demo-messages.ts';
import type { PbftService } from '../../src/worker/services/pbft.ts';
import { fakeServiceContext } from './fake-service-context.ts';

const nodeId = (): NodeId => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as NodeId;

function setup() {
  let now = 1_000_000;
  const self = nodeId();
  const controller = nodeId();
  const stranger = nodeId();
  const sent: Array<{ to: string; msg: DemoMessage }> = [];
  const events: Array<{ name: string; payload: unknown }> = [];
  const rejected: string[] = [];
  const trace = new PbftTrace();
  const pbft = {
    trace,
    observerOnly: false,
    consensus: () => ({
      status: 'replica',
      view: 0,
      mode: 'normal',
      primary: self,
      replicas: [self],
      n: 1,
      f: 0,
      lastCommitted: 3,
      viewChanges: 0,
      byzantine: null,
      halted: null,
      log: [{ seq: 3, digest: 'abcdef0123456789abcdef' }],
    }),
  } as unknown as PbftService;
  const ctx = fakeServiceContext(() => now, 1, {
    self,
    sendTo: (to, msg) => void sent.push({ to, msg: msg as DemoMessage }),
    publishEvent: (name, payload) => void events.push({ name, payload }),
    reject: (reason) => void rejected.push(reason),
  });
  const service = new DemoService({ pbft, members: () => [] });
  return { service, ctx, self, controller, stranger, sent, events, rejected, trace, pbft, advance: (ms: number) => (now += ms), now: () => now };
}

const fault = (id: string, at: number, action = 'byzantine', mode: string | undefined = 'silent') => ({
  type: 'fault',
  id,
  at,
  action,
  ...(mode ? { mode } : {}),
});

describe('DemoService', () => {
  it('answers a trace ask with at most one page of records and its state, and not more often than its limit', async () => {
    const t = setup();
    await t.service.start(t.ctx);
    const msg = { body: { type: 'commit', epoch: 1, view: 0, seq: 1, digest: 'd' }, signer: t.self, sig: 's' } as PbftMessage;
    for (let i = 0; i < 500; i++) t.trace.sent(t.self, [t.controller], msg, i);
    t.service.receive(t.controller, { type: 'trace-ask', after: 0 });
    const answer = t.sent.at(-1)!.msg;
    expect(answer.type).toBe('trace');
    if (answer.type !== 'trace') return;
    expect(answer.records.length).toBe(160);
    expect(answer.state).toMatchObject({ role: 'replica', lastCommitted: 3, controller: null, head: { seq: 3, digest: 'abcdef0123456789' } });
    // What it sends decodes on the other side (same schema as on the wire).
    expect(decodeDemoMessage(JSON.parse(JSON.stringify(answer))).ok).toBe(true);
    t.service.receive(t.controller, { type: 'trace-ask', after: answer.next });
    expect(t.sent).toHaveLength(1);
    expect(t.rejected).toContain('trace asked for too often');
    t.advance(traceAnswerMinIntervalMs);
    t.service.receive(t.controller, { type: 'trace-ask', after: answer.next });
    expect(t.sent).toHaveLength(2);
  });

  it('refuses faults in a tab that accepted no controller, and from any other node than its controller', async () => {
    const t = setup();
    await t.service.start(t.ctx);
    t.service.receive(t.controller, fault('f1', t.now()));
    expect(t.events).toEqual([]);
    expect(t.sent.at(-1)!.msg).toMatchObject({ type: 'fault-result', id: 'f1', ok: false });
    await t.service.commands.demoController([t.controller]);
    t.service.receive(t.stranger, fault('f2', t.now()));
    expect(t.events).toEqual([]);
    expect(t.sent.at(-1)!.msg).toMatchObject({ type: 'fault-result', id: 'f2', ok: false });
  });

  it('honours a fresh fault from its controller once, refuses it replayed or stale, and remembers the controller across a restart', async () => {
    const t = setup();
    await t.service.start(t.ctx);
    await t.service.commands.demoController([t.controller]);
    t.service.receive(t.controller, fault('f1', t.now()));
    expect(t.events).toEqual([{ name: 'demo-fault', payload: { action: 'byzantine', mode: 'silent', by: t.controller } }]);
    expect(t.sent.at(-1)!.msg).toMatchObject({ type: 'fault-result', id: 'f1', ok: true });
    t.service.receive(t.controller, fault('f1', t.now()));
    t.service.receive(t.controller, fault('f3', t.now() - 60_000, 'crash', undefined));
    expect(t.events).toHaveLength(1);
    expect(t.rejected.filter((r) => r.startsWith('demo fault refused'))).toHaveLength(2);
    // Malformed: counted, never applied.
    t.service.receive(t.controller, { type: 'fault', id: 'f4', at: t.now(), action: 'explode' });
    expect(t.events).toHaveLength(1);
    expect(t.rejected.some((r) => r.startsWith('malformed demo message'))).toBe(true);
    // A fresh worker on the same storage keeps the controller.
    const again = new DemoService({ pbft: t.pbft, members: () => [] });
    await again.start(t.ctx);
    expect(again.snapshot()).toMatchObject({ demo: { controller: t.controller } });
    await expect(t.service.commands.demoController([t.self])).rejects.toThrow(/own controller/);
    await expect(t.service.commands.demoController(['not an id'])).rejects.toThrow(/node id/);
  });

  it('a viewer never joins the replicas, and gives up on a fault nobody answers', async () => {
    const t = setup();
    await t.service.start(t.ctx);
    t.service.commands.demoObserve([true]);
    expect(t.pbft.observerOnly).toBe(true);
    const answer = t.service.commands.demoFault([t.stranger, 'sleep']);
    expect(t.sent.at(-1)).toMatchObject({ to: t.stranger, msg: { type: 'fault', action: 'sleep' } });
    t.advance(10_000);
    t.service.tick(t.now());
    await expect(answer).rejects.toMatchObject({ code: 'demo-no-answer' });
    expect(() => t.service.commands.demoFault([t.stranger, 'byzantine', 'nonsense'])).toThrow(/Byzantine mode/);
  });
});
