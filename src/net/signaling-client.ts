// The node's side of the signaling protocol (signaling/protocol.ts). It runs in the protocol
// worker (WebSocket exists in workers, and worker timers are not throttled like a hidden
// page's), keeps the connection up with backoff, and hands introductions and signals upward.
// The Node peer uses it too, with `ws` as its socket.
//
// Given several URLs (servers of one cluster), it connects to the first and, whenever a
// connection closes or cannot be opened, tries the next one round the list, with the same
// backoff: a node whose server died is back through another within about a second.
import type { NodeId } from '../core/types.ts';
import { signalingUrlList } from './signaling-urls.ts';
import type { TimerHandle, Timers } from '../worker/clock.ts';
import { realTimers as hostTimers } from '../worker/real-clock.ts';
import { decodeServerMessageIn, joinSigningText, type ClientMessage } from '../../signaling/protocol.ts';

export type SignalingStatus = 'connecting' | 'joined' | 'disconnected' | 'refused';

/** The subset of the WebSocket API we use, so a Node `ws` socket fits as well as the browser's. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface SignalingHandlers {
  status(status: SignalingStatus, detail: string): void;
  joined(peers: NodeId[]): void;
  peerJoined(peer: NodeId): void;
  peerLeft(peer: NodeId): void;
  signal(from: NodeId, data: Record<string, unknown>): void;
  /** A refusal from the server (its error code; maybe one newer than this client) or 'bad-frame', for the counters. */
  problem(code: string, message: string): void;
  /** The server refused this node for good (until reconnect()): its code and what to do. */
  refused?(code: string, message: string): void;
  /**
   * Something to tell the person, not a refusal: the node is in the room (for example, "a
   * private room of this name exists: enter its password"). Codes may be newer than this client.
   */
  notice?(code: string, message: string): void;
}

export interface SignalingOptions {
  /** One signaling server, or several to fail over between (signaling-urls.ts). */
  url: string | readonly string[];
  room: string;
  id: NodeId;
  sign(text: string): Promise<string>;
  /** Private rooms: the password verifier sent with every join (src/net/room-key.ts). */
  verifier?: string;
  createSocket(url: string): SocketLike;
  handlers: SignalingHandlers;
  /** Where retry timers are set (the runtime's injected Timers); default: the host's. */
  timers?: Timers;
  /** A number in [0, 1) for the retry jitter (the runtime's seeded stream); default Math.random. */
  random?: () => number;
}

/** First retry delay; doubles on each failure up to the maximum, with ±25 % jitter. */
const reconnectBaseMs = 500;
const reconnectMaxMs = 15_000;
/** Refusals after which retrying cannot help (the server said no for a reason we cannot fix). */
const finalRefusals: ReadonlySet<string> = new Set(['bad-signature', 'origin-refused', 'password-required', 'wrong-password', 'room-not-private']);
const socketOpen = 1;

export class SignalingClient {
  private socket: SocketLike | null = null;
  private retryTimer: TimerHandle | null = null;
  private readonly timers: Timers;
  private readonly random: () => number;
  private failures = 0;
  private stopped = false;
  private joined = false;
  private refusedFinally = false;
  /** The server's message with the final refusal, shown as the status detail. */
  private refusalMessage = '';
  private readonly urls: string[];
  /** The URL of urls in use; it moves on after each close or failed attempt. */
  private urlIndex = 0;

  constructor(private readonly options: SignalingOptions) {
    this.timers = options.timers ?? hostTimers;
    this.random = options.random ?? Math.random;
    this.urls = signalingUrlList(options.url);
    if (this.urls.length === 0) throw new Error('no signaling URL given');
  }

  /** The signaling server this client uses now (or tries next). */
  get currentUrl(): string {
    return this.urls[this.urlIndex] as string;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Says goodbye to the room (a graceful leave) and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.socket && this.socket.readyState === socketOpen) this.write({ type: 'leave' });
    this.socket?.close(1000, 'leaving');
    this.socket = null;
  }

  /** Connects again now (for a user command or a test), forgetting any final refusal. */
  reconnect(): void {
    this.refusedFinally = false;
    this.refusalMessage = '';
    this.failures = 0;
    this.socket?.close(1000, 'reconnecting');
    this.socket = null;
    if (!this.stopped) this.connect();
  }

  get isJoined(): boolean {
    return this.joined;
  }

  /** Sends a signed signal through the server; false when not joined (caller may relay over the mesh). */
  sendSignal(to: NodeId, data: Record<string, unknown>): boolean {
    if (!this.joined) return false;
    return this.write({ type: 'signal', to, data });
  }

  private write(message: ClientMessage): boolean {
    if (!this.socket || this.socket.readyState !== socketOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  private connect(): void {
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.joined = false;
    const url = this.currentUrl;
    this.options.handlers.status('connecting', url);
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(url);
    } catch (error) {
      this.scheduleRetry(`cannot open ${url}: ${String(error)}`);
      return;
    }
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket === socket) void this.onFrame(ev.data);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const wasJoined = this.joined;
      this.joined = false;
      if (wasJoined) this.failures = 0;
      const why = ev.reason ? `closed: ${ev.reason}` : `closed (code ${ev.code})`;
      this.scheduleRetry(why);
    };
    socket.onerror = () => {
      /* followed by onclose, which decides what to do */
    };
  }

  private scheduleRetry(why: string): void {
    if (this.stopped) return;
    if (this.refusedFinally) {
      this.options.handlers.status('refused', this.refusalMessage || why);
      return;
    }
    const delay = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** this.failures) * (0.75 + this.random() * 0.5);
    this.failures++;
    // Fail over: the next server of the list (the same one when there is only one).
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    const next = this.urls.length > 1 ? ` at ${this.currentUrl}` : '';
    this.options.handlers.status('disconnected', `${why}; retrying${next} in ${(delay / 1000).toFixed(1)} s`);
    this.retryTimer = this.timers.setTimeout(() => this.connect(), delay);
  }

  private async onFrame(data: unknown): Promise<void> {
    const handlers = this.options.handlers;
    if (typeof data !== 'string') {
      handlers.problem('bad-frame', 'binary frame from the signaling server');
      return;
    }
    const decoded = decodeServerMessageIn(data);
    if (!decoded.ok) {
      handlers.problem('bad-frame', decoded.error);
      return;
    }
    const message = decoded.value;
    switch (message.type) {
      case 'welcome': {
        const { room, id } = this.options;
        const sig = await this.options.sign(joinSigningText(message.challenge, room, id));
        const verifier = this.options.verifier;
        this.write(verifier === undefined ? { type: 'join', room, id, sig } : { type: 'join', room, id, sig, verifier });
        return;
      }
      case 'joined':
        if (message.self !== this.options.id) {
          handlers.problem('bad-frame', 'server confirmed a join for another id');
          return;
        }
        this.joined = true;
        this.failures = 0;
        // Which server, so a person (and a test) can see a failover happen.
        handlers.status('joined', `room ${message.room} through ${this.currentUrl}`);
        handlers.joined(message.peers.filter((p) => p !== this.options.id) as NodeId[]);
        return;
      case 'peers':
        // Departures first: an id in both lists left and came back on a new connection.
        for (const peer of message.left) if (peer !== this.options.id) handlers.peerLeft(peer as NodeId);
        for (const peer of message.joined) if (peer !== this.options.id) handlers.peerJoined(peer as NodeId);
        return;
      case 'notice':
        handlers.notice?.(message.code, message.message);
        return;
      // The one-by-one forms of version 1 servers.
      case 'peer-joined':
        if (message.peer !== this.options.id) handlers.peerJoined(message.peer as NodeId);
        return;
      case 'peer-left':
        handlers.peerLeft(message.peer as NodeId);
        return;
      case 'signal':
        handlers.signal(message.from as NodeId, message.data);
        return;
      case 'error':
        handlers.problem(message.code, message.message);
        if (finalRefusals.has(message.code)) {
          this.refusedFinally = true;
          this.refusalMessage = message.message;
          handlers.refused?.(message.code, message.message);
        }
        return;
    }
  }
}
