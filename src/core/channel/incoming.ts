// The receiving half of channels: chunks reassembled whatever order they come in, each one
// acknowledged, duplicates acknowledged again but delivered once, bounds on what is held, and a
// budget of bad messages per origin beyond which the origin is throttled.
import type { Millis, NodeId } from '../types.ts';
import { createThrottle, type Throttle } from '../overlay/throttle.ts';
import { fromBase64 } from './base64.ts';
import {
  badMessageBurst,
  chunkBytes,
  badMessageRatePerS,
  incomingIdleMs,
  maxChannelMessageBytes,
  maxIncomingBytes,
  maxIncomingPerOrigin,
  maxRememberedTransfers,
  maxTrackedOrigins,
  rememberTransferMs,
  throttleMs,
} from './limits.ts';
import { chunkCount, chunkLength, type ChannelEncoding, type ChunkMsg } from './messages.ts';
import type { ChannelCounters, ChannelEffect } from './types.ts';

/** Transfer ids of a throttled origin already told so (it is told once per transfer). */
const maxRefusedIdsPerOrigin = 64;

interface Partial {
  origin: NodeId;
  id: string;
  channel: string;
  enc: ChannelEncoding;
  size: number;
  n: number;
  pieces: Array<Uint8Array | undefined>;
  have: number;
  lastAt: Millis;
}

interface OriginState {
  bad: Throttle;
  throttledUntil: Millis;
  refusedIds: string[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export class Incoming {
  private readonly partials = new Map<string, Partial>();
  private readonly perOrigin = new Map<NodeId, number>();
  private heldBytes = 0;
  /** Finished transfers (origin + id) and when, oldest first. */
  private readonly done = new Map<string, Millis>();
  private readonly origins = new Map<NodeId, OriginState>();

  constructor(private readonly counters: ChannelCounters) {}

  get transfers(): number {
    return this.partials.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  throttled(now: Millis): Array<{ origin: NodeId; until: Millis }> {
    return [...this.origins].filter(([, s]) => s.throttledUntil > now).map(([origin, s]) => ({ origin, until: s.throttledUntil }));
  }

  chunk(now: Millis, origin: NodeId, msg: ChunkMsg, out: ChannelEffect[]): void {
    const key = `${origin} ${msg.id}`;
    const state = this.origin(origin, now);
    if (state.throttledUntil > now) {
      this.count('from a throttled origin');
      if (!state.refusedIds.includes(msg.id)) {
        state.refusedIds.push(msg.id);
        if (state.refusedIds.length > maxRefusedIdsPerOrigin) state.refusedIds.shift();
        out.push({ type: 'send', to: origin, msg: { t: 'x', id: msg.id, why: 'throttled' } });
      }
      return;
    }
    const ack = () => out.push({ type: 'send', to: origin, msg: { t: 'a', id: msg.id, seq: msg.seq } });
    if (this.done.has(key)) {
      this.counters.duplicates++;
      ack();
      return;
    }
    let partial = this.partials.get(key);
    if (!partial) {
      if (msg.size > maxChannelMessageBytes) {
        out.push({ type: 'send', to: origin, msg: { t: 'x', id: msg.id, why: 'too-large' } });
        this.bad(now, origin, `message of ${msg.size} bytes over the ${maxChannelMessageBytes}-byte limit`, out);
        return;
      }
      if (msg.n !== chunkCount(msg.size)) {
        out.push({ type: 'send', to: origin, msg: { t: 'x', id: msg.id, why: 'malformed' } });
        this.bad(now, origin, 'chunk count does not match the size', out);
        return;
      }
      // Full: not acknowledged, so the sender sends it again later (and gives up if this lasts).
      if ((this.perOrigin.get(origin) ?? 0) >= maxIncomingPerOrigin || this.heldBytes + msg.size > maxIncomingBytes) {
        this.count('receiver busy');
        return;
      }
      partial = {
        origin,
        id: msg.id,
        channel: msg.ch,
        enc: msg.enc,
        size: msg.size,
        n: msg.n,
        pieces: new Array<Uint8Array | undefined>(msg.n),
        have: 0,
        lastAt: now,
      };
      this.partials.set(key, partial);
      this.perOrigin.set(origin, (this.perOrigin.get(origin) ?? 0) + 1);
      this.heldBytes += msg.size;
    }
    if (msg.ch !== partial.channel || msg.enc !== partial.enc || msg.size !== partial.size || msg.n !== partial.n || msg.seq >= partial.n) {
      this.bad(now, origin, 'chunk does not match its transfer', out);
      return;
    }
    const piece = fromBase64(msg.d);
    if (!piece || piece.length !== chunkLength(partial.size, msg.seq)) {
      this.bad(now, origin, 'chunk data is not base64 of the expected length', out);
      return;
    }
    partial.lastAt = now;
    if (partial.pieces[msg.seq]) {
      this.counters.duplicates++;
      ack();
      return;
    }
    partial.pieces[msg.seq] = piece;
    partial.have++;
    ack();
    if (partial.have === partial.n) this.complete(now, key, partial, out);
  }

  /** The app's validator refused a message of `origin`: a bad message like any other. */
  invalid(now: Millis, origin: NodeId, channel: string, out: ChannelEffect[]): void {
    this.counters.invalid[channel] = (this.counters.invalid[channel] ?? 0) + 1;
    this.bad(now, origin, "failed the app's validator", out);
  }

  /** Something `origin` sent is bad: counted, charged to its budget, and past it the origin is throttled. */
  bad(now: Millis, origin: NodeId, reason: string, out: ChannelEffect[]): void {
    this.count(reason);
    const state = this.origin(origin, now);
    if (!state.bad.admit(now) && state.throttledUntil <= now) {
      state.throttledUntil = now + throttleMs;
      state.refusedIds = [];
      this.count('origin throttled');
      // What it had half sent is dropped: none of it will be taken now.
      for (const [key, partial] of this.partials) if (partial.origin === origin) this.forget(key, partial);
    }
    out.push({ type: 'bad', origin, reason });
  }

  /** Drops half-received messages whose sender went quiet, and forgets old finished ones. */
  tick(now: Millis): void {
    for (const [key, partial] of this.partials) {
      if (now - partial.lastAt < incomingIdleMs) continue;
      this.forget(key, partial);
      this.count('sender lost mid-transfer');
    }
    for (const [key, at] of this.done) {
      if (now - at < rememberTransferMs && this.done.size <= maxRememberedTransfers) break;
      this.done.delete(key);
    }
  }

  nextWakeAt(): Millis {
    let next = Infinity;
    for (const partial of this.partials.values()) next = Math.min(next, partial.lastAt + incomingIdleMs);
    const oldest = this.done.values().next();
    if (!oldest.done) next = Math.min(next, oldest.value + rememberTransferMs);
    return next;
  }

  private complete(now: Millis, key: string, partial: Partial, out: ChannelEffect[]): void {
    this.forget(key, partial);
    this.done.set(key, now);
    if (this.done.size > maxRememberedTransfers) this.done.delete(this.done.keys().next().value as string);
    const bytes = new Uint8Array(partial.size);
    partial.pieces.forEach((piece, seq) => bytes.set(piece as Uint8Array, seq * chunkBytes));
    let data: unknown = bytes;
    if (partial.enc === 'j') {
      try {
        data = JSON.parse(decoder.decode(bytes)) as unknown;
      } catch {
        this.bad(now, partial.origin, 'message is not UTF-8 JSON', out);
        return;
      }
    }
    this.counters.received++;
    this.counters.receivedBytes += partial.size;
    out.push({ type: 'deliver', origin: partial.origin, channel: partial.channel, binary: partial.enc === 'b', data, bytes: partial.size });
  }

  private forget(key: string, partial: Partial): void {
    if (!this.partials.delete(key)) return;
    this.heldBytes -= partial.size;
    const left = (this.perOrigin.get(partial.origin) ?? 1) - 1;
    if (left > 0) this.perOrigin.set(partial.origin, left);
    else this.perOrigin.delete(partial.origin);
  }

  private origin(origin: NodeId, now: Millis): OriginState {
    let state = this.origins.get(origin);
    if (state) {
      this.origins.delete(origin);
      this.origins.set(origin, state);
      return state;
    }
    if (this.origins.size >= maxTrackedOrigins) {
      // The least recently heard goes, unless it is throttled: then the oldest that is not.
      for (const [id, s] of this.origins) {
        if (s.throttledUntil <= now) {
          this.origins.delete(id);
          break;
        }
      }
    }
    state = {
      bad: createThrottle({ burstMsgs: badMessageBurst, ratePerS: badMessageRatePerS, floodDropsPerWindow: 1, windowMs: throttleMs }, now),
      throttledUntil: 0,
      refusedIds: [],
    };
    this.origins.set(origin, state);
    return state;
  }

  private count(reason: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
  }
}
