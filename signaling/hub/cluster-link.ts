// The hub's side of a cluster (only with options.cluster) outside joins: the cluster-wide
// connection cap per address, and what arrives from other members (their joins, leaves and
// signals for local nodes) together with the local state the cluster re-registers.
import type { NodeId } from '../../src/core/types.ts';
import * as limits from '../limits.ts';
import type { RoomKey } from '../rooms.ts';
import type { ClusterBus, LocalState } from '../cluster/bus.ts';
import type { Conn } from './conn.ts';
import { closeConn, errorFrame, send } from './outbox.ts';
import type { Hub } from './state.ts';

/** The cluster-wide connection cap per address; a connection over it is closed. */
export async function takeClusterConnection(hub: Hub, bus: ClusterBus, conn: Conn): Promise<void> {
  const taken = await bus.takeConnection(conn.address);
  if (taken === true) {
    if (hub.conns.has(conn)) conn.holdsClusterConnection = true;
    else bus.releaseConnection(conn.address); // closed while we asked
    return;
  }
  if (taken === false && !conn.closing) {
    hub.counters.refusals['address-quota']++;
    send(
      hub,
      conn,
      errorFrame(
        'address-quota',
        `your address already holds ${hub.config.caps.connections} connections to the servers of this cluster, its limit per address; ` +
          'close some tabs or try again later',
      ),
    );
    closeConn(conn, limits.closeCodes.tryAgainLater, 'too many connections from this address');
  }
}

/** Subscribes to the other members' joins, leaves and signals for the rooms held here. */
export function startClusterLink(hub: Hub, bus: ClusterBus): void {
  const { guard, rooms, announcer } = hub;
  bus.start(
    {
      // Another member's joins and leaves, for the rooms this process has members in.
      joined: guard('cluster joined', (key: RoomKey, id: NodeId) => {
        if (rooms.exists(key)) announcer.joined(key, id);
      }),
      left: guard('cluster left', (key: RoomKey, id: NodeId) => {
        if (rooms.exists(key)) announcer.left(key, id);
      }),
      signal: guard('cluster signal', (key: RoomKey, from: NodeId, to: NodeId, data: Record<string, unknown>) => {
        const target = rooms.connection(to);
        // Gone meanwhile, or not in that room: dropped, as the sender's WebRTC retries cover.
        if (target === undefined || target.joinPending || rooms.membership(target)?.key !== key) return;
        send(hub, target, { type: 'signal', from, data });
      }),
    },
    () => localState(hub),
  );
}

function localState(hub: Hub): LocalState {
  const nodes: LocalState['nodes'] = [];
  const connections: string[] = [];
  for (const conn of hub.conns) {
    const membership = hub.rooms.membership(conn);
    if (membership) nodes.push({ id: membership.id, key: membership.key, address: conn.address });
    if (conn.holdsClusterConnection) connections.push(conn.address);
  }
  return { nodes, connections, load: { connections: hub.conns.size, ...hub.rooms.counts() } };
}
