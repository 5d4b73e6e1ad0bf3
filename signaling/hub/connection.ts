// The door: an upgrade at /signal for a Host this server answers to becomes a WebSocket, and
// a WebSocket becomes a connection if the server has room, its origin is allowed and its
// address is under its connection cap. Each refusal is said in an error frame, then closed.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { clipEcho } from '../../src/core/decode.ts';
import { signalingPath, type ErrorCode } from '../protocol.ts';
import * as limits from '../limits.ts';
import { addressKey, clientAddress } from '../client-address.ts';
import { newConn, type Conn } from './conn.ts';
import { takeClusterConnection } from './cluster-link.ts';
import { onClose } from './departure.ts';
import { admit, frameOverheadBytes } from './frame-budget.ts';
import { onFrame, onPong } from './frames.ts';
import { errorFrame, send, sendRaw } from './outbox.ts';
import type { Hub } from './state.ts';

/** Name sent in every welcome, so a client can tell which server answered. */
const serverName = 'tabmesh-signaling/2';

/** The HTTP server's 'upgrade' listener: takes /signal, leaves every other path to its owner. */
export function upgradeHandler(hub: Hub, wss: WebSocketServer): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return hub.guard('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (hub.closed || pathnameOf(req.url) !== signalingPath) return; // someone else's upgrade
    if (hub.options.allowedHosts && !hub.options.allowedHosts(req.headers.host)) {
      hub.counters.refusedHosts++;
      socket.on('error', () => {});
      socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nThis server does not answer to that host name.\n');
      return;
    }
    wss.handleUpgrade(
      req,
      socket,
      head,
      hub.guard('connection', (ws: WebSocket) => onConnection(hub, ws, req)),
    );
  });
}

function onConnection(hub: Hub, ws: WebSocket, req: IncomingMessage): void {
  const { config } = hub;
  ws.on(
    'error',
    hub.guard('socket error', (err: Error) => onSocketError(hub, err)),
  );
  if (hub.conns.size >= config.maxConnections) {
    const message = `this server holds its limit of ${config.maxConnections} connections; try again later`;
    return refuseAtDoor(hub, ws, 'server-full', message, limits.closeCodes.tryAgainLater, 'server full');
  }
  const origin = req.headers.origin;
  if (!config.originAllowed(origin, req)) {
    const message = `pages from origin ${clipEcho(origin ?? '(none)')} may not use this signaling server; open the app from the server's own address`;
    return refuseAtDoor(hub, ws, 'origin-refused', message, limits.closeCodes.policy, 'origin refused');
  }
  const address = addressKey(clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], hub.options.trustedProxies));
  if (!hub.quotas.tryTake(address, 'connections', config.caps.connections)) {
    const message =
      `your address already holds ${config.caps.connections} connections to this server, its limit per address; ` + 'close some tabs or try again later';
    return refuseAtDoor(hub, ws, 'address-quota', message, limits.closeCodes.tryAgainLater, 'too many connections from this address');
  }
  const conn = newConn(ws, address, config, hub.now());
  hub.conns.add(conn);
  if (hub.cluster) void takeClusterConnection(hub, hub.cluster, conn);
  listen(hub, conn);
  send(hub, conn, { type: 'welcome', challenge: conn.challenge, server: serverName });
}

function refuseAtDoor(hub: Hub, ws: WebSocket, code: ErrorCode, message: string, closeCode: number, reason: string): void {
  hub.counters.refusals[code]++;
  sendRaw(ws, errorFrame(code, message));
  ws.close(closeCode, reason);
}

function listen(hub: Hub, conn: Conn): void {
  const { ws } = conn;
  const { guard } = hub;
  ws.on(
    'message',
    guard('message', (data: RawData, isBinary: boolean) => onFrame(hub, conn, data, isBinary)),
  );
  // Control frames cost like any other: counted against both limits, answered only within them.
  ws.on(
    'ping',
    guard('ping', (data: Buffer) => {
      if (admit(hub, conn, data.length + frameOverheadBytes, 'ping')) ws.pong(data);
    }),
  );
  ws.on(
    'pong',
    guard('pong', (data: Buffer) => onPong(hub, conn, data)),
  );
  ws.on(
    'close',
    guard('close', () => onClose(hub, conn)),
  );
}

function onSocketError(hub: Hub, err: Error): void {
  // ws closes the socket itself after these; all that is left is to count them.
  const code = (err as { code?: string }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') hub.counters.refusals['too-large']++;
  else if (code?.startsWith('WS_ERR_')) hub.counters.refusals['bad-message']++;
}

/** The request path without its query; a URL parser would read `//host/signal` as a host. */
function pathnameOf(url: string | undefined): string {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}
