// One WebRTC link on the platform's own RTCPeerConnection (a browser's, or node-datachannel's
// polyfill in Node), with the small part of simple-peer's interface the link hosts use: the
// same events ('signal', 'connect', 'data', 'close', 'error') and the same signal shapes
// ({type:'offer'|'answer', sdp}, {type:'candidate', candidate}), so a node on this code links
// with a node still on simple-peer. simple-peer and what it pulls in (streamx, debug, events,
// webrtc-polyfill) were 17 KiB gzip of the page code for these few calls (docs/benchmarks.md).

/** What the link hosts use of a peer (the subset of simple-peer's Instance they call). */
export interface LinkPeer {
  on(event: 'signal', listener: (signal: unknown) => void): void;
  on(event: 'connect' | 'close', listener: () => void): void;
  on(event: 'data', listener: (data: Uint8Array) => void): void;
  on(event: 'error', listener: (error: Error & { code?: string }) => void): void;
  /** Applies a signal from the other side (an offer, an answer or an ICE candidate). */
  signal(signal: unknown): void;
  /** Sends one message on the data channel; throws if it is not open. */
  send(data: Uint8Array): void;
  /** Closes the channel and the connection; 'close' follows once. */
  destroy(): void;
  readonly connected: boolean;
  readonly destroyed: boolean;
  /** Bytes queued on the data channel, not yet handed to the network. */
  readonly bufferSize: number;
}

export interface NativePeerOptions {
  /** The side that creates the data channel and makes the offer. */
  initiator: boolean;
  config: RTCConfiguration;
}

type Listener = (...args: never[]) => void;

/** A local candidate as simple-peer sends it: only defined fields (the signal is signed as canonical JSON). */
function candidateSignal(candidate: RTCIceCandidate): RTCIceCandidateInit {
  const out: RTCIceCandidateInit = { candidate: candidate.candidate, sdpMLineIndex: candidate.sdpMLineIndex ?? null, sdpMid: candidate.sdpMid ?? null };
  if (typeof candidate.usernameFragment === 'string') out.usernameFragment = candidate.usernameFragment;
  return out;
}

/** An error with simple-peer's codes, which the hosts report as the reason a link went down. */
function linkError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** Longest wait for ICE gathering before our offer or answer leaves without it (see describe()). */
export const descriptionGatherMs = 30;

/** True when `sdp` has an a=candidate line for `candidate` (same foundation, component, transport, priority, address, port, type). */
export function describesCandidate(sdp: string, candidate: string): boolean {
  const fields = candidate.split(' ').slice(0, 8);
  if (fields.length < 8 || !fields[0]?.startsWith('candidate:')) return false;
  return sdp.split(/\r?\n/).some((line) => line.startsWith(`a=${fields.join(' ')}`));
}

/** Candidates that arrive before the remote description are held until it is set (at most this many). */
const maxPendingCandidates = 256;

/**
 * One data-channel link on an RTCPeerConnection, given as a constructor (the browser's, or
 * node-datachannel's polyfill): the initiator makes the channel and the offer; candidates
 * trickle both ways; 'close' follows destroy() once, in a microtask.
 */
export class NativePeer implements LinkPeer {
  private readonly pc: RTCPeerConnection;
  private channel: RTCDataChannel | null = null;
  private readonly listeners = new Map<string, Listener[]>();
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private remoteSet = false;
  private isConnected = false;
  private isDestroyed = false;
  /** Our offer or answer has left; candidates gathered from now on trickle one by one. */
  private described = false;
  private earlyCandidates: RTCIceCandidateInit[] = [];
  /** Set while describe() waits for gathering to finish. */
  private gathered: (() => void) | null = null;

  private readonly initiator: boolean;

  constructor(RTCPeerConnectionImpl: typeof RTCPeerConnection, options: NativePeerOptions) {
    this.initiator = options.initiator;
    this.pc = new RTCPeerConnectionImpl(options.config);
    this.pc.onicecandidate = (event) => {
      // null: gathering is over; simple-peer sends nothing for it either.
      if (!event.candidate || !event.candidate.candidate) return this.gathered?.();
      // An active TCP candidate pairs only with a passive one, which neither a browser nor
      // node-datachannel offers: a signal (signed, relayed, checked) that can never help.
      if (/ tcptype active\b/.test(event.candidate.candidate)) return;
      const candidate = candidateSignal(event.candidate);
      // Gathered before our description left: it may travel inside it (see describe()).
      if (!this.described) this.earlyCandidates.push(candidate);
      else this.emit('signal', { type: 'candidate', candidate });
    };
    this.pc.oniceconnectionstatechange = () => {
      const state = this.pc.iceConnectionState;
      if (state === 'failed') this.fail('ERR_ICE_CONNECTION_FAILURE', 'Ice connection failed.');
      else if (state === 'closed') this.fail('ERR_ICE_CONNECTION_CLOSED', 'Ice connection closed.');
    };
    // As simple-peer: a connection that fails (DTLS, or ICE after it was up) ends the link.
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed') this.fail('ERR_CONNECTION_FAILURE', 'Connection failed.');
    };
    if (options.initiator) {
      // simple-peer names the channel at random; the other side takes whatever channel comes.
      this.setChannel(this.pc.createDataChannel(Math.random().toString(16).slice(2), { ordered: true }));
      void this.negotiate();
    } else {
      this.pc.ondatachannel = (event) => this.setChannel(event.channel);
    }
  }

  /** The underlying connection, for tests that ask it which candidate pair it chose. */
  get connection(): RTCPeerConnection {
    return this.pc;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  get bufferSize(): number {
    return this.channel?.bufferedAmount ?? 0;
  }

  on(event: string, listener: Listener): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  signal(signal: unknown): void {
    if (this.isDestroyed) throw linkError('ERR_DESTROYED', 'cannot signal after peer is destroyed');
    const data: unknown = typeof signal === 'string' ? JSON.parse(signal) : signal;
    if (!data || typeof data !== 'object') throw linkError('ERR_SIGNALING', 'signal() called with invalid signal data');
    const { type, sdp, candidate } = data as { type?: unknown; sdp?: unknown; candidate?: unknown };
    if (candidate && typeof candidate === 'object' && typeof (candidate as { candidate?: unknown }).candidate === 'string') {
      const init = candidate as RTCIceCandidateInit;
      // Before the remote description the platform refuses candidates; they wait for it.
      if (this.remoteSet) this.addCandidate(init);
      else if (this.pendingCandidates.length < maxPendingCandidates) this.pendingCandidates.push(init);
      return;
    }
    if ((type === 'offer' || type === 'answer') && typeof sdp === 'string') {
      // An offer to the initiator, or an answer to the side that did not offer, is a protocol error.
      if ((type === 'offer') === this.initiator) throw linkError('ERR_SIGNALING', `unexpected ${type}`);
      void this.applyDescription({ type, sdp });
      return;
    }
    // {type:'renegotiate'}: a data-only link never needs it (simple-peer sends it for media).
    if (type === 'renegotiate') return;
    throw linkError('ERR_SIGNALING', 'signal() called with invalid signal data');
  }

  send(data: Uint8Array): void {
    if (!this.channel || this.channel.readyState !== 'open') throw linkError('ERR_DATA_CHANNEL', 'the data channel is not open');
    this.channel.send(data as Uint8Array<ArrayBuffer>);
  }

  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.isConnected = false;
    const channel = this.channel;
    this.channel = null;
    if (channel) {
      channel.onopen = channel.onclose = channel.onmessage = channel.onerror = null;
      try {
        channel.close();
      } catch {
        // Closing a channel that is already closing.
      }
    }
    this.pc.onicecandidate = this.pc.oniceconnectionstatechange = this.pc.onconnectionstatechange = this.pc.ondatachannel = null;
    try {
      this.pc.close();
    } catch {
      // Closing a connection that is already closed.
    }
    // Like simple-peer, 'close' comes a moment later, not from inside destroy(): a host that
    // destroys a peer it has already forgotten must not hear about it as a drop.
    queueMicrotask(() => {
      this.emit('close');
      this.listeners.clear();
    });
  }

  private setChannel(channel: RTCDataChannel): void {
    if (this.isDestroyed) return;
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => {
      if (this.isDestroyed || this.isConnected) return;
      this.isConnected = true;
      this.emit('connect');
    };
    channel.onmessage = (event: MessageEvent) => {
      const payload = event.data as ArrayBuffer | ArrayBufferView | string;
      const bytes =
        typeof payload === 'string'
          ? new TextEncoder().encode(payload)
          : ArrayBuffer.isView(payload)
            ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)
            : new Uint8Array(payload);
      this.emit('data', bytes);
    };
    channel.onclose = () => this.destroy();
    channel.onerror = (event: Event) => {
      const error = (event as RTCErrorEvent).error as Error | undefined;
      this.fail('ERR_DATA_CHANNEL', error?.message ?? 'data channel error');
    };
  }

  private async negotiate(): Promise<void> {
    try {
      const offer = await this.pc.createOffer();
      if (this.isDestroyed) return;
      await this.pc.setLocalDescription(offer);
      await this.describe();
    } catch (error) {
      this.fail('ERR_CREATE_OFFER', String(error));
    }
  }

  private async applyDescription(description: RTCSessionDescriptionInit): Promise<void> {
    try {
      await this.pc.setRemoteDescription(description);
      if (this.isDestroyed) return;
      this.remoteSet = true;
      for (const candidate of this.pendingCandidates.splice(0)) this.addCandidate(candidate);
      if (description.type === 'offer') {
        const answer = await this.pc.createAnswer();
        if (this.isDestroyed) return;
        await this.pc.setLocalDescription(answer);
        await this.describe();
      }
    } catch (error) {
      this.fail('ERR_SET_REMOTE_DESCRIPTION', String(error));
    }
  }

  /**
   * Sends our offer or answer once gathering is over, or after descriptionGatherMs at most. The
   * local description then carries the candidates gathered meanwhile (host candidates take a
   * few ms), so those need no signal of their own: each is signed, relayed by the server and
   * checked, and a mesh forming on a loaded machine spent most of its signalling on them.
   * Candidates the description does not carry (or gathered later) trickle as before.
   */
  private async describe(): Promise<void> {
    if (this.pc.iceGatheringState !== 'complete')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, descriptionGatherMs);
        this.gathered = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    this.gathered = null;
    const local = this.pc.localDescription;
    if (this.isDestroyed || !local) return;
    this.described = true;
    this.emit('signal', { type: local.type, sdp: local.sdp });
    for (const candidate of this.earlyCandidates.splice(0)) {
      if (!describesCandidate(local.sdp, candidate.candidate ?? '')) this.emit('signal', { type: 'candidate', candidate });
    }
  }

  private addCandidate(candidate: RTCIceCandidateInit): void {
    // A candidate the platform will not take (another network's, one after close) is ignored,
    // as simple-peer does: the link comes up on the others or times out like any other.
    this.pc.addIceCandidate(candidate).catch(() => {});
  }

  private fail(code: string, message: string): void {
    if (this.isDestroyed) return;
    this.emit('error', linkError(code, message));
    this.destroy();
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) (listener as (...a: unknown[]) => void)(...args);
  }
}
