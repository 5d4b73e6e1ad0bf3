// A hand-driven network for unit tests: messages queue up and are delivered only when the test
// says so (optionally filtered), time moves only when the test moves it, and every effect is
// recorded per node, so a test can follow the protocol message by message.
import { createRng } from '../../../src/core/rng.ts';
import { asNodeId, type Millis, type NodeId } from '../../../src/core/types.ts';
import { PbftReplica } from '../../../src/core/pbft/replica.ts';
import { canonicalBytes, decodeMessage, type PbftBody, type PbftMessage, type Signed } from '../../../src/core/pbft/messages.ts';
import type { PbftOptions, PbftEffect, ClientResultEvent } from '../../../src/core/pbft/types.ts';
import { fakeDigest, fakeSign, verifyAll } from './fake-crypto.ts';

export interface Envelope {
  from: NodeId;
  to: NodeId;
  msg: PbftMessage;
}

export class ManualNet {
  readonly nodes = new Map<NodeId, PbftReplica>();
  readonly disks = new Map<NodeId, Map<string, unknown>>();
  readonly queue: Envelope[] = [];
  readonly results: Array<ClientResultEvent & { node: NodeId }> = [];
  readonly committed: Array<{ node: NodeId; seq: number; digest: string; ops: unknown[] }> = [];
  /** Every effect each node produced, in order. */
  readonly effects = new Map<NodeId, PbftEffect[]>();
  now: Millis = 0;

  constructor(
    readonly ids: NodeId[],
    private readonly options: Partial<PbftOptions> = {},
    genesis: NodeId[] = ids,
  ) {
    for (const id of ids) {
      this.disks.set(id, new Map());
      this.effects.set(id, []);
      this.boot(id, genesis);
    }
  }

  static named(n: number, options: Partial<PbftOptions> = {}): ManualNet {
    return new ManualNet(
      Array.from({ length: n }, (_, i) => asNodeId(`r${i}`)),
      options,
    );
  }

  node(id: NodeId): PbftReplica {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** (Re)starts a node from its disk. */
  boot(id: NodeId, genesis: NodeId[] = this.ids): void {
    const disk = this.disks.get(id) as Map<string, unknown>;
    const node = new PbftReplica({
      id,
      genesis,
      digest: fakeDigest,
      rng: createRng(id),
      persisted: structuredClone([...disk.entries()]),
      ...this.options,
    });
    this.nodes.set(id, node);
    this.apply(id, node.start(this.now));
  }

  step(id: NodeId, input: Parameters<PbftReplica['step']>[1]): void {
    this.apply(id, this.node(id).step(this.now, input));
  }

  submit(id: NodeId, op: unknown, tag?: string): void {
    this.step(id, { type: 'submit', op, tag });
  }

  /** Signs a body as `signer` would (for handcrafted messages). */
  sign<T extends PbftBody>(body: T, signer: NodeId): Signed<T> {
    return { body, signer, sig: fakeSign(signer, canonicalBytes(body)) };
  }

  /** Delivers a handcrafted message to `to` through the same checks as the queue. */
  inject(to: NodeId, msg: PbftMessage, from: NodeId = msg.signer): void {
    this.deliver({ from, to, msg });
  }

  /** Delivers queued messages (including those they cause) until none is left or `maxSteps`. */
  deliverAll(keep: (e: Envelope) => boolean = () => true, maxSteps = 100_000): number {
    let delivered = 0;
    while (this.queue.length > 0 && delivered < maxSteps) {
      const e = this.queue.shift() as Envelope;
      if (!keep(e)) continue;
      this.deliver(e);
      delivered++;
    }
    return delivered;
  }

  /** Moves time and ticks every node. */
  advance(ms: Millis): void {
    this.now += ms;
    for (const id of this.nodes.keys()) this.step(id, { type: 'tick' });
  }

  /** Effects of `id` since `from` (an index into its effect list). */
  effectsOf(id: NodeId, from = 0): PbftEffect[] {
    return (this.effects.get(id) ?? []).slice(from);
  }

  private deliver(e: Envelope): void {
    const node = this.nodes.get(e.to);
    if (!node) return;
    const decoded = decodeMessage(JSON.parse(JSON.stringify(e.msg)));
    if (!decoded.ok) {
      this.step(e.to, { type: 'refused', reason: 'malformed' });
      return;
    }
    if (verifyAll(decoded.value) !== null) {
      this.step(e.to, { type: 'refused', reason: 'bad-signature' });
      return;
    }
    this.step(e.to, { type: 'message', msg: decoded.value, from: e.from });
  }

  private apply(id: NodeId, effects: PbftEffect[]): void {
    const log = this.effects.get(id) as PbftEffect[];
    for (const effect of effects) {
      log.push(effect);
      switch (effect.type) {
        case 'persist': {
          const disk = this.disks.get(id) as Map<string, unknown>;
          for (const [key, value] of effect.writes) disk.set(key, structuredClone(value));
          for (const key of effect.deletes) disk.delete(key);
          break;
        }
        case 'sign':
          this.step(id, { type: 'signed', id: effect.id, sig: fakeSign(id, effect.text) });
          break;
        case 'send':
          this.queue.push({ from: id, to: effect.to, msg: effect.msg });
          break;
        case 'broadcast':
          for (const to of effect.to) this.queue.push({ from: id, to, msg: effect.msg });
          break;
        case 'client-result':
          this.results.push({ ...effect, node: id });
          break;
        case 'committed':
          this.committed.push({ node: id, seq: effect.seq, digest: effect.digest, ops: effect.entries.map((e) => e.op) });
          break;
        default:
          break;
      }
    }
  }
}
