// A service is one protocol core wired into the node runtime (link upkeep, gossip, overlay,
// consensus, stealing). The runtime owns the I/O; a service owns one protocol's frames, timers,
// commands and its part of the snapshot. Keeping each service in a file of its own lets every
// protocol be integrated without touching the others.
import type { Rng } from '../core/rng.ts';
import type { Millis, NodeId, ProtocolTag } from '../core/types.ts';
import type { Storage } from '../store/storage.ts';
import type { MemoryMessage } from './protocol.ts';
import type { Timers } from './clock.ts';

export interface ServiceContext {
  readonly self: NodeId;
  readonly room: string;
  /** Wall-clock milliseconds (cores that keep hybrid logical clocks need real time). */
  now(): Millis;
  /**
   * Milliseconds on the node's monotonic clock (Clock.monotonic), for waits a wall-clock jump
   * must not cut short. Optional so bare test contexts may omit it (they then use now()).
   */
  monotonic?(): Millis;
  /**
   * The node's timers (RuntimeOptions.timers), for the rare service that must wake outside the
   * runtime's nextWakeAt/tick loop; the real host's or the simulator's virtual ones.
   */
  readonly timers: Timers;
  /** A seeded stream of this node's randomness, one fork per service. */
  readonly rng: Rng;
  readonly storage: Storage;
  /** Sends one message of this service's protocol over the direct link to `peer`. */
  send(peer: NodeId, message: unknown): boolean;
  /** Peers with a direct link up right now. */
  linkedPeers(): NodeId[];
  /** Asks the transport for (or to drop) a direct link; the overlay decides, others ask it. */
  wantLink(peer: NodeId): void;
  unwantLink(peer: NodeId, reason: string): void;
  sign(text: string): Promise<string>;
  verify(signer: string, text: string, signature: string): Promise<boolean>;
  /**
   * Runs `fn` as the runtime runs every call into this service (its dispatch): a throw is caught,
   * counted and reported, and the node's wake-up is re-armed after. What comes back from outside
   * the runtime's own calls (a signature, a verification, a kernel's result) re-enters this way
   * (see reentry.ts), never through a bare `promise.then`.
   */
  reenter(fn: () => void): void;
  /** Something this service shows has changed: the runtime will post a snapshot soon. */
  changed(): void;
  /** Posts memory changes to the page at once (tabs only; see RuntimeOptions.publishMemory). */
  publishMemory?(message: MemoryMessage): void;
  /**
   * Posts an event to the app at once (a tab's page, or a Node embedder): `name` matches
   * appEventNamePattern; `transfer` lists ArrayBuffers in the payload to move, not copy.
   * Absent when nothing listens (tests, bare runtimes).
   */
  publishEvent?(name: string, payload: unknown, transfer?: Transferable[]): void;
  /** Counts a refused input by reason (shown in snapshot.rejected). */
  reject(reason: string): void;
  /**
   * `peer` sent this service something bad that got past the frame checks (a malformed app
   * message, one failing the app's validator): charged to its garbage budget in the node's abuse
   * guard (peer-guard.ts) when it is a direct link, which cuts it off when it keeps on.
   */
  misbehaved?(peer: NodeId, why: string): void;
  /** Node-local events between services (e.g. gossip declares a member dead → consensus). */
  emit(event: ServiceEvent): void;
  /**
   * Sends one message of this service's protocol to any node of the mesh: over the direct link
   * if there is one, else routed over several hops (signed by this node, checked on arrival).
   * The receiver's service gets it through `receive(origin, message)`.
   */
  sendTo(node: NodeId, message: unknown): void;
  /** Sends one message of this service's protocol to every node of the mesh, once each. */
  broadcast(message: unknown): void;
}

/** A message that reached this node over the mesh, already authenticated as its origin's. */
export interface RoutedDelivery {
  origin: NodeId;
  kind: string;
  message: unknown;
  broadcast: boolean;
  hops: number;
}

/** What the routing service offers the runtime (and through it, every service). */
export interface MeshRouting {
  route(kind: string, to: NodeId, payload: unknown): void;
  broadcast(kind: string, payload: unknown): void;
  onDeliver(listener: (delivery: RoutedDelivery) => void): void;
}

/** Events that services publish for each other. */
export type ServiceEvent =
  | { type: 'peer-introduced'; peer: NodeId }
  | { type: 'peer-left-room'; peer: NodeId }
  | { type: 'member-status'; peer: NodeId; status: 'alive' | 'suspect' | 'dead' | 'left' }
  | { type: 'signaling'; joined: boolean };

export interface Service {
  /** The frames this service handles. */
  readonly protocol: ProtocolTag;
  /** True for the one service that decides which direct links exist (the overlay). */
  readonly managesLinks?: boolean;
  /** Loads persisted state; called once before anything else. */
  start(ctx: ServiceContext): Promise<void>;
  /** A frame of this protocol from a directly linked peer (not yet decoded beyond the envelope). */
  receive(from: NodeId, message: unknown): void;
  linkUp?(peer: NodeId): void;
  linkDown?(peer: NodeId, reason: string): void;
  /** A round-trip time measured on the link to `peer`. */
  linkRtt?(peer: NodeId, rttMs: number): void;
  /** Another service's event. */
  onEvent?(event: ServiceEvent): void;
  /** Called when the time asked for by nextWakeAt() has come (or later). */
  tick?(now: Millis): void;
  nextWakeAt?(): Millis | undefined;
  /** This service's commands, by name; arguments come from the page and must be checked. */
  readonly commands?: Record<string, (args: unknown[]) => unknown>;
  /** This service's part of the snapshot (merged at the top level). */
  snapshot?(): Record<string, unknown>;
  /** Graceful leave: last words to peers. */
  shutdown?(reason: string): void;
  /** Resolves when this service's queued writes and the sends behind them are done. */
  settled?(): Promise<void>;
  /**
   * Messages of this protocol to hand every linked peer if the node vanishes without a chance
   * to run (a tab being closed): the page sends them synchronously as it goes. Keep them small
   * and valid for as long as they are posted (the runtime asks again after every change).
   */
  lastWords?(): unknown[];
}

export const isMeshRouting = (service: object): service is MeshRouting & Service => 'route' in service && 'onDeliver' in service && 'broadcast' in service;
