// App channels (room.channel(name) in the app API, src/api/channel.ts): JSON or binary messages
// of up to 16 MiB to one node or to everyone, over direct links or routed over several hops.
// The pure core (src/core/channel) cuts, paces, acknowledges and reassembles; this service
// feeds it frames, time and the page's commands, and carries out its effects: frames to nodes,
// whole messages to the app (the 'channel' app event), and the replies to sends.
import { ChannelCore, type ChannelEvent, type ChannelInput, type ChannelMsg, type ChannelView } from '../../core/channel/index.ts';

import { EffectDriver } from '../effect-driver.ts';
import { GroupCommit } from '../group-commit.ts';
import type { MemberStatus } from '../../core/gossip/index.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { CommandError } from '../command-error.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';
import { checkChannelName, checkNodeId, checkSendId, encodeChannelData } from './app-channel-args.ts';

/** The app event each whole message becomes: { channel, from, data, binary }. */
export const channelEventName = 'channel';

/** What a send resolves with: how many receivers have the message, and how many could not be reached. */
export interface ChannelSendResult {
  delivered: number;
  failed: number;
}

/** The payload of the 'channel' app event. */
export interface ChannelEventPayload {
  channel: string;
  from: string;
  /** The JSON value, or a Uint8Array when `binary`. */
  data: unknown;
  binary: boolean;
}

interface Waiter {
  resolve(result: ChannelSendResult): void;
  reject(error: Error): void;
}

export interface AppChannelOptions {
  /** Every member known (gossip's list): a send to everyone goes to the live ones. */
  members: () => ReadonlyArray<{ id: NodeId; status: MemberStatus }>;
}

export class AppChannelService implements Service {
  readonly protocol = 'channel' as const;
  private ctx!: ServiceContext;
  private core!: ChannelCore;
  private driver!: EffectDriver<ChannelMsg, ChannelEvent>;
  private readonly waiters = new Map<string, Waiter>();
  private sendCounter = 0;

  constructor(private readonly options: AppChannelOptions) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.core = new ChannelCore(ctx.now(), ctx.rng);
    // Frames go to any node of the mesh: over a direct link, or routed.
    this.driver = new EffectDriver(new GroupCommit(ctx.storage, { now: () => ctx.now(), failed: () => {} }), {
      send: (to, msg) => ctx.sendTo(to, msg),
      event: (event) => this.onEffect(event),
      reenter: (fn) => ctx.reenter(fn),
      failed: (what, error) => ctx.reject(`${what} failed: ${String(error).slice(0, 120)}`),
    });
  }

  readonly commands = {
    /**
     * channelSend(channel, data, options?: { to?: nodeId, sendId?: string }): sends `data` (a
     * Uint8Array or ArrayBuffer as bytes, anything else as JSON) to `to`, or to every live member.
     * Resolves with { delivered, failed } once every receiver has acknowledged the whole message
     * (a send to one node rejects instead of failing). `sendId` names the send for channelCancel.
     */
    channelSend: (args: unknown[]): Promise<ChannelSendResult> => {
      const [rawChannel, data, rawOptions] = args;
      const channel = checkChannelName(rawChannel);
      const options = (rawOptions ?? {}) as { to?: unknown; sendId?: unknown };
      if (typeof options !== 'object' || options === null) throw new CommandError('channel-bad-argument', 'the options are an object: { to?, sendId? }');
      const to = options.to === undefined ? null : checkNodeId(options.to, this.ctx.self, 'to');
      const sendId = options.sendId === undefined ? `w${++this.sendCounter}` : checkSendId(options.sendId);
      if (this.waiters.has(sendId)) throw new CommandError('channel-bad-argument', `a send with id ${sendId} is already under way; use a fresh id`);
      const { enc, bytes } = encodeChannelData(data);
      const receivers = to ? [to] : this.liveMembers();
      const full = this.core.room(bytes.length, receivers.length);
      if (full) throw new CommandError('channel-busy', `${full}; wait for earlier sends to finish`);
      // The core keeps the bytes until every receiver has them: a copy, so a caller (a Node embedder
      // passing its own buffer) may reuse its buffer as soon as send() returns.
      const owned = bytes.slice();
      return new Promise<ChannelSendResult>((resolve, reject) => {
        this.waiters.set(sendId, { resolve, reject });
        this.step({ type: 'send', sendId, channel, enc, bytes: owned, to: receivers, everyone: to === null });
      });
    },
    /** channelCancel(sendId): stops a send under way; it rejects with 'channel-aborted'. Resolves with whether it was under way. */
    channelCancel: (args: unknown[]): boolean => {
      const sendId = checkSendId(args[0]);
      if (!this.waiters.has(sendId)) return false;
      this.step({ type: 'cancel', sendId });
      return true;
    },
    /**
     * channelInvalid(channel, origin): the app's validator refused a message `origin` sent on
     * `channel` (the page checks, the node counts and throttles the origin).
     */
    channelInvalid: (args: unknown[]): true => {
      const channel = checkChannelName(args[0]);
      if (typeof args[1] !== 'string') throw new CommandError('channel-bad-target', 'origin must be a node id');
      const origin = checkNodeId(args[1], this.ctx.self, 'origin');
      this.step({ type: 'invalid', origin, channel });
      return true;
    },
  };

  receive(from: NodeId, message: unknown): void {
    this.step({ type: 'message', from, msg: message });
  }

  onEvent(event: ServiceEvent): void {
    if (event.type === 'member-status' && (event.status === 'dead' || event.status === 'left')) this.step({ type: 'gone', node: event.peer });
    else if (event.type === 'peer-left-room') this.step({ type: 'gone', node: event.peer });
  }

  tick(): void {
    this.step({ type: 'tick' });
  }

  nextWakeAt(): Millis {
    return this.core.nextWakeAt();
  }

  snapshot(): Record<string, unknown> {
    return { channels: this.view() };
  }

  /** The core's counters and what it holds now (also under snapshot().channels). */
  view(): ChannelView {
    return this.core.view();
  }

  shutdown(): void {
    for (const [sendId, waiter] of this.waiters) waiter.reject(new CommandError('channel-closed', `the node is leaving; send ${sendId} did not finish`));
    this.waiters.clear();
  }

  private liveMembers(): NodeId[] {
    return this.options
      .members()
      .filter((m) => m.id !== this.ctx.self && (m.status === 'alive' || m.status === 'suspect'))
      .map((m) => m.id);
  }

  private step(input: ChannelInput): void {
    void this.driver.apply(this.core.step(this.ctx.now(), input));
  }

  /** The channel core's own effects (its sends are the driver's). */
  private onEffect(effect: ChannelEvent): void {
    switch (effect.type) {
      case 'deliver': {
        const payload: ChannelEventPayload = { channel: effect.channel, from: effect.origin, data: effect.data, binary: effect.binary };
        const transfer = effect.binary ? [(effect.data as Uint8Array<ArrayBuffer>).buffer] : [];
        this.ctx.publishEvent?.(channelEventName, payload, transfer);
        this.ctx.changed();
        return;
      }
      case 'sent': {
        const waiter = this.waiters.get(effect.sendId);
        this.waiters.delete(effect.sendId);
        waiter?.resolve({ delivered: effect.delivered, failed: effect.failed });
        this.ctx.changed();
        return;
      }
      case 'failed': {
        const waiter = this.waiters.get(effect.sendId);
        this.waiters.delete(effect.sendId);
        waiter?.reject(new CommandError(`channel-${effect.failure}`, effect.detail));
        this.ctx.changed();
        return;
      }
      case 'bad':
        this.ctx.misbehaved?.(effect.origin, effect.reason);
        this.ctx.changed();
        return;
    }
  }
}
