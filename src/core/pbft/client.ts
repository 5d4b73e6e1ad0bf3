// The client side of pBFT, pure: a node has one outstanding request at a time (the paper's
// client), sends it to the primary it believes in, re-sends it to every replica when replies
// are slow, and takes the result once f+1 replicas reply with the same sequence number and
// results (at least one of them is honest, so the result is the committed one). Requests are
// numbered by `ts`, increasing per client: replicas use (client, ts) to execute each request
// once and to re-send the reply of the last one.
//
// Many operations may be open at once (up to maxClientQueue): whatever queued up while a
// request was outstanding goes out packed into the next request (`more`, up to
// maxOpsPerRequest and within a batch's bytes), which runs as one request — one ts, one
// signature, one reply with a result per operation. Each operation still ends with its own
// client-result event, once its request is committed. Why not several requests in flight per client
// instead: the replicated state keeps only each client's last ts (ts ≤ last means "done"), so
// requests overtaking each other (a lost one, another route, a new primary) would silently
// skip the older ones; one packed request keeps that rule exact and costs one signature
// (and one verification per replica) for the whole pack.
//
// Usage (a runtime, or PbftReplica which embeds one):
//   effects = client.step(now, { type: 'config', epoch, replicas, primary })   on every change
//   effects = client.step(now, { type: 'submit', op, tag })
//   for a 'sign' effect: sig = sign(effect.text); client.step(now, { type: 'signed', id, sig })
//   for a 'broadcast' effect: send effect.msg to each of effect.to
//   a verified reply from the wire: client.step(now, { type: 'reply', msg })
//   the reply of this node's own replica (PbftReplica): { type: 'reply', msg, own: true }
//   at client.nextWakeAt(): client.step(now, { type: 'tick' })
//   a 'client-result' event: the operation finished (ok with seq and result, or failed with a reason)
// Its effects are the shared vocabulary (src/core/effects.ts) plus that one event, so an embedding
// replica relays them as they are (replica-core.ts, clientEffect).
import type { BroadcastEffect, SignEffect } from '../effects.ts';
import type { Millis, NodeId } from '../types.ts';
import { defaultPbftParams, defaultPbftTiming, maxClientQueue, maxNodeIdChars, maxOpsPerRequestOnWire, maxSigChars } from './constants.ts';
import { canonicalBytes } from './json.ts';
import { canonicalUtf8Length } from './utf8.ts';
import type { PbftMessage, ReplyBody, RequestBody, Signed } from './messages.ts';
import { decodeOp, type Op } from './ops.ts';
import { faultsTolerated } from './quorum.ts';
import type { ClientResultEvent } from './types.ts';

export type ClientInput =
  | { type: 'submit'; op: unknown; tag?: string }
  | { type: 'signed'; id: number; sig: string }
  /**
   * A reply. `own`: from this node's own replica, which executed the request in the committed
   * order after seeing a commit certificate (never tentatively). Such a reply alone settles the
   * request when that replica is in the replica set of the reply's epoch: a node does not need
   * f+1 others to vouch for what it has checked itself (a committed certificate at an honest
   * replica means every honest replica executes the same at that number; and if this node is
   * not honest, only its own user is misled, as by any other lie it tells itself). The f+1
   * rule remains for every other client, and for this one when it is not a replica.
   */
  | { type: 'reply'; msg: Signed<ReplyBody>; own?: boolean }
  | { type: 'config'; epoch: number; replicas: readonly NodeId[]; primary: NodeId | null }
  | { type: 'tick' };

/**
 * `sign` the request's canonical bytes as this node; `broadcast` the signed request; and how each
 * operation ended, a `client-result` (the replica core's event of that name, passed on as it is).
 */
export type ClientEffect = (SignEffect & { signer: NodeId }) | BroadcastEffect<PbftMessage<RequestBody>> | ClientResultEvent;

export interface ClientOptions {
  retransmitMs?: Millis;
  timeoutMs?: Millis;
  /** Most operations packed into one request (default defaultPbftTiming.maxOpsPerRequest). */
  maxOpsPerRequest?: number;
  /** A signed request must fit in a batch of this many UTF-8 bytes (the room's maxBatchBytes). */
  maxRequestBytes?: number;
  /** The last request number used before a restart, so numbers keep increasing. */
  lastTs?: number;
}

interface Queued {
  tag?: string;
  op: Op;
  submittedAt: Millis;
}

interface Outstanding {
  /** The packed operations, in request order (the first is the body's `op`). */
  items: Queued[];
  ts: number;
  body: RequestBody;
  signId: number;
  signed?: PbftMessage<RequestBody>;
  /** When the oldest packed operation was submitted (the request's deadline counts from it). */
  submittedAt: Millis;
  retransmitAt: Millis;
  attempts: number;
  /** signer → canonical (seq, result) it replied with. */
  replies: Map<NodeId, string>;
}

/** Configs the client remembers, to count replies sent just before a membership change. */
const rememberedConfigs = 4;
/** Retransmissions back off up to this multiple of the first interval. */
const maxRetransmitBackoff = 8;
/** UTF-8 bytes a signed request adds around its body in a batch: signer and signature (ASCII: a key and base64url), keys, brackets. */
const signedRequestOverheadBytes = maxNodeIdChars + maxSigChars + 64;

export class PbftClient {
  private readonly retransmitMs: Millis;
  private readonly timeoutMs: Millis;
  private readonly maxOpsPerRequest: number;
  private readonly maxRequestBytes: number;
  private lastTs: number;
  private nextSignId = 1;
  private readonly queue: Queued[] = [];
  private current: Outstanding | undefined;
  private configs: Array<{ epoch: number; replicas: readonly NodeId[] }> = [];
  private primary: NodeId | null = null;
  private out: ClientEffect[] = [];
  /** Replies that matched nothing outstanding, or came from a stranger. */
  ignoredReplies = 0;

  constructor(
    readonly id: NodeId,
    options: ClientOptions = {},
  ) {
    this.retransmitMs = options.retransmitMs ?? defaultPbftTiming.clientRetransmitMs;
    this.timeoutMs = options.timeoutMs ?? defaultPbftTiming.clientTimeoutMs;
    this.lastTs = options.lastTs ?? 0;
    this.maxOpsPerRequest = Math.max(1, Math.min(maxOpsPerRequestOnWire, options.maxOpsPerRequest ?? defaultPbftTiming.maxOpsPerRequest));
    this.maxRequestBytes = options.maxRequestBytes ?? defaultPbftParams.maxBatchBytes;
  }

  step(now: Millis, input: ClientInput): ClientEffect[] {
    this.out = [];
    switch (input.type) {
      case 'submit':
        this.submit(now, input.op, input.tag);
        break;
      case 'signed':
        this.onSigned(now, input.id, input.sig);
        break;
      case 'reply':
        this.onReply(now, input.msg, input.own === true);
        break;
      case 'config':
        this.onConfig(input.epoch, input.replicas, input.primary);
        break;
      case 'tick':
        this.onTick(now);
        break;
    }
    return this.out;
  }

  nextWakeAt(): Millis | undefined {
    if (!this.current) return undefined;
    return Math.min(this.current.retransmitAt, this.current.submittedAt + this.timeoutMs);
  }

  /** The highest request number used (persist it to keep numbers increasing across restarts). */
  get lastRequestNumber(): number {
    return this.lastTs;
  }

  /** Operations open: queued, and packed into the outstanding request. */
  pending(): number {
    return this.queue.length + (this.current?.items.length ?? 0);
  }

  private submit(now: Millis, raw: unknown, tag: string | undefined): void {
    const decoded = decodeOp(raw);
    if (!decoded.ok) {
      this.out.push({ type: 'client-result', tag, ok: false, reason: `refused: ${decoded.error}` });
      return;
    }
    if (this.pending() >= maxClientQueue) {
      this.out.push({ type: 'client-result', tag, ok: false, reason: `refused: ${maxClientQueue} operations are already open; wait for some to commit` });
      return;
    }
    this.queue.push({ tag, op: decoded.value, submittedAt: now });
    this.startNext(now);
  }

  private startNext(now: Millis): void {
    if (this.current) return;
    // Operations that waited in the queue past their deadline fail without being sent.
    while (this.queue.length > 0 && now >= (this.queue[0] as Queued).submittedAt + this.timeoutMs) {
      const late = this.queue.shift() as Queued;
      this.out.push({ type: 'client-result', tag: late.tag, ok: false, reason: `not sent: waited ${this.timeoutMs} ms behind earlier operations` });
    }
    const first = this.queue.shift();
    if (!first) return;
    const ts = Math.max(Math.floor(now), this.lastTs + 1);
    this.lastTs = ts;
    const body: RequestBody = { type: 'request', client: this.id, ts, op: first.op };
    const items = [first];
    // Pack what waits behind it, in order, while the signed request still fits in a batch.
    let bytes = canonicalUtf8Length(body) + signedRequestOverheadBytes;
    const budget = this.maxRequestBytes - 2;
    while (items.length < this.maxOpsPerRequest && this.queue.length > 0) {
      const next = this.queue[0] as Queued;
      const size = canonicalUtf8Length(next.op) + 1;
      if (bytes + size + '"more":[],'.length > budget) break;
      bytes += size;
      items.push(this.queue.shift() as Queued);
    }
    if (items.length > 1) body.more = items.slice(1).map((item) => item.op);
    const signId = this.nextSignId++;
    this.current = {
      items,
      ts,
      body,
      signId,
      submittedAt: first.submittedAt,
      retransmitAt: now + this.retransmitMs,
      attempts: 0,
      replies: new Map(),
    };
    this.out.push({ type: 'sign', id: signId, text: canonicalBytes(body), signer: this.id });
  }

  private onSigned(now: Millis, id: number, sig: string): void {
    const current = this.current;
    if (!current || current.signId !== id || current.signed) return;
    current.signed = { body: current.body, signer: this.id, sig };
    const replicas = this.latestReplicas();
    const to = this.primary && replicas.includes(this.primary) ? [this.primary] : [...replicas];
    if (to.length > 0) this.out.push({ type: 'broadcast', to, msg: current.signed });
    current.retransmitAt = now + this.retransmitMs;
  }

  private onReply(now: Millis, msg: Signed<ReplyBody>, own: boolean): void {
    const current = this.current;
    const body = msg.body;
    if (!current || body.to !== this.id || body.ts !== current.ts) {
      this.ignoredReplies++;
      return;
    }
    const config = this.configs.find((c) => c.epoch === body.epoch) ?? this.configs[this.configs.length - 1];
    const member = this.configs.some((c) => c.replicas.includes(msg.signer));
    if (!config || !member) {
      this.ignoredReplies++;
      return;
    }
    const key = canonicalBytes({ seq: body.seq, result: body.result, more: body.more });
    current.replies.set(msg.signer, key);
    // The primary of the reply's view is where the next request goes first.
    const primary = config.replicas[body.view % config.replicas.length];
    if (primary !== undefined && config.epoch === this.configs[this.configs.length - 1]?.epoch) this.primary = primary;
    let matching = 0;
    for (const k of current.replies.values()) if (k === key) matching++;
    const trusted = own && msg.signer === this.id && config.replicas.includes(this.id);
    if (!trusted && matching < faultsTolerated(config.replicas.length) + 1) return;
    this.current = undefined;
    current.items.forEach((item, i) => {
      // A reply to a pack carries one result per operation; a shorter list (a faulty pack of
      // replies cannot reach f+1 alike) leaves the missing ones with the first operation's result.
      const result = i === 0 ? body.result : (body.more?.[i - 1] ?? body.result);
      this.out.push({ type: 'client-result', tag: item.tag, ok: true, ts: current.ts, seq: body.seq, result, latencyMs: now - item.submittedAt });
    });
    this.startNext(now);
  }

  private onConfig(epoch: number, replicas: readonly NodeId[], primary: NodeId | null): void {
    const last = this.configs[this.configs.length - 1];
    if (!last || last.epoch !== epoch) {
      this.configs = this.configs.filter((c) => c.epoch !== epoch);
      this.configs.push({ epoch, replicas: [...replicas] });
      this.configs.sort((a, b) => a.epoch - b.epoch);
      if (this.configs.length > rememberedConfigs) this.configs.splice(0, this.configs.length - rememberedConfigs);
    }
    this.primary = primary;
  }

  private onTick(now: Millis): void {
    const current = this.current;
    if (!current) return;
    if (now >= current.submittedAt + this.timeoutMs) {
      this.current = undefined;
      const reason = `no ${this.neededReplies()} matching replies within ${this.timeoutMs} ms: more than f replicas may be faulty, or this node is cut off`;
      for (const item of current.items) this.out.push({ type: 'client-result', tag: item.tag, ok: false, ts: current.ts, reason });
      this.startNext(now);
      return;
    }
    if (now < current.retransmitAt) return;
    current.attempts++;
    current.retransmitAt = now + this.retransmitMs * Math.min(maxRetransmitBackoff, 2 ** current.attempts);
    // As in the paper: after a timeout the request goes to every replica, which forward it to
    // the primary and start their view-change timers if it does not get ordered.
    const replicas = this.latestReplicas();
    if (current.signed && replicas.length > 0) this.out.push({ type: 'broadcast', to: [...replicas], msg: current.signed });
    else if (!current.signed) this.out.push({ type: 'sign', id: current.signId, text: canonicalBytes(current.body), signer: this.id });
  }

  private latestReplicas(): readonly NodeId[] {
    return this.configs[this.configs.length - 1]?.replicas ?? [];
  }

  private neededReplies(): number {
    return faultsTolerated(this.latestReplicas().length) + 1;
  }
}
