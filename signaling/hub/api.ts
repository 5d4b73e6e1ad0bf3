// The public face of the signaling hub: the options attachSignaling takes, the stats it keeps,
// and the handle it returns. `tabmesh/server` (signaling/index.ts) re-exports these types.
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../protocol.ts';
import type { TrustedProxies } from '../client-address.ts';
import type { AddressQuotaStore } from '../address-limits.ts';
import type { HostPolicy } from '../host-allowlist.ts';
import type { ClusterBus, ClusterStats } from '../cluster/bus.ts';

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
