// Every cap the signaling server enforces, with its unit and the reason for its size. Options
// may lower or raise them per server (tests use small ones); these are the defaults.
import { maxFrameBytes } from './protocol.ts';

/** Nodes in one room. The mesh keeps 3–5 links per node; 256 tabs is far beyond a demo swarm. */
export const maxNodesPerRoom = 256;
/** Rooms alive at once on one server; a room disappears with its last node. */
export const maxRooms = 1_000;
/** Open WebSocket connections on one server, joined or not (each costs a socket and a buffer). */
export const maxConnections = 4_096;

/** Frames a connection may send per second, sustained. A join plus SDP and ICE is ~20 frames. */
export const rateLimitPerS = 50;
/** Frames a connection may send at once before the sustained rate applies (ICE bursts). */
export const rateLimitBurst = 100;
/**
 * Refusals (of any kind) a connection may pile up before it is closed as a flooder. Strikes
 * leak away at `floodStrikeLeakPerS`, so an occasional mistake never adds up to a close.
 */
export const maxFloodStrikes = 200;
/** Strikes forgiven per second. */
export const floodStrikeLeakPerS = 10;

/**
 * Frames above this are not even read: ws closes the socket with 1009. Between maxFrameBytes
 * and this, the frame is refused with a `too-large` error frame and the connection lives on.
 */
export const hardFrameBytes = 4 * maxFrameBytes;
/**
 * Bytes waiting in one socket's send buffer beyond which further frames to it are dropped: a
 * reader that does not keep up must not make the server hold memory for it without bound.
 */
export const maxSendBufferBytes = 1024 * 1024;

/** A ws ping goes out this often; a socket that has not answered the previous one is dropped. */
export const heartbeatIntervalMs = 10_000;
/** A connection that has not joined a room by then is closed: it holds a slot for nothing. */
export const joinDeadlineMs = 30_000;

/** Random bytes in a welcome challenge (base64url: 32 characters). */
export const challengeBytes = 24;

// WebSocket close codes (RFC 6455 §7.4.1) and the reasons sent with them (≤ 123 bytes).
export const closeCodes = {
  /** The node sent `leave`. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** Flooding, a refused origin, a bad join signature, a missing or wrong room password, or no join in time: do not retry as is. */
  policy: 1008,
  /** Server or room full, or the id is still held by an older connection: retry with backoff. */
  tryAgainLater: 1013,
} as const;
