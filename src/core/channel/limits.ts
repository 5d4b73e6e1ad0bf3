// Every bound of app channels, in one place (docs/reference.md, "Channels", lists them).
// Sizes are in bytes of the message as the app gave it: the bytes of a Uint8Array, or the UTF-8
// bytes of a JSON value's text.
import type { Millis } from '../types.ts';

/** Largest message a channel carries (and accepts from a peer): 16 MiB. */
export const maxChannelMessageBytes = 16 * 1024 * 1024;
/**
 * Raw bytes per chunk. Base64 makes a chunk ~43.7 KB of text, under the router's 48 KiB payload
 * bound (src/core/route/messages.ts), so a chunk can be routed over several hops as it is.
 */
export const chunkBytes = 32 * 1024;
/** Most chunks of one transfer sent and not yet acknowledged: 512 KiB on the wire at once. */
export const windowChunks = 16;
/**
 * Chunk bytes this node sends per second, all transfers together: 2 MiB/s. The receiving link's
 * guard allows a peer 4 MiB/s sustained (src/worker/peer-guard.ts) and a chunk costs ~1.4× its
 * bytes on the wire (base64 and the routed envelope), so app traffic stays well inside what a
 * link accepts and leaves room for gossip, consensus and the overlay on the same links.
 */
export const sendRateBytesPerS = 2 * 1024 * 1024;
/** Chunk bytes that may go at once after a quiet spell (one window). */
export const sendBurstBytes = windowChunks * chunkBytes;
/** A chunk not acknowledged within this long is sent again. */
export const retransmitAfterMs: Millis = 3_000;
/** A transfer whose receiver has acknowledged nothing new for this long fails (unreachable, gone). */
export const giveUpAfterMs: Millis = 20_000;
/** Transfers sending at once, all destinations together; later ones wait their turn. */
export const maxActiveTransfers = 8;
/** Bytes of messages accepted for sending and not yet delivered; beyond, send() is refused as busy. */
export const maxQueuedSendBytes = 64 * 1024 * 1024;
/** Messages accepted for sending and not yet delivered (each destination counts once). */
export const maxQueuedTransfers = 1_024;

/** A half-received message that gets no chunk for this long is dropped (its sender is gone). */
export const incomingIdleMs: Millis = 30_000;
/** Half-received messages held from one origin at once; chunks of further ones are not acknowledged. */
export const maxIncomingPerOrigin = 4;
/** Bytes of half-received messages held at once, all origins together. */
export const maxIncomingBytes = 64 * 1024 * 1024;
/** Finished transfers remembered, so a late duplicate chunk is acknowledged and not delivered twice. */
export const maxRememberedTransfers = 4_096;
/** How long a finished transfer is remembered (longer than any sender keeps retrying). */
export const rememberTransferMs: Millis = 60_000;

/**
 * Bad messages (malformed, over the limit, failing the app's validator) one origin may send: 10
 * at once, then one every 10 s. Beyond, the origin is throttled: nothing of it is accepted for
 * `throttleMs` and its new transfers are refused with `throttled`.
 */
export const badMessageBurst = 10;
export const badMessageRatePerS = 0.1;
export const throttleMs: Millis = 60_000;
/** Origins with counters kept; the least recently seen goes first when full. */
export const maxTrackedOrigins = 1_024;

/** Channel names: 1–64 letters, digits and `-_.:/`, starting with a letter or digit. */
export const channelNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
/** Transfer ids on the wire: short base36 text chosen by the sender. */
export const transferIdPattern = /^[a-z0-9.]{1,32}$/;
