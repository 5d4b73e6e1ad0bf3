// Many open operations per node: a client keeps one request outstanding (the paper's rule,
// which the replicated state's dedup relies on) and packs whatever queued up behind it into the
// next request. Every operation still ends with its own result, once committed, and all
// replicas execute the operations in one order: the order they were submitted in.
import { describe, expect, test } from 'vitest';
import { asNodeId, type NodeId } from '../../../src/core/types.ts';
import { defaultPbftParams, maxClientQueue, maxOpsPerRequestOnWire } from '../../../src/core/pbft/constants.ts';
import { canonicalBytes, decodeMessage, type PbftBody, type RequestBody } from '../../../src/core/pbft/messages.ts';
import { ManualNet } from './manual-net.ts';

const [r0, r1] = ['r0', 'r1'].map(asNodeId) as [NodeId, NodeId];

function net() {
  const n = ManualNet.named(4);
  n.deliverAll(); // start-up status messages
  return n;
}

/** Delivers everything, moving time a little between rounds, until nothing is left to do. */
function settle(n: ManualNet, rounds = 20): void {
  for (let i = 0; i < rounds; i++) {
    n.deliverAll();
    n.advance(100);
  }
  n.deliverAll();
}

const requestsSent = (n: ManualNet, from: NodeId): RequestBody[] =>
  n
    .effectsOf(from)
    .flatMap((e) => (e.type === 'sign' ? [JSON.parse(e.text) as PbftBody] : []))
    .filter((body): body is RequestBody => body.type === 'request');

describe('many open operations per client', () => {
  test('300 proposals opened at once from one node all commit, each with its own result, in submission order on every replica', () => {
    const n = net();
    const total = 300;
    for (let i = 0; i < total; i++) n.submit(r1, { kind: 'decision', value: i }, `p${i}`);
    settle(n);
    const results = n.results.filter((r) => r.node === r1);
    expect(results).toHaveLength(total);
    expect(results.every((r) => r.ok)).toBe(true);
    // Results come in submission order, and sequence numbers never go down along it.
    expect(results.map((r) => r.tag)).toEqual(Array.from({ length: total }, (_, i) => `p${i}`));
    const seqs = results.map((r) => (r.ok ? r.seq : -1));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1] as number);
    // Far fewer requests (signatures) than operations: they went out packed.
    const requests = requestsSent(n, r1);
    expect(requests.length).toBeLessThan(10);
    expect(requests.reduce((sum, r) => sum + 1 + (r.more?.length ?? 0), 0)).toBe(total);
    // Every replica executed the same operations in the same order: the submission order.
    const want = Array.from({ length: total }, (_, i) => ({ kind: 'decision', value: i }));
    for (const id of n.ids) {
      const executed = n.committed.filter((c) => c.node === id).flatMap((c) => c.ops);
      expect(executed).toEqual(want);
      expect(n.node(id).view().stats.executedRequests).toBe(total);
    }
  });

  test('the client refuses operations beyond its window with a reason a person can act on', () => {
    const n = net();
    for (let i = 0; i < maxClientQueue + 5; i++) n.submit(r1, { kind: 'decision', value: i }, `p${i}`);
    const refused = n.results.filter((r) => r.node === r1 && !r.ok);
    expect(refused).toHaveLength(5);
    for (const r of refused) if (!r.ok) expect(r.reason).toBe(`refused: ${maxClientQueue} operations are already open; wait for some to commit`);
    expect(refused.map((r) => r.tag)).toEqual([0, 1, 2, 3, 4].map((i) => `p${maxClientQueue + i}`));
    settle(n);
    expect(n.results.filter((r) => r.node === r1 && r.ok)).toHaveLength(maxClientQueue);
  });

  test('a pack stays within what one batch can hold', () => {
    const n = net();
    const big = 'x'.repeat(900);
    for (let i = 0; i < 40; i++) n.submit(r1, { kind: 'decision', value: `${i} ${big}` }, `p${i}`);
    settle(n);
    expect(n.results.filter((r) => r.node === r1 && r.ok)).toHaveLength(40);
    const requests = requestsSent(n, r1);
    expect(requests.length).toBeGreaterThan(5);
    const signed = n.effectsOf(r0).flatMap((e) => (e.type === 'broadcast' && e.msg.body.type === 'pre-prepare' ? [e.msg.batch ?? []] : []));
    for (const batch of signed) expect(new TextEncoder().encode(canonicalBytes(batch)).byteLength).toBeLessThanOrEqual(defaultPbftParams.maxBatchBytes);
  });

  test('a request too large for any batch is refused by the primary and does not block the others', () => {
    const n = net();
    const more = Array.from({ length: 20 }, (_, i) => ({ kind: 'decision' as const, value: `${i} ${'y'.repeat(900)}` }));
    const body: RequestBody = { type: 'request', client: asNodeId('mallory'), ts: 1, op: { kind: 'decision', value: 'head' }, more };
    const msg = n.sign(body, asNodeId('mallory'));
    expect(decodeMessage(JSON.parse(JSON.stringify(msg))).ok).toBe(true);
    n.inject(r0, msg);
    expect(n.node(r0).view().rejected['oversized-request']).toBe(1);
    n.submit(r1, { kind: 'decision', value: 'after' }, 'after');
    settle(n, 3);
    expect(n.results.find((r) => r.tag === 'after')?.ok).toBe(true);
  });

  test('a retransmitted packed request is answered again with every result, not executed twice', () => {
    const n = net();
    for (let i = 0; i < 3; i++) n.submit(r1, { kind: 'kv-set', key: `k${i}`, value: i }, `p${i}`);
    settle(n);
    const packed = n
      .effectsOf(r1)
      .flatMap((e) => ((e.type === 'broadcast' || e.type === 'send') && e.msg.body.type === 'request' && e.msg.body.more ? [e.msg] : []));
    expect(packed.length).toBeGreaterThan(0);
    const before = n.node(r0).view().stats.executedRequests;
    const queued = n.queue.length;
    n.inject(r0, packed[0] as never, r1);
    const replies = n.queue
      .slice(queued)
      .filter((e) => e.msg.body.type === 'reply')
      .map((e) => e.msg.body);
    expect(replies).toHaveLength(1);
    const reply = replies[0] as { more?: unknown[]; result: { ok: boolean } };
    expect(reply.result.ok).toBe(true);
    expect(reply.more).toHaveLength((packed[0]?.body as RequestBody).more?.length ?? -1);
    expect(n.node(r0).view().stats.executedRequests).toBe(before);
  });

  test('decode: a pack is 1…255 operations after the first, each an operation; a reply carries as many results', () => {
    const base = { type: 'request', client: 'c', ts: 1, op: { kind: 'decision', value: 0 } };
    const signed = (body: unknown) => ({ body, signer: 'c', sig: 's' });
    const op = { kind: 'decision', value: 1 };
    expect(decodeMessage(signed({ ...base, more: [op] })).ok).toBe(true);
    expect(decodeMessage(signed({ ...base, more: [] })).ok).toBe(false);
    expect(decodeMessage(signed({ ...base, more: Array.from({ length: maxOpsPerRequestOnWire - 1 }, () => op) })).ok).toBe(true);
    expect(decodeMessage(signed({ ...base, more: Array.from({ length: maxOpsPerRequestOnWire }, () => op) })).ok).toBe(false);
    expect(decodeMessage(signed({ ...base, more: [{ kind: 'join' }] })).ok).toBe(false);
    const reply = { type: 'reply', to: 'c', epoch: 0, view: 0, ts: 1, seq: 1, result: { ok: true } };
    expect(decodeMessage({ body: { ...reply, more: [{ ok: true }] }, signer: 'r', sig: 's' }).ok).toBe(true);
    expect(decodeMessage({ body: { ...reply, more: [{ ok: 'yes' }] }, signer: 'r', sig: 's' }).ok).toBe(false);
  });

  test("batch size is each primary's own choice, live: smaller batches, or larger than the backups' own setting", () => {
    const n = net();
    expect(() => n.node(r0).setMaxBatchRequests(0)).toThrow('batch size: maxBatchRequests must be 1…256');
    n.node(r0).setMaxBatchRequests(64);
    expect(n.node(r0).maxBatchRequests).toBe(64);
    expect(n.node(r1).maxBatchRequests).toBe(defaultPbftParams.maxBatchRequests);
    // 40 clients' requests reach the primary at once: after the first few batches the rest go in one.
    const clients = Array.from({ length: 40 }, (_, i) => asNodeId(`c${i}`));
    for (const c of clients) n.inject(r0, n.sign({ type: 'request', client: c, ts: 1, op: { kind: 'decision', value: c } }, c));
    settle(n, 3);
    const sizes = n.committed.filter((c) => c.node === r1).map((c) => c.ops.length);
    expect(Math.max(...sizes)).toBeGreaterThan(defaultPbftParams.maxBatchRequests);
    for (const id of n.ids) {
      expect(n.node(id).view().stats.executedRequests).toBe(40);
      expect(n.node(id).view().rejected['bad-batch']).toBeUndefined();
    }
    // And down to 2: no batch holds more from then on.
    n.node(r0).setMaxBatchRequests(2);
    const before = n.committed.length;
    for (const c of clients) n.inject(r0, n.sign({ type: 'request', client: c, ts: 2, op: { kind: 'decision', value: `${c} again` } }, c));
    settle(n, 3);
    const later = n.committed.slice(before).filter((c) => c.node === r1);
    expect(later.reduce((sum, c) => sum + c.ops.length, 0)).toBe(40);
    expect(Math.max(...later.map((c) => c.ops.length))).toBeLessThanOrEqual(2);
  });
});
