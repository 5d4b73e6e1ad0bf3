// The page's half of the transport: it owns the RTCPeerConnections (workers have none), each
// through a NativePeer on the browser's own RTCPeerConnection, and only moves bytes and signals
// between them and the protocol worker.
import { NativePeer, type LinkPeer } from './native-peer.ts';
import type { PageToWorker, WorkerToPage } from '../worker/protocol.ts';

type LinkCommand = Extract<WorkerToPage, { type: 'open-link' | 'signal-link' | 'send' | 'close-link' }>;

interface HostedPeer {
  linkId: string;
  peer: LinkPeer;
}

export class PeerHost {
  private readonly peers = new Map<string, HostedPeer>();
  private lastWords: Uint8Array[] = [];

  constructor(
    private readonly toWorker: (message: PageToWorker, transfer?: Transferable[]) => void,
    /**
     * iceTransportPolicy 'relay' restricts every connection to TURN relays (from the server's
     * /config.json). iceServers, when given, replaces the worker's list for each new link: the
     * page's newest, so short-lived TURN credentials are fresh (src/net/ice-refresh.ts).
     */
    private readonly options: { iceTransportPolicy?: RTCIceTransportPolicy; iceServers?: () => RTCIceServer[] } = {},
  ) {}

  handle(command: LinkCommand): void {
    switch (command.type) {
      case 'open-link':
        this.open(command.peer, command.linkId, command.initiator, command.iceServers);
        return;
      case 'signal-link': {
        const hosted = this.current(command.peer, command.linkId);
        if (!hosted) return;
        try {
          hosted.peer.signal(command.signal);
        } catch (error) {
          this.drop(command.peer, command.linkId, `bad signal: ${String(error)}`);
        }
        return;
      }
      case 'send': {
        const hosted = this.current(command.peer, command.linkId);
        if (!hosted) return;
        try {
          hosted.peer.send(new Uint8Array(command.bytes));
        } catch (error) {
          this.drop(command.peer, command.linkId, `send failed: ${String(error)}`);
        }
        return;
      }
      case 'close-link': {
        const hosted = this.current(command.peer, command.linkId);
        if (hosted) {
          this.peers.delete(command.peer);
          hosted.peer.destroy();
        }
        return;
      }
    }
  }

  /** What to say on every open link as the tab goes away (the worker's leave notices). */
  setLastWords(frames: ArrayBuffer[]): void {
    this.lastWords = frames.map((f) => new Uint8Array(f));
  }

  /**
   * The tab is going away: say the last words on every open link, then close every connection
   * at once, so peers learn of the leave now rather than by a timeout.
   */
  destroyAll(): void {
    for (const { peer } of this.peers.values()) {
      if (peer.connected) {
        for (const frame of this.lastWords) {
          try {
            peer.send(frame);
          } catch {
            // The channel is closing already; the peer will notice the close instead.
          }
        }
      }
      peer.destroy();
    }
    this.peers.clear();
  }

  get size(): number {
    return this.peers.size;
  }

  private current(peerId: string, linkId: string): HostedPeer | undefined {
    const hosted = this.peers.get(peerId);
    return hosted && hosted.linkId === linkId ? hosted : undefined;
  }

  private open(peerId: string, linkId: string, initiator: boolean, iceServers: RTCIceServer[]): void {
    const previous = this.peers.get(peerId);
    if (previous) {
      this.peers.delete(peerId);
      previous.peer.destroy();
    }
    let peer: LinkPeer;
    try {
      peer = new NativePeer(RTCPeerConnection, {
        initiator,
        config: { iceServers: this.options.iceServers?.() ?? iceServers, iceTransportPolicy: this.options.iceTransportPolicy ?? 'all' },
      });
    } catch (error) {
      // A configuration the browser refuses (a malformed ICE server URL): this link fails, the tab goes on.
      this.toWorker({ type: 'link-down', peer: peerId, linkId, reason: `cannot open a connection: ${String(error)}` });
      return;
    }
    this.peers.set(peerId, { linkId, peer });
    const isCurrent = () => this.peers.get(peerId)?.peer === peer;
    peer.on('signal', (signal: unknown) => {
      if (isCurrent()) this.toWorker({ type: 'link-signal', peer: peerId, linkId, signal: signal as Record<string, unknown> });
    });
    peer.on('connect', () => {
      if (isCurrent()) this.toWorker({ type: 'link-up', peer: peerId, linkId });
    });
    peer.on('data', (data: Uint8Array) => {
      if (!isCurrent()) return;
      const bytes = data.slice().buffer;
      this.toWorker({ type: 'link-data', peer: peerId, linkId, bytes }, [bytes]);
    });
    peer.on('close', () => this.drop(peerId, linkId, 'channel closed', peer));
    peer.on('error', (error: Error & { code?: string }) => this.drop(peerId, linkId, error.code ?? error.message, peer));
  }

  private drop(peerId: string, linkId: string, reason: string, which?: LinkPeer): void {
    const hosted = this.current(peerId, linkId);
    if (hosted && (!which || hosted.peer === which)) {
      this.peers.delete(peerId);
      hosted.peer.destroy();
      this.toWorker({ type: 'link-down', peer: peerId, linkId, reason });
    }
  }
}
