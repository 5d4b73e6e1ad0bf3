// The wire contract: decoding refuses anything malformed with a reason, canonical bytes are
// the same whatever the key order, and signaturesToVerify lists every nested signature the
// runtime must check (outer, certificates, client requests in attachments).
import { describe, expect, test } from 'vitest';
import { asNodeId } from '../../../src/core/types.ts';
import {
  canonicalBytes,
  decode,
  decodeMessage,
  describe as describeMsg,
  signaturesToVerify,
  type PbftMessage,
  type Signed,
} from '../../../src/core/pbft/messages.ts';
import type { CommitBody, PrePrepareBody, PrepareBody, RequestBody, ViewChangeBody } from '../../../src/core/pbft/messages.ts';
import { fakeSign } from './fake-crypto.ts';

const a = asNodeId('a');
const b = asNodeId('b');
const c = asNodeId('c');
const sign = <T>(body: T, signer = a): Signed<T> => ({ body, signer, sig: fakeSign(signer, canonicalBytes(body)) });
const request = (client = c, ts = 1): Signed<RequestBody> => sign({ type: 'request', client, ts, op: { kind: 'decision', value: 'x' } }, client);

describe('canonicalBytes', () => {
  test('sorts keys at every depth and drops undefined', () => {
    expect(canonicalBytes({ b: 1, a: { d: [1, { z: 2, y: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":1,"z":2}]},"b":1}');
    expect(canonicalBytes({ x: 'é"\n' })).toBe(JSON.stringify({ x: 'é"\n' }));
  });
});

describe('decode', () => {
  const pp: PbftMessage = { ...sign<PrePrepareBody>({ type: 'pre-prepare', epoch: 0, view: 0, seq: 1, digest: 'd1' }), batch: [request()] };

  test('accepts a well-formed pre-prepare with its batch', () => {
    expect(decode(JSON.parse(JSON.stringify(pp)))).not.toBeNull();
  });

  test.each([
    ['not an object', 42],
    ['unknown type', { ...pp, body: { ...pp.body, type: 'hello' } }],
    ['negative sequence number', { ...pp, body: { ...pp.body, seq: -1 } }],
    ['fractional view', { ...pp, body: { ...pp.body, view: 1.5 } }],
    ['extra field (the signature would not cover it)', { ...pp, body: { ...pp.body, extra: 1 } }],
    ['pre-prepare without its batch', { body: pp.body, signer: pp.signer, sig: pp.sig }],
    ['batch on a prepare', { ...sign({ type: 'prepare', epoch: 0, view: 0, seq: 1, digest: 'd' }), batch: [] }],
    ['request signed by someone else than its client', { ...request(), signer: b }],
    ['huge digest', { ...pp, body: { ...pp.body, digest: 'x'.repeat(10_000) } }],
    ['operation over the size cap', { ...request(), body: { ...request().body, op: { kind: 'decision', value: 'y'.repeat(5_000) } } }],
    ['unknown operation', { ...request(), body: { ...request().body, op: { kind: 'rm-rf' } } }],
  ])('refuses %s, with a reason', (_what, raw) => {
    const d = decodeMessage(raw);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error.length).toBeGreaterThan(0);
  });

  test('describe gives one readable line', () => {
    expect(describeMsg(pp)).toBe('pre-prepare e0 v0 n1 d=d1 [1 req] by a');
  });
});

describe('signaturesToVerify', () => {
  test('lists the outer signature, nested certificates and the requests in attachments', () => {
    const ppBody: PrePrepareBody = { type: 'pre-prepare', epoch: 0, view: 0, seq: 3, digest: 'd3' };
    const prepare = (signer: typeof a): Signed<PrepareBody> => sign({ ...ppBody, type: 'prepare' }, signer);
    const vc: PbftMessage<ViewChangeBody> = {
      ...sign<ViewChangeBody>(
        {
          type: 'view-change',
          epoch: 0,
          view: 1,
          stable: { seq: 0, stateDigest: 's0', proof: [] },
          prepared: [{ pp: sign(ppBody, a), prepares: [prepare(b), prepare(c)] }],
        },
        b,
      ),
      batches: [[request(c, 7)]],
    };
    const checks = signaturesToVerify(vc);
    expect(checks.map((x) => x.signer)).toEqual([b, a, b, c, c]);
    expect(checks[0]?.bytes).toBe(canonicalBytes(vc.body));
    // Each listed signature verifies against its own text.
    for (const check of checks) expect(fakeSign(check.signer, check.bytes)).toBe(check.sig);
  });

  test('a commit certificate lists its pre-prepare and every commit', () => {
    const ppBody: PrePrepareBody = { type: 'pre-prepare', epoch: 0, view: 2, seq: 9, digest: 'd9' };
    const commit = (s: typeof a): Signed<CommitBody> => sign({ ...ppBody, type: 'commit' }, s);
    const proof: PbftMessage = { ...sign({ type: 'proof', to: c, pp: sign(ppBody, b), commits: [commit(a), commit(b), commit(c)] }, a), batch: [] };
    expect(signaturesToVerify(proof)).toHaveLength(5);
  });
});
