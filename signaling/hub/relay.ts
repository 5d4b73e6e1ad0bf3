// Signals between nodes of one room: the sender is stamped by the server, the receiver must be
// in the sender's room (rooms.ts route), and with a cluster a node on another member is
// reached through it.
import type { NodeId } from '../../src/core/types.ts';
import type { ClientMessage } from '../protocol.ts';
import { shortId, type RoomKey } from '../rooms.ts';
import type { ClusterBus } from '../cluster/bus.ts';
import type { Conn } from './conn.ts';
import { refuse, send } from './outbox.ts';
import type { Hub } from './state.ts';

type SignalFrame = Extract<ClientMessage, { type: 'signal' }>;

export function handleSignal(hub: Hub, conn: Conn, msg: SignalFrame): void {
  const self = hub.rooms.membership(conn);
  if (self && msg.from !== undefined && msg.from !== self.id) {
    return refuse(
      hub,
      conn,
      'spoofed-sender',
      `from: this connection is node ${shortId(self.id)}, not ${shortId(msg.from)}; leave from out and the server fills it in`,
    );
  }
  const route = hub.rooms.route(conn, msg.to as NodeId);
  if (!route.ok && route.code === 'unknown-peer' && hub.cluster && self && !conn.joinPending) {
    return relayToMember(hub, hub.cluster, conn, { key: self.key, from: self.id, to: msg.to as NodeId }, msg.data, route.message);
  }
  if (!route.ok) return refuse(hub, conn, route.code, route.message);
  if (!send(hub, route.target, { type: 'signal', from: route.from, data: msg.data })) {
    return refuse(hub, conn, 'rate-limited', `node ${shortId(msg.to)} is not reading its signals fast enough; this one was dropped — retry later`);
  }
  hub.counters.relayedSignals++;
}

/** A signal for a node this process does not hold: to the member that does, if any. */
function relayToMember(
  hub: Hub,
  bus: ClusterBus,
  conn: Conn,
  path: { key: RoomKey; from: NodeId; to: NodeId },
  data: Record<string, unknown>,
  unknownPeer: string,
): void {
  void bus.relay(path.key, path.from, path.to, data).then(
    hub.guard('cluster relay', (sent: boolean | 'unknown') => {
      if (sent === true) hub.counters.relayedSignals++;
      else
        refuse(hub, conn, 'unknown-peer', sent === 'unknown' ? `${unknownPeer} (the other servers of this cluster cannot be reached right now)` : unknownPeer);
    }),
  );
}
