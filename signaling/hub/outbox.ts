// What the hub says to a connection: frames (dropped for a reader that has fallen behind),
// notices, refusals (each one a strike; too many and the connection is closed), and closes.
import { WebSocket } from 'ws';
import * as limits from '../limits.ts';
import type { ErrorCode, NoticeCode, ServerMessage } from '../protocol.ts';
import type { Conn } from './conn.ts';
import type { Hub } from './state.ts';

/** Longest error message sent (clients accept up to 1,000 characters). */
const maxErrorMessageChars = 1_000;

/** Sends unless the socket is closing or its reader has fallen too far behind. */
export function send(hub: Hub, conn: Conn, msg: ServerMessage): boolean {
  return sendText(hub, conn, JSON.stringify(msg));
}

export function sendText(hub: Hub, conn: Conn, text: string): boolean {
  if (conn.ws.bufferedAmount > hub.config.maxSendBufferBytes) {
    hub.counters.framesDroppedSlowReader++;
    conn.overBufferSinceMs ??= hub.now();
    return false;
  }
  if (conn.ws.readyState !== WebSocket.OPEN) return false;
  conn.ws.send(text);
  return true;
}

/** To a socket that never became a connection (refused at the door). */
export function sendRaw(ws: WebSocket, msg: ServerMessage): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(msg));
  return true;
}

export function errorFrame(code: ErrorCode, message: string): ServerMessage {
  return { type: 'error', code, message: message.length > maxErrorMessageChars ? `${message.slice(0, maxErrorMessageChars - 1)}…` : message };
}

export function notify(hub: Hub, conn: Conn, code: NoticeCode, message: string): void {
  hub.counters.notices++;
  send(hub, conn, { type: 'notice', code, message });
}

/** A refused frame: counted, answered with an error frame, and a strike against the sender. */
export function refuse(hub: Hub, conn: Conn, code: ErrorCode, message: string): void {
  hub.counters.refusals[code]++;
  send(hub, conn, errorFrame(code, message));
  if (conn.strikes.strike(hub.now())) {
    const limit = hub.config.strikes.limit;
    hub.counters.closedForFlooding++;
    hub.log(`signaling: closed ${conn.address} after more than ${limit} refused frames (last: ${code})`);
    closeConn(conn, limits.closeCodes.policy, `more than ${limit} refused frames; fix the client and reconnect`);
  }
}

/** A refused join: the error frame and strike, then a close that tells the client when to retry. */
export function refuseJoin(hub: Hub, conn: Conn, code: ErrorCode, message: string): void {
  refuse(hub, conn, code, message);
  // Full rooms, quotas and ids still held by a dying connection clear up: close with "try
  // again later" so the client's reconnect backoff, not a socket idling here, does the retry.
  closeConn(conn, limits.closeCodes.tryAgainLater, `${code}; retry later`);
}

export function closeConn(conn: Conn, code: number, reason: string): void {
  if (conn.closing) return;
  conn.closing = true;
  conn.ws.close(code, reason);
}
