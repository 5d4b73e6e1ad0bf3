// What the hub needs from the other members of a signaling cluster, so that the hub's logic
// stays in one place: hub.ts keeps its local RoomRegistry (the sockets it holds) and, when it is
// one member of a cluster, asks a ClusterBus for what only the whole cluster knows. Without a
// bus (no --redis), hub.ts runs exactly as a single process always did, synchronously.
//
// redis-cluster.ts is the one implementation over the network.
import type { NodeId } from '../../src/core/types.ts';
import type { RoomKey } from '../rooms.ts';

/** Cluster-wide caps a join is checked against (the same numbers as the local ones). */
export interface ClusterCaps {
  maxNodesPerRoom: number;
  maxSeatsPerAddressPerRoom: number;
  maxRoomsPerAddress: number;
  maxConnectionsPerAddress: number;
}

export type ClusterAdmission =
  | { ok: true; peers: NodeId[] }
  | { ok: false; code: 'duplicate-id' | 'room-full' | 'address-quota'; why: 'id' | 'room' | 'seats' | 'rooms' }
  /** The cluster cannot be asked now (Redis down): the hub admits on its own knowledge. */
  | { ok: 'unknown' };

/** What arrives from other members; the hub applies it to its local sockets. */
export interface ClusterEvents {
  joined(key: RoomKey, id: NodeId): void;
  left(key: RoomKey, id: NodeId): void;
  /** A signal for a local node, stamped with its sender by the sending member. */
  signal(key: RoomKey, from: NodeId, to: NodeId, data: Record<string, unknown>): void;
}

/** This member's local state, re-registered in full after Redis lost it (restart, or we were reaped). */
export interface LocalState {
  nodes: { id: NodeId; key: RoomKey; address: string }[];
  /** One client address per open connection that holds a cluster connection unit. */
  connections: string[];
  load: MemberLoad;
}

export interface MemberLoad {
  connections: number;
  rooms: number;
  nodes: number;
}

export interface MemberView extends MemberLoad {
  id: string;
  /** Where the member serves (its URL), as it advertised it. */
  address: string;
  /** Wall-clock time of its last heartbeat (ISO 8601). */
  lastHeartbeat: string;
  self: boolean;
}

export interface ClusterStats {
  member: string;
  /** Whether Redis answers now. */
  connected: boolean;
  members: MemberView[];
  /** Bus messages from other members that did not decode: counted and dropped. */
  malformedBusMessages: number;
  /** Signals sent to / received from nodes on other members. */
  signalsOut: number;
  signalsIn: number;
  /** Dead members whose nodes this member removed (and announced as left). */
  membersReaped: number;
  /** Times this member re-registered its nodes (Redis restarted, or it was taken for dead). */
  reRegistrations: number;
  /** Redis calls that failed (Redis down); the hub went on with its local knowledge. */
  redisErrors: number;
}

export interface ClusterBus {
  readonly memberId: string;
  /** Starts heartbeats and subscriptions; `localState` is read at each re-registration. */
  start(events: ClusterEvents, localState: () => LocalState): void;
  /** Where this member serves, shown to the others (healthz). */
  setAddress(url: string): void;
  takeConnection(address: string): Promise<boolean | 'unknown'>;
  releaseConnection(address: string): void;
  /**
   * A join already admitted locally, checked against the cluster-wide caps and registered;
   * on success, a random sample of the room's nodes on every member. An id held through another
   * member is asked about again for a few heartbeats, while `stillWanted()` (the socket is
   * open): if that member died, the node is taken over as soon as it counts as dead.
   */
  admitJoin(key: RoomKey, id: NodeId, address: string, stillWanted: () => boolean): Promise<ClusterAdmission>;
  /**
   * The node left (safe to call for a node the cluster refused or never heard of). With
   * `announce`, the other members are told — unless another member holds the id by now (it
   * came back through that one while this member was taken for dead).
   */
  leave(key: RoomKey, id: NodeId, announce: boolean): void;
  /** Tells the other members (batched) so they announce it to their local members. */
  announce(key: RoomKey, id: NodeId, kind: 'joined' | 'left'): void;
  /** Relays a signal to a node on another member; false when no member has it in that room. */
  relay(key: RoomKey, from: NodeId, to: NodeId, data: Record<string, unknown>): Promise<boolean | 'unknown'>;
  stats(): ClusterStats;
  close(): Promise<void>;
}
