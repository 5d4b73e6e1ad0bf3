// The hub's two periodic sweeps over its connections: the heartbeat (dead sockets, joins that
// never came) and the send-buffer check (readers that stopped reading).
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import * as limits from '../limits.ts';
import { closeConn } from './outbox.ts';
import type { Hub } from './state.ts';

/** Random bytes in each heartbeat ping; only a pong carrying them back counts as alive. */
const pingNonceBytes = 8;

/** Pings every connection; one that did not answer the last ping is dropped, one that never joined closed. */
export function startHeartbeat(hub: Hub): NodeJS.Timeout {
  const { counters, config } = hub;
  const heartbeat = setInterval(
    hub.guard('heartbeat', () => {
      const t = hub.now();
      for (const conn of hub.conns) {
        if (conn.pingNonce !== null) {
          counters.deadSocketsDropped++;
          conn.closing = true;
          conn.ws.terminate(); // its 'close' announces the leave
          continue;
        }
        if (!conn.closing && t - conn.openedMs > config.joinDeadlineMs && !hub.rooms.membership(conn)) {
          counters.closedForNoJoin++;
          closeConn(conn, limits.closeCodes.policy, `no join within ${Math.round(config.joinDeadlineMs / 1000)} s`);
        }
        if (conn.ws.readyState === WebSocket.OPEN) {
          conn.pingNonce = randomBytes(pingNonceBytes);
          conn.ws.ping(conn.pingNonce);
        }
      }
    }),
    config.heartbeatMs,
  );
  heartbeat.unref();
  return heartbeat;
}

/** Closes sockets whose reader stopped: over the send buffer limit for slowReaderCloseMs. */
export function startBufferCheck(hub: Hub): NodeJS.Timeout {
  const { maxSendBufferBytes, slowReaderCloseMs } = hub.config;
  const bufferCheck = setInterval(
    hub.guard('send buffer check', () => {
      const t = hub.now();
      for (const conn of hub.conns) {
        if (conn.ws.bufferedAmount <= maxSendBufferBytes) {
          conn.overBufferSinceMs = null;
          continue;
        }
        conn.overBufferSinceMs ??= t;
        if (t - conn.overBufferSinceMs >= slowReaderCloseMs && !conn.closing) {
          hub.counters.closedSlowReader++;
          hub.log(`signaling: closed ${conn.address}: its send buffer stayed over ${maxSendBufferBytes} bytes for ${slowReaderCloseMs} ms`);
          conn.closing = true;
          // A close frame would queue behind the full buffer: cut the socket ('close' still runs).
          conn.ws.terminate();
        }
      }
    }),
    hub.config.sendBufferCheckIntervalMs,
  );
  bufferCheck.unref();
  return bufferCheck;
}
