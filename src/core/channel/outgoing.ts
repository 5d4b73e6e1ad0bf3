// The sending half of channels: messages cut into chunks, a window of chunks in flight per
// transfer, a node-wide pace (a token bucket of chunk bytes), retransmission of what is not
// acknowledged, and giving up on a receiver that stays silent. Transfers to one node on one
// channel go one after another (FIFO), so a receiver gets them in the order they were sent.
import type { Millis, NodeId } from '../types.ts';
import { toBase64 } from './base64.ts';
import { chunkBytes, giveUpAfterMs, maxActiveTransfers, retransmitAfterMs, sendBurstBytes, sendRateBytesPerS, windowChunks } from './limits.ts';
import { chunkCount, type ChannelEncoding, type RefuseReason } from './messages.ts';
import type { ChannelCounters, ChannelEffect, SendFailure } from './types.ts';

/** Least bytes a chunk costs against the pace, so a stream of tiny messages is paced too. */
const minChunkCostBytes = 1_024;

interface Transfer {
  id: string;
  sendId: string;
  to: NodeId;
  channel: string;
  enc: ChannelEncoding;
  bytes: Uint8Array;
  n: number;
  /** The next piece never sent. */
  nextSeq: number;
  /** Pieces sent and not acknowledged, with when each was last sent. */
  unacked: Map<number, Millis>;
  acked: Uint8Array;
  ackedCount: number;
  /** When the receiver last acknowledged something new (or the transfer started). */
  progressAt: Millis;
  started: boolean;
}

interface Send {
  remaining: number;
  delivered: number;
  failed: number;
  everyone: boolean;
}

export class Outgoing {
  /** Every transfer not finished, in the order accepted. */
  private queue: Transfer[] = [];
  private readonly byId = new Map<string, Transfer>();
  private readonly sends = new Map<string, Send>();
  private tokens = sendBurstBytes;
  private refilledAt: Millis;
  /** Bytes of unfinished transfers not yet acknowledged. */
  private pendingBytes = 0;
  private counter = 0;
  /** When the pace would let the next waiting chunk go (Infinity: nothing waits on it). */
  private tokensWakeAt: Millis = Infinity;

  constructor(
    now: Millis,
    /** Makes transfer ids unique across restarts (a receiver remembers finished ones). */
    private readonly idPrefix: string,
    private readonly counters: ChannelCounters,
  ) {
    this.refilledAt = now;
  }

  get transfers(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.pendingBytes;
  }

  add(
    now: Millis,
    sendId: string,
    channel: string,
    enc: ChannelEncoding,
    bytes: Uint8Array,
    to: readonly NodeId[],
    everyone: boolean,
    out: ChannelEffect[],
  ): void {
    const send: Send = { remaining: to.length, delivered: 0, failed: 0, everyone };
    this.sends.set(sendId, send);
    if (to.length === 0) {
      this.finishSend(sendId, send, out);
      return;
    }
    for (const node of to) {
      const n = chunkCount(bytes.length);
      const transfer: Transfer = {
        id: `${this.idPrefix}.${(++this.counter).toString(36)}`,
        sendId,
        to: node,
        channel,
        enc,
        bytes,
        n,
        nextSeq: 0,
        unacked: new Map(),
        acked: new Uint8Array(n),
        ackedCount: 0,
        progressAt: now,
        started: false,
      };
      this.queue.push(transfer);
      this.byId.set(transfer.id, transfer);
      this.pendingBytes += bytes.length;
    }
  }

  ack(now: Millis, from: NodeId, id: string, seq: number, out: ChannelEffect[]): void {
    const transfer = this.byId.get(id);
    if (!transfer || transfer.to !== from || seq >= transfer.n || transfer.acked[seq] === 1) return;
    transfer.acked[seq] = 1;
    transfer.ackedCount++;
    transfer.unacked.delete(seq);
    transfer.progressAt = now;
    this.pendingBytes -= Math.min(chunkBytes, transfer.bytes.length - seq * chunkBytes);
    if (transfer.ackedCount < transfer.n) return;
    this.counters.sent++;
    this.counters.sentBytes += transfer.bytes.length;
    this.finish(transfer, null, '', out);
  }

  refused(from: NodeId, id: string, why: RefuseReason, out: ChannelEffect[]): void {
    const transfer = this.byId.get(id);
    if (!transfer || transfer.to !== from) return;
    const failure: SendFailure = why === 'throttled' ? 'throttled' : 'refused';
    this.finish(transfer, failure, `${from.slice(0, 8)} refused the message (${why})`, out);
  }

  cancel(sendId: string, out: ChannelEffect[]): void {
    const send = this.sends.get(sendId);
    if (!send) return;
    for (const transfer of this.queue.filter((t) => t.sendId === sendId)) this.drop(transfer);
    this.sends.delete(sendId);
    this.counters.failed.aborted++;
    out.push({ type: 'failed', sendId, failure: 'aborted', detail: 'the send was aborted' });
  }

  gone(node: NodeId, out: ChannelEffect[]): void {
    for (const transfer of this.queue.filter((t) => t.to === node)) this.finish(transfer, 'undeliverable', `${node.slice(0, 8)} left the room`, out);
  }

  /** Gives up on silent receivers, then sends what the windows and the pace allow. */
  pump(now: Millis, out: ChannelEffect[]): void {
    if (now > this.refilledAt) {
      this.tokens = Math.min(sendBurstBytes, this.tokens + ((now - this.refilledAt) * sendRateBytesPerS) / 1000);
      this.refilledAt = now;
    }
    for (const transfer of this.queue.filter((t) => t.started && now - t.progressAt >= giveUpAfterMs)) {
      this.finish(transfer, 'undeliverable', `${transfer.to.slice(0, 8)} acknowledged nothing for ${giveUpAfterMs / 1000} s`, out);
    }
    this.tokensWakeAt = Infinity;
    const active = this.active();
    // Round robin, one chunk per transfer per round, so transfers share the pace fairly.
    for (let progress = true; progress;) {
      progress = false;
      for (const transfer of active) {
        const seq = this.nextPiece(now, transfer);
        if (seq === null) continue;
        const cost = Math.max(minChunkCostBytes, Math.min(chunkBytes, transfer.bytes.length - seq * chunkBytes));
        if (this.tokens < cost) {
          this.tokensWakeAt = now + Math.ceil(((cost - this.tokens) * 1000) / sendRateBytesPerS);
          return;
        }
        this.tokens -= cost;
        if (transfer.unacked.has(seq)) this.counters.retransmits++;
        else if (seq === transfer.nextSeq) transfer.nextSeq++;
        if (!transfer.started) {
          transfer.started = true;
          transfer.progressAt = now;
        }
        transfer.unacked.set(seq, now);
        out.push({ type: 'send', to: transfer.to, msg: this.chunk(transfer, seq) });
        progress = true;
      }
    }
  }

  /** When pump() has something to do next (a retransmission, giving up, the pace). */
  nextWakeAt(): Millis {
    let next = this.tokensWakeAt;
    for (const transfer of this.active()) {
      if (!transfer.started) continue;
      next = Math.min(next, transfer.progressAt + giveUpAfterMs);
      for (const sentAt of transfer.unacked.values()) next = Math.min(next, sentAt + retransmitAfterMs);
    }
    return next;
  }

  /** A piece of `transfer` due now: one not acknowledged in time, else a new one if the window allows. */
  private nextPiece(now: Millis, transfer: Transfer): number | null {
    for (const [seq, sentAt] of transfer.unacked) if (now - sentAt >= retransmitAfterMs) return seq;
    if (transfer.unacked.size >= windowChunks) return null;
    return transfer.nextSeq < transfer.n ? transfer.nextSeq : null;
  }

  /** The transfers that may send now: the first of each (receiver, channel), at most maxActiveTransfers. */
  private active(): Transfer[] {
    const heads: Transfer[] = [];
    const seen = new Set<string>();
    for (const transfer of this.queue) {
      const key = `${transfer.to} ${transfer.channel}`;
      if (seen.has(key)) continue;
      seen.add(key);
      heads.push(transfer);
      if (heads.length >= maxActiveTransfers) break;
    }
    return heads;
  }

  private chunk(transfer: Transfer, seq: number) {
    const start = seq * chunkBytes;
    return {
      t: 'c' as const,
      id: transfer.id,
      ch: transfer.channel,
      seq,
      n: transfer.n,
      size: transfer.bytes.length,
      enc: transfer.enc,
      d: toBase64(transfer.bytes.subarray(start, Math.min(transfer.bytes.length, start + chunkBytes))),
    };
  }

  private finish(transfer: Transfer, failure: SendFailure | null, detail: string, out: ChannelEffect[]): void {
    this.drop(transfer);
    const send = this.sends.get(transfer.sendId);
    if (!send) return;
    send.remaining--;
    if (failure === null) send.delivered++;
    else {
      send.failed++;
      this.counters.failed[failure]++;
      if (!send.everyone) {
        // A send to one node has one transfer: it failed.
        this.sends.delete(transfer.sendId);
        out.push({ type: 'failed', sendId: transfer.sendId, failure, detail });
        return;
      }
    }
    if (send.remaining === 0) this.finishSend(transfer.sendId, send, out);
  }

  private finishSend(sendId: string, send: Send, out: ChannelEffect[]): void {
    this.sends.delete(sendId);
    out.push({ type: 'sent', sendId, delivered: send.delivered, failed: send.failed });
  }

  private drop(transfer: Transfer): void {
    if (!this.byId.delete(transfer.id)) return;
    this.queue = this.queue.filter((t) => t !== transfer);
    let unackedBytes = 0;
    for (let seq = 0; seq < transfer.n; seq++) if (transfer.acked[seq] === 0) unackedBytes += Math.min(chunkBytes, transfer.bytes.length - seq * chunkBytes);
    this.pendingBytes -= unackedBytes;
  }
}
