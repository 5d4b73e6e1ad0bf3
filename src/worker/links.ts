// Direct links to other nodes: who initiates, signing and checking every signal, one live
// attempt per peer, liveness by silence (keepalive.ts decides when to ping), and retries that
// back off (Chrome allows a tab only about 500 RTCPeerConnections in its life, so churn is expensive).
//
// Rule against glare: the node with the smaller id always initiates. A node with the larger
// id that wants a link sends a signed 'connect' request instead, and the smaller one opens it.
import type { NodeId } from '../core/types.ts';
import { decodeSignedSignal, signingText, type SignalBody, type SignedSignal } from '../net/signed-signal.ts';
import type { IceServer, LinkHost, RawSignal } from '../net/transport.ts';
import { hasTurnServer, iceServersKey, LinkFailures, type LinkFailureView } from './link-failures.ts';

/** A link not up within this long is abandoned and retried later. */
export const linkSetupTimeoutMs = 20_000;
/** An up link that delivers no frame (pings included) for this long is declared dead. */
export const linkSilenceLimitMs = 4_000;
/** First retry delay after a failed or lost link; doubles per failure up to the maximum. */
export const linkRetryBaseMs = 2_000;
export const linkRetryMaxMs = 60_000;
/** Signal sessions remembered per peer, so a replayed old offer is recognised and ignored. */
const seenSessionsPerPeer = 32;

export type LinkState = 'requested' | 'connecting' | 'up';

export interface LinkInfo {
  peer: NodeId;
  linkId: string;
  state: LinkState;
  initiator: boolean;
  sinceMs: number;
  lastHeardMs: number;
  /** When a frame was last handed to the host for this link (keepalive.ts pings only quiet links). */
  lastSentMs: number;
  rttMs: number | null;
  /** How long the attempt took from its RTCPeerConnection to an open channel (null until up). */
  setupMs: number | null;
}

export interface LinkManagerDeps {
  self: NodeId;
  host: LinkHost;
  iceServers: () => IceServer[];
  now: () => number;
  randomId: () => string;
  sign(text: string): Promise<string>;
  verify(signer: string, text: string, sig: string): Promise<boolean>;
  /** Delivers a signed signal to `to` (through the signaling server, or later over the mesh). */
  deliverSignal(to: NodeId, signal: SignedSignal): boolean;
  onUp(peer: NodeId): void;
  onDown(peer: NodeId, reason: string): void;
  onData(peer: NodeId, bytes: Uint8Array): void;
  reject(reason: string): void;
  /** True while `peer` is kept out for abuse (peer-guard.ts): no link is made to or accepted from it. */
  keptOut?(peer: NodeId): boolean;
  /**
   * Whether a lost or failed link is retried by this manager (with backoff) until unwanted.
   * When an overlay decides the links, it is asked instead, and it dials again if it wants to.
   */
  retryLostLinks(): boolean;
  /** Wall-clock ms, for when a failure happened (default: `now`; the runtime passes its Clock.now). */
  wallClock?: () => number;
}

type Attempt = LinkInfo;

export class LinkManager {
  private readonly links = new Map<NodeId, Attempt>();
  private readonly wanted = new Set<NodeId>();
  private readonly retryAt = new Map<NodeId, { at: number; failures: number }>();
  private readonly seenSessions = new Map<NodeId, string[]>();
  /** Failed attempts per peer, their diagnosis, and which peers are settled as unreachable. */
  private readonly failures = new LinkFailures();

  constructor(private readonly deps: LinkManagerDeps) {}

  list(): LinkInfo[] {
    return [...this.links.values()].map((l) => ({ ...l }));
  }

  upPeers(): NodeId[] {
    return [...this.links.values()].filter((l) => l.state === 'up').map((l) => l.peer);
  }

  /** Peers whose last attempts failed: why, how often, and whether more attempts will come. */
  failureList(): LinkFailureView[] {
    return this.failures.list();
  }

  /** A fresh start for a peer settled as unreachable (it was introduced again). */
  forgive(peer: NodeId): void {
    this.failures.forgive(peer);
  }

  get(peer: NodeId): LinkInfo | undefined {
    return this.links.get(peer);
  }

  /** Ask for a link to `peer`; kept until unwant(). Safe to call repeatedly. */
  want(peer: NodeId): void {
    if (peer === this.deps.self) return;
    this.wanted.add(peer);
    this.ensure(peer);
  }

  /** No longer want a link to `peer`; closes it if open. */
  unwant(peer: NodeId, reason: string): void {
    this.wanted.delete(peer);
    this.retryAt.delete(peer);
    this.close(peer, reason);
  }

  wants(peer: NodeId): boolean {
    return this.wanted.has(peer);
  }

  /** Called on a timer: setup timeouts, silence, retries. */
  tick(): void {
    const now = this.deps.now();
    for (const link of [...this.links.values()]) {
      if (link.state !== 'up' && now - link.sinceMs > linkSetupTimeoutMs) this.fail(link.peer, 'setup timed out');
      else if (link.state === 'up' && now - link.lastHeardMs > linkSilenceLimitMs) this.fail(link.peer, 'silent');
    }
    for (const peer of this.wanted) this.ensure(peer);
  }

  send(peer: NodeId, bytes: Uint8Array<ArrayBuffer>): boolean {
    const link = this.links.get(peer);
    if (!link || link.state !== 'up') return false;
    this.deps.host.send(peer, link.linkId, bytes);
    link.lastSentMs = this.deps.now();
    return true;
  }

  /** Breaks the link as a network fault would (for demos and fault-injection tests). */
  drop(peer: NodeId, reason: string): boolean {
    if (!this.links.has(peer)) return false;
    this.fail(peer, reason);
    return true;
  }

  closeAll(reason: string): void {
    for (const peer of [...this.links.keys()]) this.close(peer, reason);
  }

  // ── link host events ──

  hostUp(peer: NodeId, linkId: string): void {
    const link = this.links.get(peer);
    if (!link || link.linkId !== linkId) {
      this.deps.host.close(peer, linkId);
      return;
    }
    if (link.state === 'up') return;
    const now = this.deps.now();
    link.state = 'up';
    link.setupMs = now - link.sinceMs;
    link.sinceMs = now;
    link.lastHeardMs = now;
    this.retryAt.delete(peer);
    this.failures.succeeded(peer);
    this.deps.onUp(peer);
  }

  hostDown(peer: NodeId, linkId: string, reason: string): void {
    const link = this.links.get(peer);
    if (link && link.linkId === linkId) this.fail(peer, reason);
  }

  hostData(peer: NodeId, linkId: string, bytes: Uint8Array): void {
    const link = this.links.get(peer);
    // The far end may send as soon as its channel opens, a moment before ours reports
    // 'connect': data on the channel proves the link works, so it counts as up.
    if (link && link.linkId === linkId && link.state === 'connecting') this.hostUp(peer, linkId);
    if (!link || link.linkId !== linkId || link.state !== 'up') {
      this.deps.reject('data on a link that is not up');
      return;
    }
    link.lastHeardMs = this.deps.now();
    this.deps.onData(peer, bytes);
  }

  recordRtt(peer: NodeId, rttMs: number): void {
    const link = this.links.get(peer);
    if (link) link.rttMs = rttMs;
  }

  /** The link host produced a signal for `peer`: sign it and send it on its way. */
  async hostSignal(peer: NodeId, linkId: string, signal: RawSignal): Promise<void> {
    const link = this.links.get(peer);
    if (!link || link.linkId !== linkId) return;
    this.failures.signal(peer, linkId, 'local', signal);
    await this.sendSigned({ v: 1, from: this.deps.self, to: peer, session: linkId, kind: 'signal', signal: signal as SignalBody['signal'] });
  }

  // ── signals from other nodes ──

  /** A signed signal arrived (from the server or relayed over the mesh). */
  async receiveSignal(claimedFrom: NodeId | undefined, raw: unknown): Promise<void> {
    const checked = decodeSignedSignal(raw, this.deps.self, claimedFrom);
    if (!checked.ok) {
      this.deps.reject(checked.reason);
      return;
    }
    const { body, sig } = checked.signal;
    if (!(await this.deps.verify(body.from, signingText(body), sig))) {
      this.deps.reject('signal with a bad signature');
      return;
    }
    const from = body.from as NodeId;
    const self = this.deps.self;
    if (this.deps.keptOut?.(from)) {
      this.deps.reject('signal from a peer that is kept out');
      return;
    }
    if (body.kind === 'connect') {
      // Only the smaller id initiates; a larger id asking us is the expected case.
      if (!(self < from)) {
        this.deps.reject('connect request from a node that should initiate itself');
        return;
      }
      this.wanted.add(from);
      this.retryAt.delete(from);
      const link = this.links.get(from);
      // Usually both ends learned of each other at once and our offer is already on its way:
      // keep that attempt. A link that is up (or long stuck) while the peer asks for one means
      // the peer restarted and lost its side: start over.
      const attemptUnderWay = link?.state === 'connecting' && this.deps.now() - link.sinceMs < linkSetupTimeoutMs / 4;
      if (link && link.state !== 'requested' && !attemptUnderWay) this.close(from, 'peer asked for a new link');
      // A peer settled as unreachable gets no answer: there its unanswered requests count as
      // failed attempts, so it settles too, rather than both ends spending connections in turn.
      this.ensure(from, true);
      return;
    }
    const signal = body.signal as RawSignal;
    const link = this.links.get(from);
    if (link && link.linkId === body.session) {
      this.failures.signal(from, link.linkId, 'remote', signal);
      this.deps.host.signal(from, link.linkId, signal);
      return;
    }
    if (signal['type'] !== 'offer') {
      this.deps.reject('signal for an unknown or finished link attempt');
      return;
    }
    if (!(from < self)) {
      this.deps.reject('offer from a node that should not initiate');
      return;
    }
    if (this.sessionSeen(from, body.session)) {
      this.deps.reject('replayed offer');
      return;
    }
    // Settled as unreachable: no connection is spent on its offers either. Its attempt times out
    // and counts there, so it settles too.
    if (!link && this.failures.unreachable(from, iceServersKey(this.deps.iceServers()), this.deps.now(), true)) return;
    // A fresh offer replaces whatever we had with this peer (it has restarted or given up).
    if (link) this.close(from, 'peer opened a new link');
    this.rememberSession(from, body.session);
    this.start(from, body.session, false);
    this.failures.signal(from, body.session, 'remote', signal);
    this.deps.host.signal(from, body.session, signal);
  }

  // ── internals ──

  /** `asked`: the peer asked for this link (its request is taken sooner from a settled peer, link-failures.ts). */
  private ensure(peer: NodeId, asked = false): void {
    if (!this.wanted.has(peer)) return;
    if (this.deps.keptOut?.(peer)) return;
    const settled = () => this.failures.unreachable(peer, iceServersKey(this.deps.iceServers()), this.deps.now(), asked);
    const now = this.deps.now();
    const existing = this.links.get(peer);
    if (!existing && settled()) return;
    const retry = this.retryAt.get(peer);
    if (existing) {
      if (existing.state !== 'requested' || now - existing.sinceMs <= linkSetupTimeoutMs / 2) return;
      // An unanswered connect request: the peer cannot be reached, or has settled us as
      // unreachable. It counts as a failed attempt; until the bound, the request is sent again.
      this.links.delete(peer);
      this.recordFailure(peer, 'no answer to the link request');
      if (settled()) return;
    }
    if (retry && now < retry.at) return;
    if (this.deps.self < peer) {
      const linkId = this.deps.randomId();
      this.rememberSession(peer, linkId);
      this.start(peer, linkId, true);
    } else {
      const linkId = this.deps.randomId();
      this.links.set(peer, { peer, linkId, state: 'requested', initiator: false, sinceMs: now, lastHeardMs: now, lastSentMs: now, rttMs: null, setupMs: null });
      void this.sendSigned({ v: 1, from: this.deps.self, to: peer, session: linkId, kind: 'connect' });
    }
  }

  private start(peer: NodeId, linkId: string, initiator: boolean): void {
    const now = this.deps.now();
    this.links.set(peer, { peer, linkId, state: 'connecting', initiator, sinceMs: now, lastHeardMs: now, lastSentMs: now, rttMs: null, setupMs: null });
    this.failures.started(peer, linkId);
    this.deps.host.open(peer, linkId, initiator, this.deps.iceServers());
  }

  private async sendSigned(body: SignalBody): Promise<void> {
    const sig = await this.deps.sign(signingText(body));
    this.deps.deliverSignal(body.to as NodeId, { body, sig });
  }

  private fail(peer: NodeId, reason: string): void {
    // An attempt that never came up is a failed attempt (a lost link is not: it worked once).
    if (this.links.get(peer)?.state === 'connecting') this.recordFailure(peer, reason);
    const previous = this.retryAt.get(peer);
    const failures = (previous?.failures ?? 0) + 1;
    const delay = Math.min(linkRetryMaxMs, linkRetryBaseMs * 2 ** (failures - 1));
    this.retryAt.set(peer, { at: this.deps.now() + delay, failures });
    if (!this.deps.retryLostLinks()) this.wanted.delete(peer);
    this.close(peer, reason);
  }

  private recordFailure(peer: NodeId, reason: string): void {
    const servers = this.deps.iceServers();
    this.failures.failed(peer, reason, (this.deps.wallClock ?? this.deps.now)(), iceServersKey(servers), hasTurnServer(servers), this.deps.now());
  }

  private close(peer: NodeId, reason: string): void {
    const link = this.links.get(peer);
    if (!link) return;
    this.links.delete(peer);
    if (link.state !== 'requested') this.deps.host.close(peer, link.linkId);
    if (link.state === 'up') this.deps.onDown(peer, reason);
  }

  private sessionSeen(peer: NodeId, session: string): boolean {
    return this.seenSessions.get(peer)?.includes(session) ?? false;
  }

  private rememberSession(peer: NodeId, session: string): void {
    const list = this.seenSessions.get(peer) ?? [];
    list.push(session);
    if (list.length > seenSessionsPerPeer) list.shift();
    this.seenSessions.set(peer, list);
  }
}
