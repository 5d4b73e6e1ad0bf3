// Every cap the signaling server enforces, with its unit and the reason for its size. Options
// may lower or raise them per server (tests use small ones); these are the defaults.
import { maxFrameBytes } from './protocol.ts';

/** Nodes in one room. The mesh keeps 3–5 links per node; 256 tabs is far beyond a demo swarm. */
export const maxNodesPerRoom = 256;
/** Rooms alive at once on one server; a room disappears with its last node. */
export const maxRooms = 1_000;
/** Open WebSocket connections on one server, joined or not (each costs a socket and a buffer). */
export const maxConnections = 4_096;

// ── per client address (client-address.ts decides what one address is) ────────────────────
// One machine must not be able to shut others out: every server-wide cap above is also split
// per address, well below the server-wide one. Many people behind one NAT share an address,
// so these are generous for people and small for one script; raise them for a campus NAT.

/** Open connections from one address, joined or not. */
export const maxConnectionsPerAddress = 64;
/** Live rooms opened by one address (a room counts against its opener until it empties). */
export const maxRoomsPerAddress = 16;
/** Seats one address may hold in one room, so no address can fill a room (1/8 of a room). */
export const maxSeatsPerAddressPerRoom = 32;
/**
 * Private-room joins with a password nobody in a room of that name uses ("wrong password"
 * attempts), per address: sustained per minute, and the burst allowed at once.
 */
export const passwordMissesPerMinute = 6;
export const passwordMissBurst = 10;

/** Frames a connection may send per second, sustained. A join plus SDP and ICE is ~20 frames. */
export const rateLimitPerS = 50;
/** Frames a connection may send at once before the sustained rate applies (ICE bursts). */
export const rateLimitBurst = 100;
/**
 * Bytes a connection may send per second, sustained (text, binary and control frames alike):
 * the frame limit alone lets 50 frames of 64 KB a second through. A node's whole handshake
 * with five peers is a few tens of KB.
 */
export const rateLimitBytesPerS = 64 * 1024;
/** Bytes a connection may send at once before the sustained byte rate applies. */
export const rateLimitBurstBytes = 4 * maxFrameBytes;
/**
 * One client address's frames and bytes across all its connections, as this many connections'
 * worth of the limits above. Without it one address with its 64 connections sends 64 times a
 * connection's share, and frames are refused only after the server paid to read them (the
 * signaling bench's attacks c and d). 16 leaves room for a household or a class behind one NAT
 * joining at once (a node's handshake is ~20 frames and a few tens of KB).
 */
export const addressBudgetConnections = 16;

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
/**
 * A socket whose send buffer stays over maxSendBufferBytes this long is closed: its reader has
 * stopped, and dropping frames alone would leave the server holding the buffer (and the
 * kernel's) for as long as the socket answers pings.
 */
export const slowReaderCloseMs = 5_000;
/** How often send buffers are checked against slowReaderCloseMs. */
export const sendBufferCheckIntervalMs = 1_000;

/**
 * peer-joined and peer-left announcements of one room are gathered for this long and sent as
 * one frame: join/leave churn in a big room would otherwise become (churn × room size) frames.
 */
export const announceWindowMs = 100;

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
  /** Server, room or address quota full, or the id is still held by an older connection: retry with backoff. */
  tryAgainLater: 1013,
} as const;
