// App channels between nodes, as a pure state machine (no clock, timers or I/O: time comes in
// with each step). One node's sending half (outgoing.ts) and receiving half (incoming.ts).
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { Incoming } from './incoming.ts';
import { maxQueuedSendBytes, maxQueuedTransfers } from './limits.ts';
import { decodeChannelMessage } from './messages.ts';
import { Outgoing } from './outgoing.ts';
import type { ChannelCounters, ChannelEffect, ChannelInput, ChannelView } from './types.ts';

export class ChannelCore {
  readonly counters: ChannelCounters = {
    sent: 0,
    sentBytes: 0,
    received: 0,
    receivedBytes: 0,
    retransmits: 0,
    duplicates: 0,
    failed: { undeliverable: 0, throttled: 0, refused: 0, aborted: 0 },
    dropped: {},
    invalid: {},
  };
  private readonly outgoing: Outgoing;
  private readonly incoming = new Incoming(this.counters);
  private now: Millis;

  constructor(now: Millis, rng: Rng) {
    this.now = now;
    this.outgoing = new Outgoing(now, rng.int(36 ** 6).toString(36), this.counters);
  }

  /**
   * Whether a send of `bytes` to `receivers` nodes fits what this node holds for sending now;
   * when not, why (the service refuses it as busy, before step()).
   */
  room(bytes: number, receivers: number): string | null {
    if (this.outgoing.transfers + receivers > maxQueuedTransfers)
      return `${this.outgoing.transfers} messages are waiting to be sent (at most ${maxQueuedTransfers})`;
    if (this.outgoing.bytes + bytes * receivers > maxQueuedSendBytes)
      return `${this.outgoing.bytes} bytes are waiting to be sent (at most ${maxQueuedSendBytes})`;
    return null;
  }

  step(now: Millis, input: ChannelInput): ChannelEffect[] {
    if (now > this.now) this.now = now;
    const out: ChannelEffect[] = [];
    switch (input.type) {
      case 'send':
        this.outgoing.add(this.now, input.sendId, input.channel, input.enc, input.bytes, input.to, input.everyone, out);
        break;
      case 'cancel':
        this.outgoing.cancel(input.sendId, out);
        break;
      case 'message':
        this.receive(input.from, input.msg, out);
        break;
      case 'invalid':
        this.incoming.invalid(this.now, input.origin, input.channel, out);
        break;
      case 'gone':
        this.outgoing.gone(input.node, out);
        break;
      case 'tick':
        this.incoming.tick(this.now);
        break;
    }
    this.outgoing.pump(this.now, out);
    return out;
  }

  nextWakeAt(): Millis {
    return Math.min(this.outgoing.nextWakeAt(), this.incoming.nextWakeAt());
  }

  view(): ChannelView {
    return {
      counters: structuredClone(this.counters),
      outgoing: this.outgoing.transfers,
      outgoingBytes: this.outgoing.bytes,
      incoming: this.incoming.transfers,
      incomingBytes: this.incoming.bytes,
      throttled: this.incoming.throttled(this.now),
    };
  }

  private receive(from: NodeId, raw: unknown, out: ChannelEffect[]): void {
    const decoded = decodeChannelMessage(raw);
    if (!decoded.ok) {
      // One reason for every shape of garbage: counters are keyed by reason, and the sender chooses the shape.
      this.incoming.bad(this.now, from, 'malformed channel message', out);
      return;
    }
    const msg = decoded.value;
    switch (msg.t) {
      case 'c':
        this.incoming.chunk(this.now, from, msg, out);
        return;
      case 'a':
        this.outgoing.ack(this.now, from, msg.id, msg.seq, out);
        return;
      case 'x':
        this.outgoing.refused(from, msg.id, msg.why, out);
        return;
    }
  }
}
