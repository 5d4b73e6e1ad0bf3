// The signaling logic on top of any Node HTTP server: takes WebSocket upgrades at /signal only
// (leaving every other upgrade, such as Vite's HMR socket, to its owner), checks every frame,
// and relays signals between nodes of one room (rooms.ts decides who may reach whom).
//
// Every refusal is counted, answered with an error frame that says what to do, and counted as a
// strike against the sender; only the sender is ever affected. Every handler is guarded: no
// input from a client can throw out of here.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { createRng } from '../src/core/rng.ts';
import { clipEcho, decodeWith, parseJson } from '../src/core/decode.ts';
import type { NodeId } from '../src/core/types.ts';
import {
  clientMessageSchema,
  errorCodes,
  maxFrameBytes,
  maxFrameDepth,
  maxFrameMembers,
  maxDataKeys,
  maxDataDepth,
  maxIdsPerPeersFrame,
  maxPeersInJoinSample,
  signalingPath,
  type ClientMessage,
  type ErrorCode,
  type NoticeCode,
  type ServerMessage,
} from './protocol.ts';
import * as limits from './limits.ts';
import { RoomRegistry, roomKeyOf, shortId, type RoomKey } from './rooms.ts';
import { KeyedBuckets, StrikeCounter, TokenBucket } from './rate-limit.ts';
import { checkJoinSignature, newChallenge } from './identity.ts';
import { MemoryQuotaStore, type AddressQuotaStore, type QuotaKey } from './address-limits.ts';
import { addressKey, clientAddress, type TrustedProxies } from './client-address.ts';
import { Announcer } from './announcements.ts';
import { jsonTextShapeWithin } from './json-text-shape.ts';
import type { HostPolicy } from './host-allowlist.ts';
import type { ClusterBus, ClusterStats, LocalState } from './cluster/bus.ts';

export interface SignalingOptions {
  /**
   * Origins allowed to open a signaling socket: exact origins (`http://localhost:8080`) or a
   * predicate (given the upgrade request too, to compare with its Host). Default: any origin;
   * createTabmeshServer passes signaling/origins.ts's stricter default. A refused origin gets
   * `origin-refused`.
   */
  allowedOrigins?: readonly string[] | ((origin: string | undefined, req?: IncomingMessage) => boolean);
  /**
   * Host names the signaling socket answers to (host-allowlist.ts hostPolicy), so that DNS
   * rebinding fails; an upgrade for another Host is answered 421. Default: any Host.
   */
  allowedHosts?: HostPolicy;
  /** How often sockets are pinged; a socket that misses one pong is dropped at the next. */
  heartbeatIntervalMs?: number;
  /** A connection that has not joined by then is closed. */
  joinDeadlineMs?: number;
  maxNodesPerRoom?: number;
  maxRooms?: number;
  maxConnections?: number;
  rateLimitPerS?: number;
  rateLimitBurst?: number;
  /** Bytes per second a connection may send (all frames, control frames too), and its burst. */
  rateLimitBytesPerS?: number;
  rateLimitBurstBytes?: number;
  /** An address's frames and bytes across its connections, in connections' worth (limits.addressBudgetConnections). */
  addressBudgetConnections?: number;
  maxFloodStrikes?: number;
  floodStrikeLeakPerS?: number;
  /** Per client address (see limits.ts): open connections, live rooms opened, seats in one room. */
  maxConnectionsPerAddress?: number;
  maxRoomsPerAddress?: number;
  maxSeatsPerAddressPerRoom?: number;
  /** Private joins with a password nobody in a room of that name uses, per address. */
  passwordMissesPerMinute?: number;
  passwordMissBurst?: number;
  /**
   * Proxies whose X-Forwarded-For is believed (client-address.ts parseTrustedProxies). Default:
   * none, so every connection counts under its socket's address.
   */
  trustedProxies?: TrustedProxies;
  /** Where the per-address counts live (default: in this process). */
  quotaStore?: AddressQuotaStore;
  /**
   * The other members of a cluster (cluster/redis-cluster.ts, `--redis`). Without one the hub is
   * the whole service, as it always was; with one, joins, caps, announcements and signals also
   * go through the cluster (see admitJoin).
   */
  cluster?: ClusterBus;
  /** Bytes queued to one socket beyond which frames to it are dropped. */
  maxSendBufferBytes?: number;
  /** A socket over maxSendBufferBytes this long is closed. */
  slowReaderCloseMs?: number;
  /** How often send buffers are checked. */
  sendBufferCheckIntervalMs?: number;
  /** How long arrivals and departures are gathered into one `peers` frame. */
  announceWindowMs?: number;
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
  /** Sockets closed because their send buffer stayed over maxSendBufferBytes. */
  closedSlowReader: number;
  /** Pongs that did not answer the server's outstanding ping (ignored: they prove nothing). */
  unsolicitedPongs: number;
  /** Distinct client addresses holding a connection now. */
  clientAddresses: number;
  /** `peers` frames sent (one per room per announcement window, to each member). */
  announcementFrames: number;
  /** Notices sent (a private room beside an open one, a password nobody uses). */
  notices: number;
  /** Upgrades refused (421) because their Host is not one this server answers to. */
  refusedHosts: number;
  /** Exceptions caught in a handler (a bug, never the client's fault); see the log. */
  internalErrors: number;
  /** The cluster this server is one member of (`--redis`); absent for a single process. */
  cluster?: ClusterStats;
}

export interface SignalingHandle {
  stats(): SignalingStats;
  /** Closes every signaling socket (1001) and stops taking upgrades; the HTTP server stays. */
  close(): Promise<void>;
}

/** Name sent in every welcome, so a client can tell which server answered. */
const serverName = 'tabmesh-signaling/2';
/** How long close() waits for sockets to finish the closing handshake before cutting them. */
const closeGraceMs = 1_000;
/** Random bytes in each heartbeat ping; only a pong carrying them back counts as alive. */
const pingNonceBytes = 8;
/** What a WebSocket frame costs on top of its payload (header and mask), for the byte limit. */
const frameOverheadBytes = 6;
/** Longest error message sent (clients accept up to 1,000 characters). */
const maxErrorMessageChars = 1_000;
/** Internal errors logged with their stack per minute (sustained) and at once; the rest are counted only. */
const internalErrorLogsPerMinute = 10;
const internalErrorLogBurst = 10;
/** Client addresses remembered for the wrong-password throttle (oldest forgotten first). */
const maxThrottledAddresses = 10_000;

interface Conn {
  readonly ws: WebSocket;
  readonly challenge: string;
  readonly openedMs: number;
  /** The client's address as the per-address caps count it (client-address.ts addressKey). */
  readonly address: string;
  readonly bucket: TokenBucket;
  readonly byteBucket: TokenBucket;
  readonly strikes: StrikeCounter;
  /** The payload of the ping not answered yet; null when the last one was answered (or none sent). */
  pingNonce: Buffer | null;
  /** Since when the send buffer has been over the limit; null while it is not. */
  overBufferSinceMs: number | null;
  /** Holds one unit of the address's connection quota (released on close). */
  holdsConnectionQuota: boolean;
  /** A close was started by the server; later frames are ignored. */
  closing: boolean;
  /** Cluster only: the join is admitted locally and waits for the cluster's answer. */
  joinPending: boolean;
  /** Cluster only: holds a cluster-wide connection unit for its address (given back on close). */
  holdsClusterConnection: boolean;
}

export function attachSignaling(httpServer: HttpServer | HttpsServer, options: SignalingOptions = {}): SignalingHandle {
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
  const byteBucketConfig = {
    ratePerS: options.rateLimitBytesPerS ?? limits.rateLimitBytesPerS,
    burst: options.rateLimitBurstBytes ?? limits.rateLimitBurstBytes,
  };
  const strikeConfig = {
    limit: options.maxFloodStrikes ?? limits.maxFloodStrikes,
    leakPerS: options.floodStrikeLeakPerS ?? limits.floodStrikeLeakPerS,
  };
  const caps = {
    connections: options.maxConnectionsPerAddress ?? limits.maxConnectionsPerAddress,
    rooms: options.maxRoomsPerAddress ?? limits.maxRoomsPerAddress,
    seats: options.maxSeatsPerAddressPerRoom ?? limits.maxSeatsPerAddressPerRoom,
  };
  const maxSendBufferBytes = options.maxSendBufferBytes ?? limits.maxSendBufferBytes;
  const slowReaderCloseMs = options.slowReaderCloseMs ?? limits.slowReaderCloseMs;
  const originAllowed = originPolicy(options.allowedOrigins);
  const quotas = options.quotaStore ?? new MemoryQuotaStore();
  const cluster = options.cluster;
  /** Who opened each live room: its room quota goes back to that address when it empties. */
  const roomOpeners = new Map<RoomKey, string>();
  const passwordMisses = new KeyedBuckets(
    {
      ratePerS: (options.passwordMissesPerMinute ?? limits.passwordMissesPerMinute) / 60,
      burst: options.passwordMissBurst ?? limits.passwordMissBurst,
    },
    maxThrottledAddresses,
  );
  const addressShare = options.addressBudgetConnections ?? limits.addressBudgetConnections;
  const addressFrames = new KeyedBuckets({ ratePerS: bucketConfig.ratePerS * addressShare, burst: bucketConfig.burst * addressShare }, limits.maxConnections);
  const addressBytes = new KeyedBuckets(
    { ratePerS: byteBucketConfig.ratePerS * addressShare, burst: byteBucketConfig.burst * addressShare },
    limits.maxConnections,
  );
  const errorLogBudget = new TokenBucket({ ratePerS: internalErrorLogsPerMinute / 60, burst: internalErrorLogBurst }, now());

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
    closedSlowReader: 0,
    unsolicitedPongs: 0,
    announcementFrames: 0,
    notices: 0,
    refusedHosts: 0,
    internalErrors: 0,
  };
  let closed = false;

  const announcer = new Announcer({
    windowMs: options.announceWindowMs ?? limits.announceWindowMs,
    maxIds: maxIdsPerPeersFrame,
    schedule: (fn, ms) => {
      const timer = setTimeout(guard('announcement', fn), ms);
      return { cancel: () => clearTimeout(timer) };
    },
    deliver: (room, batch) => {
      // Serialised once for the whole room; the receiver skips its own id.
      const text = JSON.stringify({ type: 'peers', joined: batch.joined, left: batch.left } satisfies ServerMessage);
      for (const member of rooms.members(room)) {
        if (sendText(member, text)) counters.announcementFrames++;
      }
    },
  });

  const wss = new WebSocketServer({
    noServer: true,
    // Frames up to 4× the limit are read and refused politely; beyond, ws closes with 1009.
    maxPayload: limits.hardFrameBytes,
    // Pings are answered by hand, inside the rate limits (onConnection).
    autoPong: false,
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
        // A bug alarm: no client input should ever get here. Logged with its stack, but only so
        // often, so that if one does, a flood of it cannot flood the log too.
        counters.internalErrors++;
        if (errorLogBudget.tryTake(now())) {
          log(`signaling: internal error in ${what} (${counters.internalErrors} so far): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
    };

  const onUpgrade = guard('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closed || pathnameOf(req.url) !== signalingPath) return; // someone else's upgrade
    if (options.allowedHosts && !options.allowedHosts(req.headers.host)) {
      counters.refusedHosts++;
      socket.on('error', () => {});
      socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nThis server does not answer to that host name.\n');
      return;
    }
    wss.handleUpgrade(
      req,
      socket,
      head,
      guard('connection', (ws: WebSocket) => onConnection(ws, req)),
    );
  });
  httpServer.on('upgrade', onUpgrade);

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    ws.on(
      'error',
      guard('socket error', (err: Error) => onSocketError(err)),
    );
    if (conns.size >= maxConnections) {
      counters.refusals['server-full']++;
      sendRaw(ws, errorFrame('server-full', `this server holds its limit of ${maxConnections} connections; try again later`));
      ws.close(limits.closeCodes.tryAgainLater, 'server full');
      return;
    }
    const origin = req.headers.origin;
    if (!originAllowed(origin, req)) {
      counters.refusals['origin-refused']++;
      sendRaw(
        ws,
        errorFrame(
          'origin-refused',
          `pages from origin ${clipEcho(origin ?? '(none)')} may not use this signaling server; open the app from the server's own address`,
        ),
      );
      ws.close(limits.closeCodes.policy, 'origin refused');
      return;
    }
    const address = addressKey(clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], options.trustedProxies));
    if (!quotas.tryTake(address, 'connections', caps.connections)) {
      counters.refusals['address-quota']++;
      sendRaw(
        ws,
        errorFrame(
          'address-quota',
          `your address already holds ${caps.connections} connections to this server, its limit per address; close some tabs or try again later`,
        ),
      );
      ws.close(limits.closeCodes.tryAgainLater, 'too many connections from this address');
      return;
    }
    const openedMs = now();
    const conn: Conn = {
      ws,
      challenge: newChallenge(),
      openedMs,
      address,
      bucket: new TokenBucket(bucketConfig, openedMs),
      byteBucket: new TokenBucket(byteBucketConfig, openedMs),
      strikes: new StrikeCounter(strikeConfig, openedMs),
      pingNonce: null,
      overBufferSinceMs: null,
      holdsConnectionQuota: true,
      closing: false,
      joinPending: false,
      holdsClusterConnection: false,
    };
    conns.add(conn);
    if (cluster) void takeClusterConnection(cluster, conn);
    ws.on(
      'message',
      guard('message', (data: RawData, isBinary: boolean) => onFrame(conn, data, isBinary)),
    );
    // Control frames cost like any other: counted against both limits, answered only within them.
    ws.on(
      'ping',
      guard('ping', (data: Buffer) => {
        if (admit(conn, data.length + frameOverheadBytes, 'ping')) ws.pong(data);
      }),
    );
    ws.on(
      'pong',
      guard('pong', (data: Buffer) => onPong(conn, data)),
    );
    ws.on(
      'close',
      guard('close', () => onClose(conn)),
    );
    send(conn, { type: 'welcome', challenge: conn.challenge, server: serverName });

    function onSocketError(err: Error): void {
      // ws closes the socket itself after these; all that is left is to count them.
      const code = (err as { code?: string }).code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') counters.refusals['too-large']++;
      else if (code?.startsWith('WS_ERR_')) counters.refusals['bad-message']++;
    }
  }

  /** Takes one frame and `bytes` from the connection's limits; refuses (with a strike) when over. */
  function admit(conn: Conn, bytes: number, what: string): boolean {
    if (conn.closing) return false;
    const t = now();
    if (!conn.bucket.tryTake(t)) {
      refuse(
        conn,
        'rate-limited',
        `more than ${bucketConfig.ratePerS} frames per second (burst ${bucketConfig.burst}, control frames included); this ${what} was dropped — slow down`,
      );
      return false;
    }
    if (!conn.byteBucket.tryTake(t, bytes)) {
      refuse(
        conn,
        'rate-limited',
        `more than ${byteBucketConfig.ratePerS} bytes per second (burst ${byteBucketConfig.burst}); this ${what} of ${bytes} bytes was dropped — slow down`,
      );
      return false;
    }
    if (!addressFrames.tryTake(conn.address, t) || !addressBytes.tryTake(conn.address, t, bytes)) {
      refuse(
        conn,
        'rate-limited',
        `your address sends more than ${addressShare} connections' worth of frames or bytes per second across its connections; this ${what} was dropped — slow down`,
      );
      return false;
    }
    return true;
  }

  function onPong(conn: Conn, data: Buffer): void {
    if (!admit(conn, data.length + frameOverheadBytes, 'pong')) return;
    const expected = conn.pingNonce;
    if (expected !== null && data.length === expected.length && timingSafeEqual(data, expected)) {
      conn.pingNonce = null;
      return;
    }
    // Not an answer to our ping: a client cannot keep a dead reader "alive" by sending these.
    counters.unsolicitedPongs++;
  }

  function onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    const bytes = toBuffer(data);
    if (!admit(conn, bytes.length + frameOverheadBytes, 'frame')) return;
    if (bytes.length > maxFrameBytes) {
      return refuse(conn, 'too-large', `frame of ${bytes.length} bytes refused; the limit is ${maxFrameBytes} bytes`);
    }
    if (isBinary) return refuse(conn, 'bad-message', 'send JSON as text frames, not binary frames');
    const text = bytes.toString('utf8');
    if (jsonTextShapeWithin(text, maxFrameDepth, maxFrameMembers) === null) {
      return refuse(
        conn,
        'bad-message',
        `data: at most ${maxDataKeys} keys and array items in all, nested at most ${maxDataDepth} levels deep; this frame holds more and was refused unread (a signal is a small object)`,
      );
    }
    const parsed = parseJson(text);
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
          return refuse(
            conn,
            'already-joined',
            `this connection is already node ${shortId(current.id)} in room "${current.room}"; to join as another node or room, open a new connection`,
          );
        }
        const identity = checkJoinSignature(conn.challenge, msg);
        if (!identity.ok) {
          refuse(conn, identity.code, identity.message);
          // A wrong signature will not get right by trying again on this connection.
          if (identity.code === 'bad-signature') closeConn(conn, limits.closeCodes.policy, 'bad join signature');
          return;
        }
        return admitJoin(conn, msg.room, msg.id as NodeId, msg.verifier);
      }
      case 'signal': {
        const self = rooms.membership(conn);
        if (self && msg.from !== undefined && msg.from !== self.id) {
          return refuse(
            conn,
            'spoofed-sender',
            `from: this connection is node ${shortId(self.id)}, not ${shortId(msg.from)}; leave from out and the server fills it in`,
          );
        }
        const route = rooms.route(conn, msg.to as NodeId);
        if (!route.ok && route.code === 'unknown-peer' && cluster && self && !conn.joinPending) {
          return relayToMember(cluster, conn, self.key, self.id, msg.to as NodeId, msg.data, route.message);
        }
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

  /**
   * A signed join, through the per-address caps and the wrong-password throttle to the room.
   * Every unit of quota taken here is given back on failure, or when the node leaves.
   */
  function admitJoin(conn: Conn, room: string, id: NodeId, verifier: string | undefined): void {
    const key = roomKeyOf(room, verifier);
    const opening = !rooms.exists(key);
    // A password nobody in a room of that name uses: a guess, or a typo. Both are throttled.
    const passwordMiss = verifier !== undefined && opening && rooms.privateRoomsNamed(room) > 0;
    if (passwordMiss && !passwordMisses.tryTake(conn.address, now())) {
      return refuseJoin(
        conn,
        'too-many-attempts',
        `too many joins to room "${room}" with a password its members do not use, from your address; check the password and try again in a few minutes`,
      );
    }
    const seat: QuotaKey = `seat:${key}`;
    if (opening && !quotas.tryTake(conn.address, 'rooms', caps.rooms)) {
      return refuseJoin(
        conn,
        'address-quota',
        `your address already opened ${caps.rooms} rooms that are still live, its limit per address; join an existing room or try again later`,
      );
    }
    if (!quotas.tryTake(conn.address, seat, caps.seats)) {
      if (opening) quotas.release(conn.address, 'rooms');
      return refuseJoin(
        conn,
        'address-quota',
        `your address already holds ${caps.seats} places in room "${room}", its limit per address; try again later or from another network`,
      );
    }
    const outcome = rooms.join(conn, room, id, verifier);
    if (!outcome.ok) {
      quotas.release(conn.address, seat);
      if (opening) quotas.release(conn.address, 'rooms');
      return refuseJoin(conn, outcome.code, outcome.message);
    }
    if (outcome.created) roomOpeners.set(outcome.key, conn.address);
    if (cluster) {
      conn.joinPending = true;
      void admitInCluster(cluster, conn, room, id, verifier, outcome.key, outcome.peers, passwordMiss);
      return;
    }
    completeJoin(conn, room, id, outcome.key, outcome.peers, verifier, passwordMiss);
  }

  /** The join is in: the node hears its sample, the room hears of the node. */
  function completeJoin(conn: Conn, room: string, id: NodeId, key: RoomKey, peers: NodeId[], verifier: string | undefined, passwordMiss: boolean): void {
    send(conn, { type: 'joined', room, self: id, peers });
    announcer.joined(key, id);
    if (verifier === undefined && rooms.privateRoomsNamed(room) > 0) {
      notify(
        conn,
        'private-room-exists',
        `room "${room}" also exists as a private room: you are in the open room of that name; to join the private one, enter its password`,
      );
    } else if (passwordMiss) {
      notify(
        conn,
        'password-mismatch',
        `nobody in room "${room}" uses this password: you are alone in a new private room; if you expected others, check the password with them`,
      );
    }
  }

  // ── cluster (only with options.cluster) ──────────────────────────────────────────────────
  // The local checks above run first and synchronously, as in a single process; the cluster's
  // caps are checked after, asynchronously (one Redis round trip), and a join the cluster refuses
  // is undone locally before it was ever announced. While Redis is away the cluster answers
  // 'unknown' and the hub goes on with its local knowledge, so local nodes keep being served.

  /** The cluster-wide connection cap per address; a connection over it is closed. */
  async function takeClusterConnection(bus: ClusterBus, conn: Conn): Promise<void> {
    const taken = await bus.takeConnection(conn.address);
    if (taken === true) {
      if (conns.has(conn)) conn.holdsClusterConnection = true;
      else bus.releaseConnection(conn.address); // closed while we asked
      return;
    }
    if (taken === false && !conn.closing) {
      counters.refusals['address-quota']++;
      send(
        conn,
        errorFrame(
          'address-quota',
          `your address already holds ${caps.connections} connections to the servers of this cluster, its limit per address; close some tabs or try again later`,
        ),
      );
      closeConn(conn, limits.closeCodes.tryAgainLater, 'too many connections from this address');
    }
  }

  async function admitInCluster(
    bus: ClusterBus,
    conn: Conn,
    room: string,
    id: NodeId,
    verifier: string | undefined,
    key: RoomKey,
    localPeers: NodeId[],
    passwordMiss: boolean,
  ): Promise<void> {
    const admission = await bus.admitJoin(key, id, conn.address, () => conn.joinPending && !conn.closing && rooms.membership(conn)?.id === id);
    // Left or closed meanwhile: depart() has sent the leave, which Redis runs after the admission.
    if (!conn.joinPending || rooms.membership(conn)?.id !== id) return;
    guard('cluster admission', () => {
      if (admission.ok === false) {
        depart(conn, false);
        return refuseJoin(conn, admission.code, clusterRefusal(admission.why, room, id));
      }
      conn.joinPending = false;
      // Redis down: the local sample, so local nodes still meet.
      const peers = admission.ok === true ? admission.peers.filter((peer) => peer !== id).slice(0, maxPeersInJoinSample) : localPeers;
      completeJoin(conn, room, id, key, peers, verifier, passwordMiss);
      bus.announce(key, id, 'joined');
    })();
  }

  function clusterRefusal(why: 'id' | 'room' | 'seats' | 'rooms', room: string, id: NodeId): string {
    switch (why) {
      case 'id':
        return `node ${shortId(id)} is already connected to a server of this cluster (another tab with the same key, or a connection that has not dropped yet); the existing connection keeps the id — retry in a few seconds`;
      case 'room':
        return `room "${room}" already has its limit of ${options.maxNodesPerRoom ?? limits.maxNodesPerRoom} nodes across the cluster; pick another room (?room=…)`;
      case 'seats':
        return `your address already holds ${caps.seats} places in room "${room}" across the cluster, its limit per address; try again later or from another network`;
      case 'rooms':
        return `your address already opened ${caps.rooms} rooms that are still live in this cluster, its limit per address; join an existing room or try again later`;
    }
  }

  /** A signal for a node this process does not hold: to the member that does, if any. */
  function relayToMember(bus: ClusterBus, conn: Conn, key: RoomKey, from: NodeId, to: NodeId, data: Record<string, unknown>, unknownPeer: string): void {
    void bus.relay(key, from, to, data).then(
      guard('cluster relay', (sent: boolean | 'unknown') => {
        if (sent === true) counters.relayedSignals++;
        else refuse(conn, 'unknown-peer', sent === 'unknown' ? `${unknownPeer} (the other servers of this cluster cannot be reached right now)` : unknownPeer);
      }),
    );
  }

  cluster?.start(
    {
      // Another member's joins and leaves, for the rooms this process has members in.
      joined: guard('cluster joined', (key: RoomKey, id: NodeId) => {
        if (rooms.exists(key)) announcer.joined(key, id);
      }),
      left: guard('cluster left', (key: RoomKey, id: NodeId) => {
        if (rooms.exists(key)) announcer.left(key, id);
      }),
      signal: guard('cluster signal', (key: RoomKey, from: NodeId, to: NodeId, data: Record<string, unknown>) => {
        const target = rooms.connection(to);
        // Gone meanwhile, or not in that room: dropped, as the sender's WebRTC retries cover.
        if (target === undefined || target.joinPending || rooms.membership(target)?.key !== key) return;
        send(target, { type: 'signal', from, data });
      }),
    },
    (): LocalState => {
      const nodes: LocalState['nodes'] = [];
      const connections: string[] = [];
      for (const conn of conns) {
        const membership = rooms.membership(conn);
        if (membership) nodes.push({ id: membership.id, key: membership.key, address: conn.address });
        if (conn.holdsClusterConnection) connections.push(conn.address);
      }
      return { nodes, connections, load: { connections: conns.size, ...rooms.counts() } };
    },
  );

  /** A refused join: the error frame and strike, then a close that tells the client when to retry. */
  function refuseJoin(conn: Conn, code: ErrorCode, message: string): void {
    refuse(conn, code, message);
    // Full rooms, quotas and ids still held by a dying connection clear up: close with "try
    // again later" so the client's reconnect backoff, not a socket idling here, does the retry.
    closeConn(conn, limits.closeCodes.tryAgainLater, `${code}; retry later`);
  }

  function notify(conn: Conn, code: NoticeCode, message: string): void {
    counters.notices++;
    send(conn, { type: 'notice', code, message });
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
    if (conn.holdsConnectionQuota) {
      conn.holdsConnectionQuota = false;
      quotas.release(conn.address, 'connections');
    }
    if (conn.holdsClusterConnection) {
      conn.holdsClusterConnection = false;
      cluster?.releaseConnection(conn.address);
    }
  }

  /** The node leaves its room; `announce` false for a join the cluster refused (never announced). */
  function depart(conn: Conn, announce = true): void {
    const departure = rooms.leave(conn);
    if (!departure) return;
    quotas.release(conn.address, `seat:${departure.key}`);
    if (departure.emptied) {
      const opener = roomOpeners.get(departure.key);
      roomOpeners.delete(departure.key);
      if (opener !== undefined) quotas.release(opener, 'rooms');
    }
    const announced = announce && !conn.joinPending;
    conn.joinPending = false;
    // Always safe: does nothing for a node the cluster does not hold through this member, and
    // for one whose admission is still on its way it queues behind it (one Redis connection).
    cluster?.leave(departure.key, departure.id, announced);
    if (announced) announcer.left(departure.key, departure.id);
  }

  function closeConn(conn: Conn, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.ws.close(code, reason);
  }

  /** Sends unless the socket is closing or its reader has fallen too far behind. */
  function send(conn: Conn, msg: ServerMessage): boolean {
    return sendText(conn, JSON.stringify(msg));
  }

  function sendText(conn: Conn, text: string): boolean {
    if (conn.ws.bufferedAmount > maxSendBufferBytes) {
      counters.framesDroppedSlowReader++;
      conn.overBufferSinceMs ??= now();
      return false;
    }
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(text);
    return true;
  }

  /** Closes sockets whose reader stopped: over the send buffer limit for slowReaderCloseMs. */
  const bufferCheck = setInterval(
    guard('send buffer check', () => {
      const t = now();
      for (const conn of conns) {
        if (conn.ws.bufferedAmount <= maxSendBufferBytes) {
          conn.overBufferSinceMs = null;
          continue;
        }
        conn.overBufferSinceMs ??= t;
        if (t - conn.overBufferSinceMs >= slowReaderCloseMs && !conn.closing) {
          counters.closedSlowReader++;
          log(`signaling: closed ${conn.address}: its send buffer stayed over ${maxSendBufferBytes} bytes for ${slowReaderCloseMs} ms`);
          conn.closing = true;
          // A close frame would queue behind the full buffer: cut the socket ('close' still runs).
          conn.ws.terminate();
        }
      }
    }),
    options.sendBufferCheckIntervalMs ?? limits.sendBufferCheckIntervalMs,
  );
  bufferCheck.unref();

  const heartbeat = setInterval(
    guard('heartbeat', () => {
      const t = now();
      for (const conn of conns) {
        if (conn.pingNonce !== null) {
          counters.deadSocketsDropped++;
          conn.closing = true;
          conn.ws.terminate(); // its 'close' announces the leave
          continue;
        }
        if (!conn.closing && t - conn.openedMs > joinDeadline && !rooms.membership(conn)) {
          counters.closedForNoJoin++;
          closeConn(conn, limits.closeCodes.policy, `no join within ${Math.round(joinDeadline / 1000)} s`);
        }
        if (conn.ws.readyState === WebSocket.OPEN) {
          conn.pingNonce = randomBytes(pingNonceBytes);
          conn.ws.ping(conn.pingNonce);
        }
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
      clientAddresses: quotas.addresses(),
      uptimeS: Math.floor((now() - startedMs) / 1000),
      ...counters,
      refusals: { ...counters.refusals },
      ...(cluster ? { cluster: cluster.stats() } : {}),
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(bufferCheck);
      announcer.flushAll();
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
      await cluster?.close();
    },
  };
}

function errorFrame(code: ErrorCode, message: string): ServerMessage {
  return { type: 'error', code, message: message.length > maxErrorMessageChars ? `${message.slice(0, maxErrorMessageChars - 1)}…` : message };
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
