// The signaling logic on top of any Node HTTP server: takes WebSocket upgrades at /signal only
// (leaving every other upgrade, such as Vite's HMR socket, to its owner), checks every frame,
// and relays signals between nodes of one room (rooms.ts decides who may reach whom).
//
// Every refusal is counted, answered with an error frame that says what to do, and counted as a
// strike against the sender; only the sender is ever affected. Every handler is guarded: no
// input from a client can throw out of here.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { createRng } from '../src/core/rng.ts';
import { decodeWith, parseJson } from '../src/core/decode.ts';
import type { NodeId } from '../src/core/types.ts';
import {
  clientMessageSchema,
  errorCodes,
  maxFrameBytes,
  maxPeersInJoinSample,
  signalingPath,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
} from './protocol.ts';
import * as limits from './limits.ts';
import { RoomRegistry, shortId } from './rooms.ts';
import { StrikeCounter, TokenBucket } from './rate-limit.ts';
import { checkJoinSignature, newChallenge } from './identity.ts';

export interface SignalingOptions {
  /**
   * Origins allowed to open a signaling socket: exact origins (`http://localhost:8080`) or a
   * predicate (given the upgrade request too, to compare with its Host). Default: any origin;
   * createTabmeshServer passes signaling/origins.ts's stricter default. A refused origin gets
   * `origin-refused`.
   */
  allowedOrigins?: readonly string[] | ((origin: string | undefined, req?: IncomingMessage) => boolean);
  /** How often sockets are pinged; a socket that misses one pong is dropped at the next. */
  heartbeatIntervalMs?: number;
  /** A connection that has not joined by then is closed. */
  joinDeadlineMs?: number;
  maxNodesPerRoom?: number;
  maxRooms?: number;
  maxConnections?: number;
  rateLimitPerS?: number;
  rateLimitBurst?: number;
  maxFloodStrikes?: number;
  floodStrikeLeakPerS?: number;
  /** Seed for the random peer samples (default: random per server). */
  seed?: number;
  /** Milliseconds on a monotonic clock (default performance.now); for rate limits and deadlines. */
  now?: () => number;
  /** Where notable events go (a flooder closed, an internal error). Default: nowhere. */
  log?: (line: string) => void;
}

export interface SignalingStats {
  rooms: number;
  /** Rooms joined with a password (private rooms); included in `rooms`. */
  privateRooms: number;
  connections: number;
  nodes: number;
  uptimeS: number;
  /** Frames refused, by the error code the sender was given. */
  refusals: Record<ErrorCode, number>;
  relayedSignals: number;
  closedForFlooding: number;
  deadSocketsDropped: number;
  closedForNoJoin: number;
  /** Frames not sent because the receiver's send buffer was over maxSendBufferBytes. */
  framesDroppedSlowReader: number;
  /** Exceptions caught in a handler (a bug, never the client's fault); see the log. */
  internalErrors: number;
}

export interface SignalingHandle {
  stats(): SignalingStats;
  /** Closes every signaling socket (1001) and stops taking upgrades; the HTTP server stays. */
  close(): Promise<void>;
}

/** Name sent in every welcome, so a client can tell which server answered. */
const serverName = 'tabmesh-signaling/1';
/** Join refusals about a room's password: closed as final (1008), the client does not retry. */
const passwordCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['password-required', 'wrong-password', 'room-not-private']);
/** How long close() waits for sockets to finish the closing handshake before cutting them. */
const closeGraceMs = 1_000;

interface Conn {
  readonly ws: WebSocket;
  readonly challenge: string;
  readonly openedMs: number;
  readonly address: string;
  readonly bucket: TokenBucket;
  readonly strikes: StrikeCounter;
  /** Answered the last ping (or has not been pinged yet). */
  alive: boolean;
  /** A close was started by the server; later frames are ignored. */
  closing: boolean;
}

export function attachSignaling(httpServer: HttpServer, options: SignalingOptions = {}): SignalingHandle {
  const now = options.now ?? (() => performance.now());
  const log = options.log ?? (() => {});
  const startedMs = now();
  const heartbeatMs = options.heartbeatIntervalMs ?? limits.heartbeatIntervalMs;
  const joinDeadline = options.joinDeadlineMs ?? limits.joinDeadlineMs;
  const maxConnections = options.maxConnections ?? limits.maxConnections;
  const bucketConfig = {
    ratePerS: options.rateLimitPerS ?? limits.rateLimitPerS,
    burst: options.rateLimitBurst ?? limits.rateLimitBurst,
  };
  const strikeConfig = {
    limit: options.maxFloodStrikes ?? limits.maxFloodStrikes,
    leakPerS: options.floodStrikeLeakPerS ?? limits.floodStrikeLeakPerS,
  };
  const originAllowed = originPolicy(options.allowedOrigins);

  const rooms = new RoomRegistry<Conn>(createRng(options.seed ?? randomBytes(4).readUInt32LE(0)), {
    maxNodesPerRoom: options.maxNodesPerRoom ?? limits.maxNodesPerRoom,
    maxRooms: options.maxRooms ?? limits.maxRooms,
    maxPeersInJoinSample,
  });
  const conns = new Set<Conn>();
  const counters = {
    refusals: Object.fromEntries(errorCodes.map((code) => [code, 0])) as Record<ErrorCode, number>,
    relayedSignals: 0,
    closedForFlooding: 0,
    deadSocketsDropped: 0,
    closedForNoJoin: 0,
    framesDroppedSlowReader: 0,
    internalErrors: 0,
  };
  let closed = false;

  const wss = new WebSocketServer({
    noServer: true,
    // Frames up to 4× the limit are read and refused politely; beyond, ws closes with 1009.
    maxPayload: limits.hardFrameBytes,
    // Compression would let a small frame inflate into a large one; signals are small anyway.
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('error', (err) => log(`signaling: server socket error: ${err.message}`));

  const guard =
    <A extends unknown[]>(what: string, fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        counters.internalErrors++;
        log(`signaling: internal error in ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    };

  const onUpgrade = guard('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closed || pathnameOf(req.url) !== signalingPath) return; // someone else's upgrade
    wss.handleUpgrade(req, socket, head, guard('connection', (ws: WebSocket) => onConnection(ws, req)));
  });
  httpServer.on('upgrade', onUpgrade);

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', guard('socket error', (err: Error) => onSocketError(err)));
    if (conns.size >= maxConnections) {
      counters.refusals['server-full']++;
      sendRaw(ws, errorFrame('server-full', `this server holds its limit of ${maxConnections} connections; try again later`));
      ws.close(limits.closeCodes.tryAgainLater, 'server full');
      return;
    }
    const origin = req.headers.origin;
    if (!originAllowed(origin, req)) {
      counters.refusals['origin-refused']++;
      sendRaw(ws, errorFrame('origin-refused', `pages from origin ${origin ?? '(none)'} may not use this signaling server; open the app from the server's own address`));
      ws.close(limits.closeCodes.policy, 'origin refused');
      return;
    }
    const openedMs = now();
    const conn: Conn = {
      ws,
      challenge: newChallenge(),
      openedMs,
      address: req.socket.remoteAddress ?? 'unknown',
      bucket: new TokenBucket(bucketConfig, openedMs),
      strikes: new StrikeCounter(strikeConfig, openedMs),
      alive: true,
      closing: false,
    };
    conns.add(conn);
    ws.on('message', guard('message', (data: RawData, isBinary: boolean) => onFrame(conn, data, isBinary)));
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('close', guard('close', () => onClose(conn)));
    send(conn, { type: 'welcome', challenge: conn.challenge, server: serverName });

    function onSocketError(err: Error): void {
      // ws closes the socket itself after these; all that is left is to count them.
      const code = (err as { code?: string }).code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') counters.refusals['too-large']++;
      else if (code?.startsWith('WS_ERR_')) counters.refusals['bad-message']++;
    }
  }

  function onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    const t = now();
    if (!conn.bucket.tryTake(t)) {
      return refuse(conn, 'rate-limited', `more than ${bucketConfig.ratePerS} frames per second (burst ${bucketConfig.burst}); this frame was dropped — slow down`);
    }
    const bytes = toBuffer(data);
    if (bytes.length > maxFrameBytes) {
      return refuse(conn, 'too-large', `frame of ${bytes.length} bytes refused; the limit is ${maxFrameBytes} bytes`);
    }
    if (isBinary) return refuse(conn, 'bad-message', 'send JSON as text frames, not binary frames');
    const parsed = parseJson(bytes.toString('utf8'));
    if (!parsed.ok) return refuse(conn, 'bad-json', 'the frame is not valid JSON; send one JSON object per frame');
    const decoded = decodeWith(clientMessageSchema, parsed.value);
    if (!decoded.ok) {
      return refuse(conn, 'bad-message', `${decoded.error} (frames are join, signal or leave; see signaling/protocol.ts)`);
    }
    handle(conn, decoded.value);
  }

  function handle(conn: Conn, msg: ClientMessage): void {
    switch (msg.type) {
      case 'join': {
        const current = rooms.membership(conn);
        if (current) {
          return refuse(conn, 'already-joined', `this connection is already node ${shortId(current.id)} in room "${current.room}"; to join as another node or room, open a new connection`);
        }
        const identity = checkJoinSignature(conn.challenge, msg);
        if (!identity.ok) {
          refuse(conn, identity.code, identity.message);
          // A wrong signature will not get right by trying again on this connection.
          if (identity.code === 'bad-signature') closeConn(conn, limits.closeCodes.policy, 'bad join signature');
          return;
        }
        const id = msg.id as NodeId;
        const outcome = rooms.join(conn, msg.room, id, msg.verifier);
        if (!outcome.ok) {
          refuse(conn, outcome.code, outcome.message);
          // A password that does not fit will not fit on retry: a person has to act (final).
          if (passwordCodes.has(outcome.code)) {
            closeConn(conn, limits.closeCodes.policy, outcome.code);
            return;
          }
          // Full rooms and ids still held by a dying connection clear up: close with "try again
          // later" so the client's reconnect backoff, not a socket idling here, does the retry.
          closeConn(conn, limits.closeCodes.tryAgainLater, `${outcome.code}; retry later`);
          return;
        }
        send(conn, { type: 'joined', room: msg.room, self: id, peers: outcome.peers });
        for (const other of outcome.announceTo) send(other, { type: 'peer-joined', peer: id });
        return;
      }
      case 'signal': {
        const self = rooms.membership(conn);
        if (self && msg.from !== undefined && msg.from !== self.id) {
          return refuse(conn, 'spoofed-sender', `from: this connection is node ${shortId(self.id)}, not ${shortId(msg.from)}; leave from out and the server fills it in`);
        }
        const route = rooms.route(conn, msg.to as NodeId);
        if (!route.ok) return refuse(conn, route.code, route.message);
        if (!send(route.target, { type: 'signal', from: route.from, data: msg.data })) {
          return refuse(conn, 'rate-limited', `node ${shortId(msg.to)} is not reading its signals fast enough; this one was dropped — retry later`);
        }
        counters.relayedSignals++;
        return;
      }
      case 'leave': {
        depart(conn);
        closeConn(conn, limits.closeCodes.normal, 'left');
        return;
      }
    }
  }

  function refuse(conn: Conn, code: ErrorCode, message: string): void {
    counters.refusals[code]++;
    send(conn, errorFrame(code, message));
    if (conn.strikes.strike(now())) {
      counters.closedForFlooding++;
      log(`signaling: closed ${conn.address} after more than ${strikeConfig.limit} refused frames (last: ${code})`);
      closeConn(conn, limits.closeCodes.policy, `more than ${strikeConfig.limit} refused frames; fix the client and reconnect`);
    }
  }

  function onClose(conn: Conn): void {
    conns.delete(conn);
    depart(conn);
  }

  function depart(conn: Conn): void {
    const departure = rooms.leave(conn);
    if (!departure) return;
    for (const other of departure.announceTo) send(other, { type: 'peer-left', peer: departure.id });
  }

  function closeConn(conn: Conn, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.ws.close(code, reason);
  }

  /** Sends unless the socket is closing or its reader has fallen too far behind. */
  function send(conn: Conn, msg: ServerMessage): boolean {
    if (conn.ws.bufferedAmount > limits.maxSendBufferBytes) {
      counters.framesDroppedSlowReader++;
      return false;
    }
    return sendRaw(conn.ws, msg);
  }

  const heartbeat = setInterval(
    guard('heartbeat', () => {
      const t = now();
      for (const conn of conns) {
        if (!conn.alive) {
          counters.deadSocketsDropped++;
          conn.closing = true;
          conn.ws.terminate(); // its 'close' announces the leave
          continue;
        }
        if (!conn.closing && t - conn.openedMs > joinDeadline && !rooms.membership(conn)) {
          counters.closedForNoJoin++;
          closeConn(conn, limits.closeCodes.policy, `no join within ${Math.round(joinDeadline / 1000)} s`);
        }
        conn.alive = false;
        if (conn.ws.readyState === WebSocket.OPEN) conn.ws.ping();
      }
    }),
    heartbeatMs,
  );
  heartbeat.unref();

  return {
    stats: () => ({
      ...rooms.counts(),
      privateRooms: rooms.privateRoomCount(),
      connections: conns.size,
      uptimeS: Math.floor((now() - startedMs) / 1000),
      ...counters,
      refusals: { ...counters.refusals },
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      httpServer.off('upgrade', onUpgrade);
      const pending = [...conns].map(
        (conn) =>
          new Promise<void>((resolve) => {
            if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
            conn.ws.once('close', () => resolve());
            closeConn(conn, limits.closeCodes.goingAway, 'server shutting down');
          }),
      );
      const grace = setTimeout(() => {
        for (const conn of conns) conn.ws.terminate();
      }, closeGraceMs);
      grace.unref();
      await Promise.all(pending);
      clearTimeout(grace);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function errorFrame(code: ErrorCode, message: string): ServerMessage {
  return { type: 'error', code, message };
}

function sendRaw(ws: WebSocket, msg: ServerMessage): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(msg));
  return true;
}

function originPolicy(allowed: SignalingOptions['allowedOrigins']): (origin: string | undefined, req: IncomingMessage) => boolean {
  if (allowed === undefined) return () => true;
  if (typeof allowed === 'function') return allowed;
  const set = new Set(allowed);
  return (origin) => origin !== undefined && set.has(origin);
}

/** The request path without its query; a URL parser would read `//host/signal` as a host. */
function pathnameOf(url: string | undefined): string {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
