// The signaling logic on top of any Node HTTP server: takes WebSocket upgrades at /signal only
// (leaving every other upgrade, such as Vite's HMR socket, to its owner), checks every frame,
// and relays signals between nodes of one room (rooms.ts decides who may reach whom).
//
// Every refusal is counted, answered with an error frame that says what to do, and counted as a
// strike against the sender; only the sender is ever affected. Every handler is guarded: no
// input from a client can throw out of here.
//
// This file puts the hub together; its parts live in hub/, one job each: the door
// (connection.ts), a frame's budgets (frame-budget.ts) and decoding (frames.ts), room admission
// (join.ts, joined.ts, and cluster-admission.ts with a cluster), signal relay (relay.ts),
// departures (departure.ts), what the hub says (outbox.ts), the periodic sweeps (sweeps.ts),
// the cluster's events (cluster-link.ts), and the shared state (state.ts).
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { WebSocket, WebSocketServer } from 'ws';
import * as limits from './limits.ts';
import type { SignalingHandle, SignalingOptions } from './hub/api.ts';
import { startClusterLink } from './hub/cluster-link.ts';
import { upgradeHandler } from './hub/connection.ts';
import { closeConn } from './hub/outbox.ts';
import { createHub, statsOf, type Hub } from './hub/state.ts';
import { startBufferCheck, startHeartbeat } from './hub/sweeps.ts';

export type { SignalingHandle, SignalingOptions, SignalingStats } from './hub/api.ts';

/** How long close() waits for sockets to finish the closing handshake before cutting them. */
const closeGraceMs = 1_000;

export function attachSignaling(httpServer: HttpServer | HttpsServer, options: SignalingOptions = {}): SignalingHandle {
  const hub = createHub(options);
  const startedMs = hub.now();
  const wss = new WebSocketServer({
    noServer: true,
    // Frames up to 4× the limit are read and refused politely; beyond, ws closes with 1009.
    maxPayload: limits.hardFrameBytes,
    // Pings are answered by hand, inside the rate limits (connection.ts).
    autoPong: false,
    // Compression would let a small frame inflate into a large one; signals are small anyway.
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('error', (err) => hub.log(`signaling: server socket error: ${err.message}`));
  const onUpgrade = upgradeHandler(hub, wss);
  httpServer.on('upgrade', onUpgrade);
  if (hub.cluster) startClusterLink(hub, hub.cluster);
  const timers = [startBufferCheck(hub), startHeartbeat(hub)];
  return {
    stats: () => statsOf(hub, startedMs),
    close: async () => {
      if (hub.closed) return;
      hub.closed = true;
      for (const timer of timers) clearInterval(timer);
      hub.announcer.flushAll();
      httpServer.off('upgrade', onUpgrade);
      await closeAll(hub, wss);
    },
  };
}

/** Closes every connection (1001), cutting those that do not finish within closeGraceMs. */
async function closeAll(hub: Hub, wss: WebSocketServer): Promise<void> {
  const pending = [...hub.conns].map(
    (conn) =>
      new Promise<void>((resolve) => {
        if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
        conn.ws.once('close', () => resolve());
        closeConn(conn, limits.closeCodes.goingAway, 'server shutting down');
      }),
  );
  const grace = setTimeout(() => {
    for (const conn of hub.conns) conn.ws.terminate();
  }, closeGraceMs);
  grace.unref();
  await Promise.all(pending);
  clearTimeout(grace);
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await hub.cluster?.close();
}
