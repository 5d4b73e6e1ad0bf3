// Room admission: a signed join goes through the identity check, the wrong-password throttle
// and the per-address caps to the room. Every unit of quota taken here is given back on
// failure, or when the node leaves (departure.ts).
import type { NodeId } from '../../src/core/types.ts';
import type { JoinMessage } from '../protocol.ts';
import * as limits from '../limits.ts';
import { roomKeyOf, shortId } from '../rooms.ts';
import { checkJoinSignature } from '../identity.ts';
import type { QuotaKey } from '../address-limits.ts';
import type { Conn } from './conn.ts';
import { closeConn, refuse, refuseJoin } from './outbox.ts';
import { completeJoin } from './joined.ts';
import { admitInCluster } from './cluster-admission.ts';
import type { Hub } from './state.ts';

export function handleJoin(hub: Hub, conn: Conn, msg: JoinMessage): void {
  const current = hub.rooms.membership(conn);
  if (current) {
    return refuse(
      hub,
      conn,
      'already-joined',
      `this connection is already node ${shortId(current.id)} in room "${current.room}"; to join as another node or room, open a new connection`,
    );
  }
  const identity = checkJoinSignature(conn.challenge, msg);
  if (!identity.ok) {
    refuse(hub, conn, identity.code, identity.message);
    // A wrong signature will not get right by trying again on this connection.
    if (identity.code === 'bad-signature') closeConn(conn, limits.closeCodes.policy, 'bad join signature');
    return;
  }
  return admitJoin(hub, conn, msg.room, msg.id as NodeId, msg.verifier);
}

/**
 * A signed join, through the per-address caps and the wrong-password throttle to the room.
 * With a cluster, the cluster's caps are checked after these (cluster-admission.ts).
 */
function admitJoin(hub: Hub, conn: Conn, room: string, id: NodeId, verifier: string | undefined): void {
  const { rooms, quotas, config } = hub;
  const key = roomKeyOf(room, verifier);
  const opening = !rooms.exists(key);
  // A password nobody in a room of that name uses: a guess, or a typo. Both are throttled.
  const passwordMiss = verifier !== undefined && opening && rooms.privateRoomsNamed(room) > 0;
  if (passwordMiss && !hub.passwordMisses.tryTake(conn.address, hub.now())) {
    return refuseJoin(
      hub,
      conn,
      'too-many-attempts',
      `too many joins to room "${room}" with a password its members do not use, from your address; check the password and try again in a few minutes`,
    );
  }
  const seat: QuotaKey = `seat:${key}`;
  if (opening && !quotas.tryTake(conn.address, 'rooms', config.caps.rooms)) {
    return refuseJoin(
      hub,
      conn,
      'address-quota',
      `your address already opened ${config.caps.rooms} rooms that are still live, its limit per address; join an existing room or try again later`,
    );
  }
  if (!quotas.tryTake(conn.address, seat, config.caps.seats)) {
    if (opening) quotas.release(conn.address, 'rooms');
    return refuseJoin(
      hub,
      conn,
      'address-quota',
      `your address already holds ${config.caps.seats} places in room "${room}", its limit per address; try again later or from another network`,
    );
  }
  const outcome = rooms.join(conn, room, id, verifier);
  if (!outcome.ok) {
    quotas.release(conn.address, seat);
    if (opening) quotas.release(conn.address, 'rooms');
    return refuseJoin(hub, conn, outcome.code, outcome.message);
  }
  if (outcome.created) hub.roomOpeners.set(outcome.key, conn.address);
  const joining = { room, id, key: outcome.key, verifier, passwordMiss };
  if (hub.cluster) {
    conn.joinPending = true;
    void admitInCluster(hub, hub.cluster, conn, joining, outcome.peers);
    return;
  }
  completeJoin(hub, conn, joining, outcome.peers);
}
