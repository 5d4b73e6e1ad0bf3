// Inputs and effects of the channel core (core.ts): a pure state machine, step(now, input) →
// effects, like the other cores. The runtime's channel service feeds it and carries them out.
import type { Millis, NodeId } from '../types.ts';
import type { ChannelEncoding, ChannelMsg } from './messages.ts';
import type { SendEffect } from '../effects.ts';

export type ChannelInput =
  /**
   * Send one message to each node of `to` (the members alive now, for everyone). `bytes` is the
   * message (JSON text as UTF-8 for 'j'); the core keeps it until every receiver has it.
   */
  | { type: 'send'; sendId: string; channel: string; enc: ChannelEncoding; bytes: Uint8Array; to: readonly NodeId[]; everyone: boolean }
  /** The app gave up on a send (its AbortSignal): its transfers stop. */
  | { type: 'cancel'; sendId: string }
  /** A channel frame from `from`: the node that wrote it (a direct link, or a routed message's checked origin). */
  | { type: 'message'; from: NodeId; msg: unknown }
  /** The app's validator refused a message `origin` sent on `channel`: counted as a bad message of it. */
  | { type: 'invalid'; origin: NodeId; channel: string }
  /** `node` is no longer in the room (dead or left): transfers to it fail now rather than after a timeout. */
  | { type: 'gone'; node: NodeId }
  | { type: 'tick' };

/** Why a send failed (the app API's error codes, prefixed 'channel-' by the service). */
export type SendFailure = 'undeliverable' | 'throttled' | 'refused' | 'aborted';

/** The channel core's own effects; its sends are the shared vocabulary (src/core/effects.ts). */
export type ChannelEvent =
  /** A whole message arrived: `data` is the JSON value, or the bytes (binary). */
  | { type: 'deliver'; origin: NodeId; channel: string; binary: boolean; data: unknown; bytes: number }
  /** Every receiver of a send has it (for everyone: `delivered` of them did, `failed` did not). */
  | { type: 'sent'; sendId: string; delivered: number; failed: number }
  /** A send to one node failed, or was cancelled. */
  | { type: 'failed'; sendId: string; failure: SendFailure; detail: string }
  /** `origin` sent something bad (counted; the node's abuse guard hears of it). */
  | { type: 'bad'; origin: NodeId; reason: string };

export type ChannelEffect = SendEffect<ChannelMsg> | ChannelEvent;

export interface ChannelCounters {
  /** Whole messages this node sent and its receivers acknowledged (one per receiver). */
  sent: number;
  sentBytes: number;
  /** Whole messages delivered to the app here. */
  received: number;
  receivedBytes: number;
  /** Chunks sent again after no acknowledgement came. */
  retransmits: number;
  /** Chunks that arrived twice (acknowledged again, not delivered twice). */
  duplicates: number;
  /** Sends (or one receiver of a send to everyone) that failed, by why. */
  failed: Record<SendFailure, number>;
  /** Bad input from peers, by reason: counted and dropped. */
  dropped: Record<string, number>;
  /** Messages the app's validator refused, by channel. */
  invalid: Record<string, number>;
}

export interface ChannelView {
  counters: ChannelCounters;
  /** Messages waiting to be sent or being sent (one per receiver). */
  outgoing: number;
  /** Bytes of them not yet acknowledged. */
  outgoingBytes: number;
  /** Half-received messages held. */
  incoming: number;
  incomingBytes: number;
  /** Origins whose channel messages are refused for now, and until when (the core's clock). */
  throttled: Array<{ origin: NodeId; until: Millis }>;
}
