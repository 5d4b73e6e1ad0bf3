// A seeded network of channel cores for tests: frames queued between nodes, delivered in an
// order the seed picks, some duplicated or lost as the test asks; a virtual clock that jumps to
// the next time a core wants to wake. Every failure prints its seed.
import { ChannelCore, type ChannelEffect, type ChannelInput } from '../../../src/core/channel/index.ts';
import { createRng, type Rng } from '../../../src/core/rng.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';

export interface NetFaults {
  /** Chance that a frame is lost. */
  loss?: number;
  /** Chance that a frame is delivered twice. */
  duplicate?: number;
  /** Deliver frames in a seeded random order rather than first in, first out. */
  reorder?: boolean;
}

export interface Frame {
  from: NodeId;
  to: NodeId;
  msg: unknown;
}

export class ChannelNet {
  readonly nodes = new Map<NodeId, ChannelCore>();
  now: Millis = 1_000;
  readonly rng: Rng;
  queue: Frame[] = [];
  /** Every effect but sends, by node, in order. */
  readonly events = new Map<NodeId, ChannelEffect[]>();
  /** Every frame handed to the network, in order, with when. */
  readonly wire: Array<Frame & { at: Millis }> = [];
  /** Nodes whose frames go nowhere (crashed, or cut off). */
  readonly silenced = new Set<NodeId>();

  constructor(
    readonly seed: number,
    ids: string[],
    private readonly faults: NetFaults = {},
  ) {
    this.rng = createRng(seed);
    for (const id of ids) {
      this.nodes.set(id as NodeId, new ChannelCore(this.now, createRng(`${seed}/${id}`)));
      this.events.set(id as NodeId, []);
    }
  }

  step(id: string, input: ChannelInput): void {
    this.apply(id as NodeId, this.core(id).step(this.now, input));
  }

  core(id: string): ChannelCore {
    const core = this.nodes.get(id as NodeId);
    if (!core) throw new Error(`no node ${id}`);
    return core;
  }

  eventsOf(id: string): ChannelEffect[] {
    return this.events.get(id as NodeId) ?? [];
  }

  /** Delivers one frame (in the order the faults say); false when none is queued. */
  deliverOne(): boolean {
    if (this.queue.length === 0) return false;
    const index = this.faults.reorder ? this.rng.int(this.queue.length) : 0;
    const [frame] = this.queue.splice(index, 1) as [Frame];
    if (this.silenced.has(frame.to)) return true;
    this.step(frame.to, { type: 'message', from: frame.from, msg: frame.msg });
    return true;
  }

  /** Delivers frames and moves the clock to each next wake-up until `done()` or the budgets run out. */
  run(done: () => boolean, maxFrames = 200_000, maxMs: Millis = 600_000): void {
    const endAt = this.now + maxMs;
    for (let frames = 0; frames < maxFrames; frames++) {
      if (done()) return;
      if (this.deliverOne()) continue;
      let next = Infinity;
      for (const [id, core] of this.nodes) if (!this.silenced.has(id)) next = Math.min(next, core.nextWakeAt());
      if (next === Infinity || next > endAt) return;
      this.now = Math.max(this.now, next);
      for (const [id] of this.nodes) if (!this.silenced.has(id)) this.step(id, { type: 'tick' });
    }
  }

  private apply(id: NodeId, effects: ChannelEffect[]): void {
    for (const effect of effects) {
      if (effect.type !== 'send') {
        this.eventsOf(id).push(effect);
        continue;
      }
      const frame = { from: id, to: effect.to, msg: structuredClone(effect.msg) };
      this.wire.push({ ...frame, at: this.now });
      if (this.silenced.has(id)) continue;
      if (this.faults.loss && this.rng.next() < this.faults.loss) continue;
      this.queue.push(frame);
      if (this.faults.duplicate && this.rng.next() < this.faults.duplicate) this.queue.push({ ...frame, msg: structuredClone(frame.msg) });
    }
  }
}

/** `n` bytes that differ from one seed to another. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

export const deliveries = (net: ChannelNet, id: string) => net.eventsOf(id).filter((e) => e.type === 'deliver');
export const outcome = (net: ChannelNet, id: string, sendId: string) =>
  net.eventsOf(id).find((e) => (e.type === 'sent' || e.type === 'failed') && e.sendId === sendId);

/** Byte-wise equality (expect().toEqual on large arrays is slow). */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
