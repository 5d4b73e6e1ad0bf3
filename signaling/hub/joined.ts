// A join that is in (locally, and in the cluster when there is one): the node hears its
// sample, the room hears of the node, and a notice tells of a room of the same name elsewhere.
import type { NodeId } from '../../src/core/types.ts';
import type { RoomKey } from '../rooms.ts';
import type { Conn } from './conn.ts';
import { notify, send } from './outbox.ts';
import type { Hub } from './state.ts';

/** A join admitted by the local checks, as the cluster step and completeJoin need it. */
export interface Joining {
  readonly room: string;
  readonly id: NodeId;
  readonly key: RoomKey;
  readonly verifier: string | undefined;
  /** A private join with a password nobody in a room of that name uses. */
  readonly passwordMiss: boolean;
}

/** The join is in: the node hears its sample, the room hears of the node. */
export function completeJoin(hub: Hub, conn: Conn, joining: Joining, peers: NodeId[]): void {
  const { room, id, key, verifier, passwordMiss } = joining;
  send(hub, conn, { type: 'joined', room, self: id, peers });
  hub.announcer.joined(key, id);
  if (verifier === undefined && hub.rooms.privateRoomsNamed(room) > 0) {
    notify(
      hub,
      conn,
      'private-room-exists',
      `room "${room}" also exists as a private room: you are in the open room of that name; to join the private one, enter its password`,
    );
  } else if (passwordMiss) {
    notify(
      hub,
      conn,
      'password-mismatch',
      `nobody in room "${room}" uses this password: you are alone in a new private room; if you expected others, check the password with them`,
    );
  }
}
