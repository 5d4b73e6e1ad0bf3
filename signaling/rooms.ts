// Who is in which room, and who may signal whom — the signaling server's only state, kept
// pure (no sockets, no clock; randomness from an injected Rng) so it is tested without a network.
//
// A connection handle `C` is whatever the server uses to reach a socket; this file never
// looks inside it. Node ids are unique across the whole server, not just per room: one node,
// one connection. Announcing arrivals and departures is announcements.ts's job; the caps per
// client address are hub.ts's (address-limits.ts).
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

export type JoinOutcome =
  | {
      ok: true;
      /** A uniform random sample of the room's other nodes, at most maxPeersInJoinSample. */
      peers: NodeId[];
      /** The room's key in this registry (its name, in the namespace of its verifier). */
      key: RoomKey;
      /** This join opened the room. */
      created: boolean;
    }
  | Refusal<'already-joined' | 'duplicate-id' | 'room-full' | 'server-full'>;

export type RouteOutcome<C> = { ok: true; from: NodeId; target: C } | Refusal<'not-joined' | 'unknown-peer' | 'bad-message'>;

export interface Departure {
  room: string;
  key: RoomKey;
  id: NodeId;
  /** The room is gone with this departure (it was the last member). */
  emptied: boolean;
}

/**
 * Where a room lives: open rooms under their name, private rooms under their name and the
 * verifier of their password. Two namespaces that never meet, so a join can never change what
 * kind of room another join lands in (nobody can squat a name for the other kind).
 */
export type RoomKey = string & { readonly __brand: 'RoomKey' };

export function roomKeyOf(room: string, verifier: string | undefined): RoomKey {
  // A newline cannot occur in a room name (protocol.ts), so the two forms never collide.
  return (verifier === undefined ? room : `${room}\n${verifier}`) as RoomKey;
}

interface Membership {
  room: string;
  key: RoomKey;
  id: NodeId;
}

/** The first characters of an id: enough for a person to tell nodes apart in a message. */
export const shortId = (id: string): string => id.slice(0, 8);

interface Room<C> {
  name: string;
  members: Map<NodeId, C>;
  /** Null for an open room, else the verifier of its password (private rooms). */
  verifier: string | null;
}

export class RoomRegistry<C> {
  private readonly rooms = new Map<RoomKey, Room<C>>();
  /** Live private rooms by name (each under a different verifier), for the notices. */
  private readonly privateByName = new Map<string, number>();
  private readonly byConn = new Map<C, Membership>();
  private readonly byId = new Map<NodeId, C>();

  constructor(
    private readonly rng: Rng,
    private readonly limits: RoomLimits,
  ) {}

  /** `verifier`: the join's password verifier (private rooms), or undefined for an open room. */
  join(conn: C, room: string, id: NodeId, verifier?: string): JoinOutcome {
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
        `node ${shortId(id)} is already connected (another tab with the same key, or a connection that has not dropped yet); ` +
          'the existing connection keeps the id — retry in a few seconds',
      );
    }
    const key = roomKeyOf(room, verifier);
    const existing = this.rooms.get(key);
    if (!existing) {
      if (this.rooms.size >= this.limits.maxRooms) {
        return refuse('server-full', `this server already holds its limit of ${this.limits.maxRooms} rooms; join an existing room or try again later`);
      }
    } else if (existing.members.size >= this.limits.maxNodesPerRoom) {
      return refuse('room-full', `room "${room}" already has its limit of ${this.limits.maxNodesPerRoom} nodes; pick another room (?room=…)`);
    }
    const entry = existing ?? { name: room, members: new Map<NodeId, C>(), verifier: verifier ?? null };
    if (!existing) {
      this.rooms.set(key, entry);
      if (entry.verifier !== null) this.privateByName.set(room, (this.privateByName.get(room) ?? 0) + 1);
    }
    const members = entry.members;
    const peers = this.sample([...members.keys()], this.limits.maxPeersInJoinSample);
    members.set(id, conn);
    this.byConn.set(conn, { room, key, id });
    this.byId.set(id, conn);
    return { ok: true, peers, key, created: !existing };
  }

  /** Removes the connection's node, if it had joined; the room goes when it is empty. */
  leave(conn: C): Departure | null {
    const membership = this.byConn.get(conn);
    if (!membership) return null;
    this.byConn.delete(conn);
    this.byId.delete(membership.id);
    const entry = this.rooms.get(membership.key);
    if (!entry) throw new Error(`room "${membership.room}" vanished while node ${membership.id} was in it`);
    entry.members.delete(membership.id);
    const emptied = entry.members.size === 0;
    if (emptied) {
      this.rooms.delete(membership.key);
      if (entry.verifier !== null) {
        const left = (this.privateByName.get(entry.name) ?? 1) - 1;
        if (left > 0) this.privateByName.set(entry.name, left);
        else this.privateByName.delete(entry.name);
      }
    }
    return { room: membership.room, key: membership.key, id: membership.id, emptied };
  }

  /** Where a signal from `conn` to `to` goes: only to another node of the same room. */
  route(conn: C, to: NodeId): RouteOutcome<C> {
    const membership = this.byConn.get(conn);
    if (!membership) return refuse('not-joined', 'send join first: signals are relayed only between nodes in a room');
    if (to === membership.id) return refuse('bad-message', 'to: a node cannot signal itself');
    const target = this.rooms.get(membership.key)?.members.get(to);
    if (target === undefined) {
      return refuse('unknown-peer', `node ${shortId(to)} is not in room "${membership.room}" (it may have just left); pick a peer from joined/peers`);
    }
    return { ok: true, from: membership.id, target };
  }

  /** The connection of a node, if it is here. */
  connection(id: NodeId): C | undefined {
    return this.byId.get(id);
  }

  membership(conn: C): Readonly<Membership> | undefined {
    return this.byConn.get(conn);
  }

  /** The connections in a room now (empty for a room that is gone). */
  members(key: RoomKey): IterableIterator<C> | readonly C[] {
    return this.rooms.get(key)?.members.values() ?? [];
  }

  /** Whether a live room exists under this key. */
  exists(key: RoomKey): boolean {
    return this.rooms.has(key);
  }

  roomSize(room: string, verifier?: string): number {
    return this.rooms.get(roomKeyOf(room, verifier))?.members.size ?? 0;
  }

  /** Live private rooms named `room` (each under its own password). */
  privateRoomsNamed(room: string): number {
    return this.privateByName.get(room) ?? 0;
  }

  counts(): { rooms: number; nodes: number } {
    return { rooms: this.rooms.size, nodes: this.byId.size };
  }

  /** Live rooms joined with a password. */
  privateRoomCount(): number {
    let count = 0;
    for (const n of this.privateByName.values()) count += n;
    return count;
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
