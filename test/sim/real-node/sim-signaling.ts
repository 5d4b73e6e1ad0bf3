// The signaling server in the simulator: the real room logic of signaling/ (RoomRegistry for who
// is where and who may signal whom, Announcer for batched arrivals and departures, the protocol's
// schemas for every frame) behind simulated sockets instead of `ws` on a port. Joins must carry a
// valid signature over the server's challenge, checked with the run's crypto. The server can be
// taken down (every socket closes, new ones are refused) and brought back.
import { Announcer } from '../../../signaling/announcements.ts';
import { clientMessageSchema, joinSigningText, maxIdsPerPeersFrame, maxPeersInJoinSample, type ServerMessage } from '../../../signaling/protocol.ts';
import { RoomRegistry, type RoomKey } from '../../../signaling/rooms.ts';
import * as limits from '../../../signaling/limits.ts';
import { decodeWith, parseJson } from '../../../src/core/decode.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import type { SocketLike } from '../../../src/net/signaling-client.ts';
import type { NodeLife, TraceSink } from './node-life.ts';
import type { VirtualScheduler } from './scheduler.ts';
import type { SimCrypto } from './sim-crypto.ts';

const connecting = 0;
const open = 1;
const closed = 3;

interface Conn {
  socket: SimSocket;
  challenge: string;
  life: NodeLife;
}

export interface SignalingStats {
  connections: number;
  joins: number;
  relayed: number;
  /** Frames the server sent to clients (welcome, joined, peers, signal, error). */
  sent: number;
  refused: Record<string, number>;
  outages: number;
}

export class SimSignalingServer {
  private up = true;
  private readonly conns = new Set<Conn>();
  private readonly rooms: RoomRegistry<Conn>;
  private readonly announcer: Announcer;
  private readonly challengeRng: Rng;
  readonly stats: SignalingStats = { connections: 0, joins: 0, relayed: 0, sent: 0, refused: {}, outages: 0 };

  constructor(
    readonly scheduler: VirtualScheduler,
    rng: Rng,
    private readonly crypto: SimCrypto,
    private readonly trace: TraceSink,
    /** One-way delay between a node and the server, virtual ms. */
    readonly delayMs: () => number,
    /** The real server's cap (signaling/limits.ts) unless a large-room run raises it. */
    maxNodesPerRoom = limits.maxNodesPerRoom,
  ) {
    this.challengeRng = rng.fork('challenges');
    this.rooms = new RoomRegistry<Conn>(rng, { maxNodesPerRoom, maxRooms: limits.maxRooms, maxPeersInJoinSample });
    this.announcer = new Announcer({
      windowMs: limits.announceWindowMs,
      maxIds: maxIdsPerPeersFrame,
      schedule: (fn, ms) => {
        const event = this.scheduler.after(ms, fn);
        return { cancel: () => this.scheduler.cancel(event) };
      },
      deliver: (room, batch) => {
        for (const conn of this.rooms.members(room)) {
          const own = conn.life.id;
          const joined = batch.joined.filter((id) => id !== own);
          const left = batch.left.filter((id) => id !== own);
          if (joined.length + left.length > 0) this.send(conn, { type: 'peers', joined, left });
        }
      },
    });
  }

  get isUp(): boolean {
    return this.up;
  }

  /** The server goes away: every socket closes (1006) and new ones fail until `restore()`. */
  takeDown(): void {
    if (!this.up) return;
    this.up = false;
    this.stats.outages++;
    for (const conn of [...this.conns]) this.drop(conn, 1006, '');
  }

  restore(): void {
    this.up = true;
  }

  /** A node's createSocket(url). */
  connect(life: NodeLife): SocketLike {
    const socket = new SimSocket(this, life);
    this.scheduler.after(this.delayMs(), () => {
      if (socket.readyState !== connecting) return;
      if (!this.up || !life.alive) {
        socket.deliverClose(1006, '');
        return;
      }
      const conn: Conn = { socket, challenge: this.newChallenge(), life };
      socket.conn = conn;
      this.conns.add(conn);
      this.stats.connections++;
      socket.deliverOpen();
      this.send(conn, { type: 'welcome', challenge: conn.challenge, server: 'sim' });
    });
    return socket;
  }

  /** A one-time challenge as the real server makes them (16 random bytes, base64url), from the seed. */
  private newChallenge(): string {
    return Buffer.from(Array.from({ length: 16 }, () => this.challengeRng.int(256))).toString('base64url');
  }

  /** A frame from a client, after its trip to the server. */
  receive(conn: Conn, text: string): void {
    if (!this.conns.has(conn)) return;
    const parsed = parseJson(text);
    const decoded = parsed.ok ? decodeWith(clientMessageSchema, parsed.value) : null;
    if (!decoded || !decoded.ok) return this.refuse(conn, 'bad-message', 'not a client message');
    const msg = decoded.value;
    switch (msg.type) {
      case 'join': {
        if (!this.crypto.verify(msg.id, joinSigningText(conn.challenge, msg.room, msg.id), msg.sig)) {
          this.refuse(conn, 'bad-signature', 'the join signature does not check out');
          return this.drop(conn, limits.closeCodes.policy, 'bad join signature');
        }
        const outcome = this.rooms.join(conn, msg.room, msg.id as NodeId, msg.verifier);
        if (!outcome.ok) return this.refuse(conn, outcome.code, outcome.message);
        this.stats.joins++;
        this.trace.note(`join ${conn.life.index}`);
        this.send(conn, { type: 'joined', room: msg.room, self: msg.id, peers: outcome.peers });
        this.announcer.joined(outcome.key, msg.id as NodeId);
        return;
      }
      case 'signal': {
        const route = this.rooms.route(conn, msg.to as NodeId);
        if (!route.ok) return this.refuse(conn, route.code, route.message);
        this.stats.relayed++;
        this.send(route.target, { type: 'signal', from: route.from, data: msg.data });
        return;
      }
      case 'leave':
        return this.drop(conn, limits.closeCodes.normal, 'left');
    }
  }

  /** The client closed its socket. */
  clientClosed(conn: Conn): void {
    if (!this.conns.has(conn)) return;
    this.conns.delete(conn);
    this.depart(conn);
  }

  private depart(conn: Conn): void {
    const departure = this.rooms.leave(conn);
    if (departure) this.announcer.left(departure.key as RoomKey, departure.id);
  }

  private drop(conn: Conn, code: number, reason: string): void {
    if (!this.conns.has(conn)) return;
    this.conns.delete(conn);
    this.depart(conn);
    this.scheduler.after(this.delayMs(), () => conn.socket.deliverClose(code, reason));
  }

  private refuse(conn: Conn, code: string, message: string): void {
    this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1;
    this.send(conn, { type: 'error', code, message } as ServerMessage);
  }

  private send(conn: Conn, message: ServerMessage): void {
    const text = JSON.stringify(message);
    this.stats.sent++;
    this.scheduler.after(this.delayMs(), () => {
      if (this.conns.has(conn)) conn.socket.deliverMessage(text);
    });
  }
}

/** The client end of a simulated signaling connection (the SocketLike the runtime expects). */
export class SimSocket implements SocketLike {
  readyState = connecting;
  conn: Conn | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;

  constructor(
    private readonly server: SimSignalingServer,
    private readonly life: NodeLife,
  ) {}

  send(data: string): void {
    if (this.readyState !== open || !this.conn) throw new Error('socket is not open');
    const conn = this.conn;
    this.server.scheduler.after(this.server.delayMs(), () => this.server.receive(conn, data));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === closed) return;
    const conn = this.conn;
    this.readyState = closed;
    if (conn) this.server.scheduler.after(this.server.delayMs(), () => this.server.clientClosed(conn));
    // A browser reports its own close too, asynchronously.
    this.server.scheduler.after(0, () => this.life.run(() => this.onclose?.({ code, reason })));
  }

  /** The node died: the server sees the connection drop; the dead client hears nothing. */
  abort(): void {
    if (this.readyState === closed) return;
    const conn = this.conn;
    this.readyState = closed;
    if (conn) this.server.scheduler.after(this.server.delayMs(), () => this.server.clientClosed(conn));
  }

  deliverOpen(): void {
    this.readyState = open;
    this.life.run(() => this.onopen?.({}));
  }

  deliverMessage(text: string): void {
    if (this.readyState !== open) return;
    this.life.run(() => this.onmessage?.({ data: text }));
  }

  deliverClose(code: number, reason: string): void {
    if (this.readyState === closed) return;
    this.readyState = closed;
    this.life.run(() => this.onclose?.({ code, reason }));
  }
}
