// Who is in which room, and who may signal whom — the signaling server's only state, kept
// pure (no sockets, no clock; randomness from an injected Rng) so it is tested without a network.
//
// A connection handle `C` is whatever the server uses to reach a socket; this file never
// looks inside it. Node ids are unique across the whole server, not just per room: one node,
// one connection.
import type { Rng } from '../src/core/rng.ts';
import type { NodeId } from '../src/core/types.ts';
import type { ErrorCode } from './protocol.ts';

export interface RoomLimits {
  /** Nodes in one room; the next join gets `room-full`. */
  maxNodesPerRoom: number;
  /** Rooms alive at once; a join that would open one more gets `server-full`. */
  maxRooms: number;
  /** The most peers a joining node is told about. */
  maxPeersInJoinSample: number;
}

export type Refusal<Code extends ErrorCode> = { ok: false; code: Code; message: string };

export type JoinOutcome<C> =
  | {
      ok: true;
      /** A uniform random sample of the room's other nodes, at most maxPeersInJoinSample. */
      peers: NodeId[];
      /** Everyone else in the room, to be told `peer-joined`. */
      announceTo: C[];
    }
  | Refusal<'already-joined' | 'duplicate-id' | 'room-full' | 'server-full'>;

export type RouteOutcome<C> =
  | { ok: true; from: NodeId; target: C }
  | Refusal<'not-joined' | 'unknown-peer' | 'bad-message'>;

export interface Departure<C> {
  room: string;
  id: NodeId;
  /** Everyone left in the room, to be told `peer-left`. */
  announceTo: C[];
}

interface Membership {
  room: string;
  id: NodeId;
}

/** The first characters of an id: enough for a person to tell nodes apart in a message. */
export const shortId = (id: string): string => id.slice(0, 8);

export class RoomRegistry<C> {
  private readonly rooms = new Map<string, Map<NodeId, C>>();
  private readonly byConn = new Map<C, Membership>();
  private readonly byId = new Map<NodeId, C>();

  constructor(
    private readonly rng: Rng,
    private readonly limits: RoomLimits,
  ) {}

  join(conn: C, room: string, id: NodeId): JoinOutcome<C> {
    const current = this.byConn.get(conn);
    if (current) {
      return refuse(
        'already-joined',
        `this connection is already node ${shortId(current.id)} in room "${current.room}"; to join as another node or room, open a new connection`,
      );
    }
    if (this.byId.has(id)) {
      return refuse(
        'duplicate-id',
        `node ${shortId(id)} is already connected (another tab with the same key, or a connection that has not dropped yet); the existing connection keeps the id — retry in a few seconds`,
      );
    }
    let members = this.rooms.get(room);
    if (!members) {
      if (this.rooms.size >= this.limits.maxRooms) {
        return refuse(
          'server-full',
          `this server already holds its limit of ${this.limits.maxRooms} rooms; join an existing room or try again later`,
        );
      }
    } else if (members.size >= this.limits.maxNodesPerRoom) {
      return refuse(
        'room-full',
        `room "${room}" already has its limit of ${this.limits.maxNodesPerRoom} nodes; pick another room (?room=…)`,
      );
    }
    if (!members) {
      members = new Map();
      this.rooms.set(room, members);
    }
    const peers = this.sample([...members.keys()], this.limits.maxPeersInJoinSample);
    const announceTo = [...members.values()];
    members.set(id, conn);
    this.byConn.set(conn, { room, id });
    this.byId.set(id, conn);
    return { ok: true, peers, announceTo };
  }

  /** Removes the connection's node, if it had joined; the room goes when it is empty. */
  leave(conn: C): Departure<C> | null {
    const membership = this.byConn.get(conn);
    if (!membership) return null;
    this.byConn.delete(conn);
    this.byId.delete(membership.id);
    const members = this.rooms.get(membership.room);
    if (!members) throw new Error(`room "${membership.room}" vanished while node ${membership.id} was in it`);
    members.delete(membership.id);
    if (members.size === 0) this.rooms.delete(membership.room);
    return { room: membership.room, id: membership.id, announceTo: [...members.values()] };
  }

  /** Where a signal from `conn` to `to` goes: only to another node of the same room. */
  route(conn: C, to: NodeId): RouteOutcome<C> {
    const membership = this.byConn.get(conn);
    if (!membership) return refuse('not-joined', 'send join first: signals are relayed only between nodes in a room');
    if (to === membership.id) return refuse('bad-message', 'to: a node cannot signal itself');
    const target = this.rooms.get(membership.room)?.get(to);
    if (target === undefined) {
      return refuse(
        'unknown-peer',
        `node ${shortId(to)} is not in room "${membership.room}" (it may have just left); pick a peer from joined/peer-joined`,
      );
    }
    return { ok: true, from: membership.id, target };
  }

  membership(conn: C): Readonly<Membership> | undefined {
    return this.byConn.get(conn);
  }

  roomSize(room: string): number {
    return this.rooms.get(room)?.size ?? 0;
  }

  counts(): { rooms: number; nodes: number } {
    return { rooms: this.rooms.size, nodes: this.byId.size };
  }

  /** k distinct items chosen uniformly (a partial Fisher–Yates shuffle). */
  private sample<T>(items: T[], k: number): T[] {
    const n = items.length;
    const take = Math.min(k, n);
    for (let i = 0; i < take; i++) {
      const j = i + this.rng.int(n - i);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items.slice(0, take);
  }
}

function refuse<Code extends ErrorCode>(code: Code, message: string): Refusal<Code> {
  return { ok: false, code, message };
}
