// A node leaving: its seat, its room's quota when the room empties, and its connection quotas
// go back, and the room (and the cluster) hear of it.
import type { Conn } from './conn.ts';
import type { Hub } from './state.ts';

/** The node leaves its room; `announce` false for a join the cluster refused (never announced). */
export function depart(hub: Hub, conn: Conn, announce = true): void {
  const departure = hub.rooms.leave(conn);
  if (!departure) return;
  hub.quotas.release(conn.address, `seat:${departure.key}`);
  if (departure.emptied) {
    const opener = hub.roomOpeners.get(departure.key);
    hub.roomOpeners.delete(departure.key);
    if (opener !== undefined) hub.quotas.release(opener, 'rooms');
  }
  const announced = announce && !conn.joinPending;
  conn.joinPending = false;
  // Always safe: does nothing for a node the cluster does not hold through this member, and
  // for one whose admission is still on its way it queues behind it (one Redis connection).
  hub.cluster?.leave(departure.key, departure.id, announced);
  if (announced) hub.announcer.left(departure.key, departure.id);
}

/** The socket closed (by either side): the connection is gone and gives back all it held. */
export function onClose(hub: Hub, conn: Conn): void {
  hub.conns.delete(conn);
  depart(hub, conn);
  if (conn.holdsConnectionQuota) {
    conn.holdsConnectionQuota = false;
    hub.quotas.release(conn.address, 'connections');
  }
  if (conn.holdsClusterConnection) {
    conn.holdsClusterConnection = false;
    hub.cluster?.releaseConnection(conn.address);
  }
}
