// The cluster's half of a join (only with options.cluster). The local checks (join.ts) run
// first and synchronously, as in a single process; the cluster's caps are checked after,
// asynchronously (one Redis round trip), and a join the cluster refuses is undone locally
// before it was ever announced. While Redis is away the cluster answers 'unknown' and the hub
// goes on with its local knowledge, so local nodes keep being served.
import type { NodeId } from '../../src/core/types.ts';
import { maxPeersInJoinSample } from '../protocol.ts';
import { shortId } from '../rooms.ts';
import type { ClusterBus } from '../cluster/bus.ts';
import type { Conn } from './conn.ts';
import { depart } from './departure.ts';
import { completeJoin, type Joining } from './joined.ts';
import { refuseJoin } from './outbox.ts';
import type { Hub } from './state.ts';

export async function admitInCluster(hub: Hub, bus: ClusterBus, conn: Conn, joining: Joining, localPeers: NodeId[]): Promise<void> {
  const { rooms } = hub;
  const { id, key } = joining;
  const admission = await bus.admitJoin(key, id, conn.address, () => conn.joinPending && !conn.closing && rooms.membership(conn)?.id === id);
  // Left or closed meanwhile: depart() has sent the leave, which Redis runs after the admission.
  if (!conn.joinPending || rooms.membership(conn)?.id !== id) return;
  hub.guard('cluster admission', () => {
    if (admission.ok === false) {
      depart(hub, conn, false);
      return refuseJoin(hub, conn, admission.code, clusterRefusal(hub, admission.why, joining.room, id));
    }
    conn.joinPending = false;
    // Redis down: the local sample, so local nodes still meet.
    const peers = admission.ok === true ? admission.peers.filter((peer) => peer !== id).slice(0, maxPeersInJoinSample) : localPeers;
    completeJoin(hub, conn, joining, peers);
    bus.announce(key, id, 'joined');
  })();
}

function clusterRefusal(hub: Hub, why: 'id' | 'room' | 'seats' | 'rooms', room: string, id: NodeId): string {
  const { caps, maxNodesPerRoom } = hub.config;
  switch (why) {
    case 'id':
      return (
        `node ${shortId(id)} is already connected to a server of this cluster (another tab with the same key, or a connection that has not dropped yet); ` +
        'the existing connection keeps the id — retry in a few seconds'
      );
    case 'room':
      return `room "${room}" already has its limit of ${maxNodesPerRoom} nodes across the cluster; pick another room (?room=…)`;
    case 'seats':
      return (
        `your address already holds ${caps.seats} places in room "${room}" across the cluster, its limit per address; ` +
        'try again later or from another network'
      );
    case 'rooms':
      return (
        `your address already opened ${caps.rooms} rooms that are still live in this cluster, its limit per address; ` +
        'join an existing room or try again later'
      );
  }
}
