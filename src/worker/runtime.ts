// The node runtime: the only I/O loop of a node. It owns the clock, timers, crypto and
// storage, feeds decoded input to the protocol logic and carries out what comes back.
// It is written against edges (storage, socket factory, link host), so a tab's worker and
// the Node peer run the same code.
import type { NodeId } from '../core/types.ts';
import { decodeFrame, encodeFrame } from '../core/envelope.ts';
import { decodeLinkMessage, maxChatChars, type LinkMessage } from '../core/link/messages.ts';
import { signText, verifyText } from '../crypto/ed25519.ts';
import { toBase64Url } from '../crypto/base64url.ts';
import { SignalingClient, type SignalingStatus, type SocketLike } from '../net/signaling-client.ts';
import type { IceServer, LinkHost, LinkHostEvents } from '../net/transport.ts';
import type { Storage } from '../store/storage.ts';
import { loadOrCreateIdentity } from './identity-store.ts';
import { LinkManager, pingIntervalMs } from './links.ts';
import type { MessageView, NodeSnapshot } from './snapshot.ts';

/** Most direct links kept until the overlay core manages degree (a full mesh below this). */
export const maxDirectLinks = 12;
/** Received direct messages kept for the UI. */
export const messageHistoryLimit = 50;
/** Known peers remembered; the oldest introductions go first when full. */
export const knownPeersLimit = 1024;
/** How often the runtime wakes for link upkeep. */
const upkeepIntervalMs = 500;
/** Least time between two snapshots posted to the page. */
const snapshotMinIntervalMs = 100;

export interface RuntimeOptions {
  room: string;
  slot: number;
  signalingUrl: string;
  storage: Storage;
  createSocket(url: string): SocketLike;
  linkHost: LinkHost;
  iceServers: IceServer[];
  publishSnapshot(snapshot: NodeSnapshot): void;
}

export class NodeRuntime implements LinkHostEvents {
  private links!: LinkManager;
  private signaling!: SignalingClient;
  private id!: NodeId;
  private identityOrigin = '';
  private signalingStatus: SignalingStatus = 'connecting';
  private signalingDetail = '';
  private readonly knownPeers = new Set<NodeId>();
  private readonly messages: MessageView[] = [];
  private readonly rejected: Record<string, number> = {};
  private readonly pingSentAt = new Map<NodeId, { n: number; at: number }>();
  private pingCounter = 0;
  private messagesReceived = 0;
  private timers: ReturnType<typeof setInterval>[] = [];
  private snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  private lastSnapshotAt = 0;
  private readonly startedAt = Date.now();
  private stopped = false;

  private constructor(private readonly options: RuntimeOptions) {}

  static async start(options: RuntimeOptions): Promise<NodeRuntime> {
    const runtime = new NodeRuntime(options);
    await runtime.init();
    return runtime;
  }

  get nodeId(): NodeId {
    return this.id;
  }

  private async init(): Promise<void> {
    const { identity, origin } = await loadOrCreateIdentity(this.options.storage, Date.now());
    this.id = identity.id;
    this.identityOrigin = origin;
    this.links = new LinkManager({
      self: this.id,
      host: this.options.linkHost,
      iceServers: () => this.options.iceServers,
      now: () => performance.now(),
      randomId: () => toBase64Url(crypto.getRandomValues(new Uint8Array(12))),
      sign: (text) => signText(identity, text),
      verify: verifyText,
      deliverSignal: (to, signal) => this.signaling.sendSignal(to, signal as unknown as Record<string, unknown>),
      onUp: () => this.changed(),
      onDown: (peer) => {
        this.pingSentAt.delete(peer);
        this.changed();
      },
      onData: (peer, bytes) => this.onFrame(peer, bytes),
      reject: (reason) => this.reject(reason),
    });
    this.signaling = new SignalingClient({
      url: this.options.signalingUrl,
      room: this.options.room,
      id: this.id,
      sign: (text) => signText(identity, text),
      createSocket: this.options.createSocket,
      handlers: {
        status: (status, detail) => {
          this.signalingStatus = status;
          this.signalingDetail = detail;
          this.changed();
        },
        joined: (peers) => peers.forEach((p) => this.introduce(p)),
        peerJoined: (peer) => this.introduce(peer),
        peerLeft: (peer) => {
          this.knownPeers.delete(peer);
          this.links.unwant(peer, 'left the room');
          this.changed();
        },
        signal: (from, data) => void this.links.receiveSignal(from, data),
        problem: (code, message) => this.reject(`signaling ${code}: ${message}`),
      },
    });
    this.signaling.start();
    this.timers.push(setInterval(() => this.upkeep(), upkeepIntervalMs));
    this.timers.push(setInterval(() => this.pingAll(), pingIntervalMs));
    this.changed();
  }

  // ── commands (window.tabmesh and the UI) ──

  /** Sends a text message over the direct link to `peer`. */
  sendMessage(peer: string, text: string): void {
    if (text.length > maxChatChars) throw new Error(`message is ${text.length} characters; the limit is ${maxChatChars}`);
    if (!this.sendLink(peer as NodeId, { type: 'chat', text })) throw new Error(`no direct link to ${peer} is up`);
  }

  /** Sends a text message to every directly linked node; resolves with how many it went to. */
  broadcastMessage(text: string): number {
    if (text.length > maxChatChars) throw new Error(`message is ${text.length} characters; the limit is ${maxChatChars}`);
    let sent = 0;
    for (const peer of this.links.upPeers()) if (this.sendLink(peer, { type: 'chat', text })) sent++;
    return sent;
  }

  reconnectSignaling(): void {
    this.signaling.reconnect();
  }

  /** Graceful leave: tell linked peers and the room, then stop. */
  shutdown(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const peer of this.links.upPeers()) this.sendLink(peer, { type: 'bye', reason });
    this.signaling.stop();
    this.links.closeAll(reason);
    this.timers.forEach(clearInterval);
    this.timers = [];
  }

  // ── link host events ──

  up(peer: NodeId, linkId: string): void {
    this.links.hostUp(peer, linkId);
    this.ping(peer);
  }
  down(peer: NodeId, linkId: string, reason: string): void {
    this.links.hostDown(peer, linkId, reason);
  }
  signal(peer: NodeId, linkId: string, signal: Record<string, unknown>): void {
    void this.links.hostSignal(peer, linkId, signal);
  }
  data(peer: NodeId, linkId: string, bytes: Uint8Array): void {
    this.links.hostData(peer, linkId, bytes);
  }

  // ── internals ──

  private introduce(peer: NodeId): void {
    if (peer === this.id) return;
    if (!this.knownPeers.has(peer) && this.knownPeers.size >= knownPeersLimit) {
      const oldest = this.knownPeers.values().next().value;
      if (oldest !== undefined) this.knownPeers.delete(oldest);
    }
    this.knownPeers.add(peer);
    this.chooseLinks();
    this.changed();
  }

  /** Until the overlay core manages degree: link to every known peer, up to the cap. */
  private chooseLinks(): void {
    let budget = maxDirectLinks - this.links.list().length;
    for (const peer of this.knownPeers) {
      if (this.links.wants(peer)) continue;
      if (budget <= 0) break;
      this.links.want(peer);
      budget--;
    }
  }

  private upkeep(): void {
    this.links.tick();
    this.chooseLinks();
  }

  private pingAll(): void {
    for (const peer of this.links.upPeers()) this.ping(peer);
    this.changed();
  }

  private ping(peer: NodeId): void {
    const n = ++this.pingCounter;
    this.pingSentAt.set(peer, { n, at: performance.now() });
    this.sendLink(peer, { type: 'ping', n });
  }

  private sendLink(peer: NodeId, message: LinkMessage): boolean {
    return this.links.send(peer, encodeFrame('link', message));
  }

  private onFrame(peer: NodeId, bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    if (!frame.ok) {
      this.reject(`bad frame: ${frame.error}`);
      return;
    }
    if (frame.value.p !== 'link') {
      this.reject(`frame for ${frame.value.p}, which this node does not run yet`);
      return;
    }
    const message = decodeLinkMessage(frame.value.m);
    if (!message) {
      this.reject('malformed link message');
      return;
    }
    switch (message.type) {
      case 'ping':
        this.sendLink(peer, { type: 'pong', n: message.n });
        return;
      case 'pong': {
        const sent = this.pingSentAt.get(peer);
        if (sent && sent.n === message.n) this.links.recordRtt(peer, performance.now() - sent.at);
        return;
      }
      case 'bye':
        this.links.unwant(peer, `peer left: ${message.reason}`);
        this.knownPeers.delete(peer);
        this.changed();
        return;
      case 'chat':
        this.messages.push({ seq: ++this.messagesReceived, from: peer, text: message.text, at: Date.now() });
        if (this.messages.length > messageHistoryLimit) this.messages.shift();
        this.changed();
        return;
    }
  }

  private reject(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.changed();
  }

  /** Something visible changed: post a snapshot soon, at most every snapshotMinIntervalMs. */
  private changed(): void {
    if (this.snapshotTimer) return;
    const wait = Math.max(0, this.lastSnapshotAt + snapshotMinIntervalMs - performance.now());
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      this.lastSnapshotAt = performance.now();
      this.options.publishSnapshot(this.snapshot());
    }, wait);
  }

  snapshot(): NodeSnapshot {
    const now = performance.now();
    const all = this.links.list();
    return {
      id: this.id,
      room: this.options.room,
      slot: this.options.slot,
      identity: this.identityOrigin,
      signaling: this.signalingStatus,
      signalingDetail: this.signalingDetail,
      links: all
        .filter((l) => l.state === 'up')
        .map((l) => ({ peer: l.peer, rttMs: l.rttMs === null ? null : Math.round(l.rttMs * 100) / 100, initiator: l.initiator, upForMs: Math.round(now - l.sinceMs) }))
        .sort((a, b) => (a.peer < b.peer ? -1 : 1)),
      connecting: all.filter((l) => l.state !== 'up').map((l) => l.peer),
      knownPeers: [...this.knownPeers],
      messages: [...this.messages],
      rejected: { ...this.rejected },
      startedAt: this.startedAt,
    };
  }
}
