// The Node peer's link host: what the page's PeerHost (src/net/peer-host.ts) does for a tab,
// in-process. It owns the RTCPeerConnections — node-datachannel's polyfill (libdatachannel),
// each wrapped in the same NativePeer a tab uses — and only moves bytes and signals between
// them and the runtime.
//
// One difference from a tab: a closing link first lets the bytes already queued on it go out
// (bounded in time), so the last words of a graceful leave reach the peers before the process
// exits. A tab's page cannot wait like that when it unloads.
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { NativePeer, type LinkPeer } from '../net/native-peer.ts';
import type { NodeId } from '../core/types.ts';
import type { IceServer, LinkHost, LinkHostEvents, RawSignal } from '../net/transport.ts';
import type { IceTransportPolicy } from '../../signaling/ice-config.ts';

/** Longest a closing link waits for its queued bytes to leave before it is torn down. */
export const closeFlushMaxMs = 1_000;
/** After the queue is empty, a moment for the bytes to cross the wire before the teardown. */
export const closeLingerMs = 150;
/** How often a closing link looks at its queue. */
const closePollMs = 20;
/** Bytes queued on one link beyond which it is considered stuck and dropped (the link manager retries). */
export const maxQueuedBytesPerLink = 8 * 1024 * 1024;
/** Events held until the runtime attaches (it starts after the host exists); the oldest go past this. */
export const maxEarlyEvents = 1_024;

type HostEvent =
  | { type: 'up'; peer: NodeId; linkId: string }
  | { type: 'down'; peer: NodeId; linkId: string; reason: string }
  | { type: 'signal'; peer: NodeId; linkId: string; signal: RawSignal }
  | { type: 'data'; peer: NodeId; linkId: string; bytes: Uint8Array };

interface HostedPeer {
  linkId: string;
  peer: LinkPeer;
}

/** Makes one WebRTC connection (a seam for tests). */
export type PeerFactory = (options: { initiator: boolean; iceServers: IceServer[]; iceTransportPolicy: IceTransportPolicy }) => LinkPeer;

export const defaultPeerFactory: PeerFactory = ({ initiator, iceServers, iceTransportPolicy }) =>
  new NativePeer(RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection, {
    initiator,
    config: { iceServers: encodedCredentials(iceServers), iceTransportPolicy },
  });

/**
 * TURN credentials as node-datachannel's polyfill needs them. The polyfill hands each server to
 * libdatachannel as one URL it builds itself, turn:USERNAME:CREDENTIAL@host:port, unescaped, and
 * libdatachannel takes the user name up to the first ':'. Short-lived TURN REST credentials (the
 * server's --turn-secret) have user names "expiry:id", so coturn would see only the expiry and
 * refuse every allocation (401). Percent-encoded here (libdatachannel decodes them), the name
 * and password arrive whole. The URLs stay as given: the polyfill checks them with `new URL`.
 */
export function encodedCredentials(iceServers: IceServer[]): IceServer[] {
  return iceServers.map((server) => {
    if (server.username === undefined || server.credential === undefined) return server;
    return { urls: server.urls, username: encodeURIComponent(server.username), credential: encodeURIComponent(server.credential) };
  });
}

export class NodeLinkHost implements LinkHost {
  private readonly peers = new Map<NodeId, HostedPeer>();
  private readonly closing = new Set<Promise<void>>();
  private events: LinkHostEvents | null = null;
  private readonly early: HostEvent[] = [];
  private earlyDropped = 0;

  /** `policy`: read at each new connection ('relay' keeps every link on TURN), so a later answer of the server counts. */
  constructor(
    private readonly createPeer: PeerFactory = defaultPeerFactory,
    private readonly policy: () => IceTransportPolicy = () => 'all',
  ) {}

  /** Connects the host to the runtime; events that came before are delivered now, in order. */
  attach(events: LinkHostEvents): void {
    this.events = events;
    for (const event of this.early.splice(0)) this.deliver(event);
  }

  /** Events lost because the runtime attached late (0 in a healthy start). */
  get droppedBeforeAttach(): number {
    return this.earlyDropped;
  }

  get size(): number {
    return this.peers.size;
  }

  // ── LinkHost ──

  open(peerId: NodeId, linkId: string, initiator: boolean, iceServers: IceServer[]): void {
    const previous = this.peers.get(peerId);
    if (previous) {
      this.peers.delete(peerId);
      this.flushThenDestroy(previous.peer);
    }
    let peer: LinkPeer;
    try {
      peer = this.createPeer({ initiator, iceServers, iceTransportPolicy: this.policy() });
    } catch (error) {
      // Cannot happen with node-datachannel installed; if it does, the link fails like any other.
      this.emit({ type: 'down', peer: peerId, linkId, reason: `cannot open a connection: ${String(error)}` });
      return;
    }
    this.peers.set(peerId, { linkId, peer });
    const isCurrent = () => this.peers.get(peerId)?.peer === peer;
    peer.on('signal', (signal: unknown) => {
      if (isCurrent()) this.emit({ type: 'signal', peer: peerId, linkId, signal: signal as RawSignal });
    });
    peer.on('connect', () => {
      if (isCurrent()) this.emit({ type: 'up', peer: peerId, linkId });
    });
    peer.on('data', (data: Uint8Array) => {
      if (isCurrent()) this.emit({ type: 'data', peer: peerId, linkId, bytes: data instanceof Uint8Array ? data : new Uint8Array(data) });
    });
    peer.on('close', () => this.drop(peerId, linkId, 'channel closed', peer));
    peer.on('error', (error: Error & { code?: string }) => this.drop(peerId, linkId, error.code ?? error.message, peer));
  }

  signal(peerId: NodeId, linkId: string, signal: RawSignal): void {
    const hosted = this.current(peerId, linkId);
    if (!hosted) return;
    try {
      hosted.peer.signal(signal);
    } catch (error) {
      this.drop(peerId, linkId, `bad signal: ${String(error)}`);
    }
  }

  send(peerId: NodeId, linkId: string, bytes: Uint8Array<ArrayBuffer>): void {
    const hosted = this.current(peerId, linkId);
    if (!hosted) return;
    if (hosted.peer.bufferSize > maxQueuedBytesPerLink) {
      this.drop(peerId, linkId, `more than ${maxQueuedBytesPerLink} bytes queued: the peer is not reading`);
      return;
    }
    try {
      hosted.peer.send(bytes);
    } catch (error) {
      this.drop(peerId, linkId, `send failed: ${String(error)}`);
    }
  }

  close(peerId: NodeId, linkId: string): void {
    const hosted = this.current(peerId, linkId);
    if (!hosted) return;
    this.peers.delete(peerId);
    this.flushThenDestroy(hosted.peer);
  }

  // ── shutdown ──

  /** Closes every link at once, without waiting for queued bytes (the process is dying anyway). */
  destroyAll(): void {
    for (const { peer } of this.peers.values()) peer.destroy();
    this.peers.clear();
  }

  /** Resolves when no open link has bytes queued (or after `maxMs`). */
  async flushed(maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    while ([...this.peers.values()].some(({ peer }) => !peer.destroyed && peer.bufferSize > 0) && performance.now() < deadline) await delay(closePollMs);
  }

  /** Resolves when every link closed so far has let its queued bytes go and been torn down. */
  async settled(): Promise<void> {
    while (this.closing.size > 0) await Promise.all([...this.closing]);
  }

  // ── internals ──

  private current(peerId: NodeId, linkId: string): HostedPeer | undefined {
    const hosted = this.peers.get(peerId);
    return hosted && hosted.linkId === linkId ? hosted : undefined;
  }

  private drop(peerId: NodeId, linkId: string, reason: string, which?: LinkPeer): void {
    const hosted = this.current(peerId, linkId);
    if (hosted && (!which || hosted.peer === which)) {
      this.peers.delete(peerId);
      hosted.peer.destroy();
      this.emit({ type: 'down', peer: peerId, linkId, reason });
    }
  }

  private flushThenDestroy(peer: LinkPeer): void {
    const done = (async () => {
      const deadline = performance.now() + closeFlushMaxMs;
      while (!peer.destroyed && peer.bufferSize > 0 && performance.now() < deadline) await delay(closePollMs);
      if (!peer.destroyed) await delay(closeLingerMs);
      peer.destroy();
    })();
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
  }

  private emit(event: HostEvent): void {
    if (this.events) {
      this.deliver(event);
      return;
    }
    if (this.early.length >= maxEarlyEvents) {
      this.early.shift();
      this.earlyDropped++;
    }
    this.early.push(event);
  }

  private deliver(event: HostEvent): void {
    const events = this.events;
    if (!events) return;
    switch (event.type) {
      case 'up':
        return events.up(event.peer, event.linkId);
      case 'down':
        return events.down(event.peer, event.linkId, event.reason);
      case 'signal':
        return events.signal(event.peer, event.linkId, event.signal);
      case 'data':
        return events.data(event.peer, event.linkId, event.bytes);
    }
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
