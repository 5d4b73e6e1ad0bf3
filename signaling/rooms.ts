// Who is in which room, and who may signal whom — the signaling server's only state, kept
// pure (no sockets, no clock; randomness from an injected Rng) so it is tested without a network.
//
// A connection handle `C` is whatever the server uses to reach a socket; this file never
// looks inside it. Node ids are unique across the whole server, not just per room: one node,
// one connection.
import type { Rng } from '../src/core/rng.ts';
import type { NodeId } from '../src/core/types.ts';
import { timingSafeEqual } from 'node:crypto';
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
  | Refusal<'already-joined' | 'duplicate-id' | 'room-full' | 'server-full' | 'password-required' | 'wrong-password' | 'room-not-private'>;

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

/**
 * A live room. `verifier` is fixed by the join that opened it: null for an open room, else the
 * verifier of its password (private rooms). It goes with the room when the last member leaves.
 */
interface Room<C> {
  members: Map<NodeId, C>;
  verifier: string | null;
}

export class RoomRegistry<C> {
  private readonly rooms = new Map<string, Room<C>>();
  private readonly byConn = new Map<C, Membership>();
  private readonly byId = new Map<NodeId, C>();

  constructor(
    private readonly rng: Rng,
    private readonly limits: RoomLimits,
  ) {}

  /** `verifier`: the join's password verifier (private rooms), or undefined. */
  join(conn: C, room: string, id: NodeId, verifier?: string): JoinOutcome<C> {
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
    const existing = this.rooms.get(room);
    if (!existing) {
      if (this.rooms.size >= this.limits.maxRooms) {
        return refuse(
          'server-full',
          `this server already holds its limit of ${this.limits.maxRooms} rooms; join an existing room or try again later`,
        );
      }
    } else {
      const refusal = passwordRefusal(room, existing.verifier, verifier);
      if (refusal) return refusal;
      if (existing.members.size >= this.limits.maxNodesPerRoom) {
        return refuse(
          'room-full',
          `room "${room}" already has its limit of ${this.limits.maxNodesPerRoom} nodes; pick another room (?room=…)`,
        );
      }
    }
    const entry = existing ?? { members: new Map<NodeId, C>(), verifier: verifier ?? null };
    if (!existing) this.rooms.set(room, entry);
    const members = entry.members;
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
    const members = this.rooms.get(membership.room)?.members;
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
    const target = this.rooms.get(membership.room)?.members.get(to);
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
    return this.rooms.get(room)?.members.size ?? 0;
  }

  /** Whether a live room is private (joined with a password); false for open or absent rooms. */
  isPrivate(room: string): boolean {
    return (this.rooms.get(room)?.verifier ?? null) !== null;
  }

  counts(): { rooms: number; nodes: number } {
    return { rooms: this.rooms.size, nodes: this.byId.size };
  }

  /** Live rooms joined with a password. */
  privateRoomCount(): number {
    let count = 0;
    for (const entry of this.rooms.values()) if (entry.verifier !== null) count++;
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

/** Whether a join's verifier fits the room it joins; the refusal says what the person can do. */
function passwordRefusal(
  room: string,
  roomVerifier: string | null,
  joinVerifier: string | undefined,
): Refusal<'password-required' | 'wrong-password' | 'room-not-private'> | null {
  if (roomVerifier === null) {
    if (joinVerifier === undefined) return null;
    return refuse(
      'room-not-private',
      `room "${room}" is open: its members joined without a password, so a password cannot protect it now — join without a password, or pick another room name for a private room`,
    );
  }
  if (joinVerifier === undefined) {
    return refuse('password-required', `room "${room}" is private: enter its password to join (ask someone in the room for it)`);
  }
  if (!sameText(roomVerifier, joinVerifier)) {
    return refuse('wrong-password', `wrong password for room "${room}": check it with someone in the room and enter it again`);
  }
  return null;
}

/** Constant-time comparison, so response timing tells nothing about how much of a verifier matched. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function refuse<Code extends ErrorCode>(code: Code, message: string): Refusal<Code> {
  return { ok: false, code, message };
}
