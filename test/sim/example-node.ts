// The smallest useful SimNode, used by the simulator's own tests and shown in README.md:
// every node holds a number, tells a random peer about it every `periodMs`, and keeps the
// largest number it has heard of, persisted. All nodes converge on the maximum.
import type { Millis, NodeId } from '../../src/core/types.ts';
import type { SimNode, SimNodeContext } from './cluster.ts';

export type MaxMsg = { type: 'max'; value: number };

export class MaxNode implements SimNode<MaxMsg> {
  value: number;
  private nextSendAt: Millis;
  received = 0;

  constructor(
    private readonly ctx: SimNodeContext<MaxMsg>,
    private readonly peers: () => readonly NodeId[],
    private readonly periodMs: Millis = 100,
  ) {
    // Restart from what the disk durably holds; a fresh node draws a number.
    const saved = ctx.storage.get('max');
    this.value = typeof saved === 'number' ? saved : ctx.rng.int(1_000_000);
    if (saved === undefined) ctx.storage.set('max', this.value);
    this.nextSendAt = ctx.now() + ctx.rng.int(periodMs);
  }

  deliver(_now: Millis, _from: NodeId, msg: MaxMsg): void {
    this.received++;
    if (msg.type === 'max' && typeof msg.value === 'number' && msg.value > this.value) {
      this.value = msg.value;
      this.ctx.storage.set('max', this.value);
      this.ctx.emit({ type: 'raised', value: msg.value });
    }
  }

  tick(now: Millis): void {
    if (now < this.nextSendAt) return;
    const others = this.peers().filter((p) => p !== this.ctx.id);
    const to = this.ctx.rng.pick(others);
    if (to !== undefined) this.ctx.send(to, { type: 'max', value: this.value });
    this.nextSendAt = now + this.periodMs;
  }

  nextWakeAt(): Millis {
    return this.nextSendAt;
  }
}
