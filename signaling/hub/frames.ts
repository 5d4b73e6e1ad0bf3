// A frame from a client, from bytes to a handler: paid for from its budgets, then bounded in
// size and shape before it is parsed, decoded with the protocol's schema, and dispatched.
import { timingSafeEqual } from 'node:crypto';
import type { RawData } from 'ws';
import { decodeWith, parseJson } from '../../src/core/decode.ts';
import { clientMessageSchema, maxDataDepth, maxDataKeys, maxFrameBytes, maxFrameDepth, maxFrameMembers, type ClientMessage } from '../protocol.ts';
import * as limits from '../limits.ts';
import { jsonTextShapeWithin } from '../json-text-shape.ts';
import type { Conn } from './conn.ts';
import { depart } from './departure.ts';
import { admit, frameOverheadBytes } from './frame-budget.ts';
import { handleJoin } from './join.ts';
import { closeConn, refuse } from './outbox.ts';
import { handleSignal } from './relay.ts';
import type { Hub } from './state.ts';

export function onFrame(hub: Hub, conn: Conn, data: RawData, isBinary: boolean): void {
  if (conn.closing) return;
  const bytes = toBuffer(data);
  if (!admit(hub, conn, bytes.length + frameOverheadBytes, 'frame')) return;
  if (bytes.length > maxFrameBytes) {
    return refuse(hub, conn, 'too-large', `frame of ${bytes.length} bytes refused; the limit is ${maxFrameBytes} bytes`);
  }
  if (isBinary) return refuse(hub, conn, 'bad-message', 'send JSON as text frames, not binary frames');
  const text = bytes.toString('utf8');
  if (jsonTextShapeWithin(text, maxFrameDepth, maxFrameMembers) === null) {
    return refuse(
      hub,
      conn,
      'bad-message',
      `data: at most ${maxDataKeys} keys and array items in all, nested at most ${maxDataDepth} levels deep; ` +
        'this frame holds more and was refused unread (a signal is a small object)',
    );
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return refuse(hub, conn, 'bad-json', 'the frame is not valid JSON; send one JSON object per frame');
  const decoded = decodeWith(clientMessageSchema, parsed.value);
  if (!decoded.ok) {
    return refuse(hub, conn, 'bad-message', `${decoded.error} (frames are join, signal or leave; see signaling/protocol.ts)`);
  }
  dispatch(hub, conn, decoded.value);
}

function dispatch(hub: Hub, conn: Conn, msg: ClientMessage): void {
  switch (msg.type) {
    case 'join':
      return handleJoin(hub, conn, msg);
    case 'signal':
      return handleSignal(hub, conn, msg);
    case 'leave':
      depart(hub, conn);
      closeConn(conn, limits.closeCodes.normal, 'left');
      return;
  }
}

/** A pong counts as alive only when it carries back the nonce of the server's last ping. */
export function onPong(hub: Hub, conn: Conn, data: Buffer): void {
  if (!admit(hub, conn, data.length + frameOverheadBytes, 'pong')) return;
  const expected = conn.pingNonce;
  if (expected !== null && data.length === expected.length && timingSafeEqual(data, expected)) {
    conn.pingNonce = null;
    return;
  }
  // Not an answer to our ping: a client cannot keep a dead reader "alive" by sending these.
  hub.counters.unsolicitedPongs++;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
