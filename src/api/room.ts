// The Room joinRoom resolves with: this node's id, who else is here (peers() and peer-join /
// peer-leave), the replicated memory, the node's state for dashboards, and leave(). Channels,
// consensus and compute plug in through the FEATURE HOOKS below (src/api/channel.ts,
// consensus.ts, compute.ts: each a factory over the room's NodeBackend).
import * as v from 'valibot';
import type { NodeBackend } from './backend.ts';
import type { NodeSnapshot } from '../mesh-node.ts';
import { InvalidArgumentError, RoomClosedError } from './errors.ts';
import { TypedEmitter, type Unsubscribe } from './events.ts';
import { BackendMemory, type RoomMemory } from './memory.ts';
import { PeerTracker, membersPayloadSchema } from './peers.ts';
import { RoomBackend } from './room-backend.ts';
import { createCompute, type Compute } from './compute.ts';
import { membersEventName } from '../worker/services/membership-events.ts';
import { createConsensus, type Consensus, type StateMachine } from './consensus.ts';
import { createChannel, type Channel, type ChannelData, type ChannelOptions } from './channel.ts';
import { createAdmin, type RoomAdmin } from './admin.ts';
import { debugApi, type TabmeshDebugApi } from '../debug-api.ts';

/** A node id: the base64url Ed25519 public key of a node (43 characters). */
export type PeerId = string;

/** The events of a Room, with their listeners' arguments. */
export interface RoomEvents {
  [event: string]: unknown[];
  /** This node learnt that a peer is in the room (once per peer per membership; after a peer-leave it may join again). In a room larger than gossip's sample, the peer may have joined long before. */
  'peer-join': [peer: PeerId];
  /** A peer that had joined left the room or was declared dead by the room's failure detector. */
  'peer-leave': [peer: PeerId];
  /** The node published a new snapshot of its state (several a second while things change). */
  snapshot: [snapshot: NodeSnapshot];
}

/** The event names a Room accepts in on/off. */
export type RoomEventName = 'peer-join' | 'peer-leave' | 'snapshot';
const roomEventNames: readonly RoomEventName[] = ['peer-join', 'peer-leave', 'snapshot'];

/** A joined room: this node's membership of it. */
export interface Room {
  /** This node's id (its public key, base64url): what other nodes see in their peer-join. */
  readonly id: PeerId;
  /** The room's name. */
  readonly room: string;
  /** True once leave() was called; every call then rejects (or throws) a RoomClosedError. */
  readonly closed: boolean;
  /** The room's other nodes this node has learnt are present and not heard leave or die since, in the order it learnt them (in a large room: those it has learnt of, not the whole room). */
  peers(): PeerId[];
  /** Calls `listener` for every `event` until the returned function is called (or off). */
  on<E extends RoomEventName>(event: E, listener: (...args: RoomEvents[E]) => void): Unsubscribe;
  /** Stops calling `listener` for `event`. */
  off<E extends RoomEventName>(event: E, listener: (...args: RoomEvents[E]) => void): void;
  /** The room's replicated memory (JSON values under string keys, last writer wins). */
  readonly memory: RoomMemory;
  /**
   * Compute with your own kernels: `register(kind, kernel)` on the nodes that can run it,
   * `submit(kind, { tasks })` from any node; jobs of a kind run only where it is registered
   * (src/api/compute.ts, docs/reference.md "Compute with your own kernels").
   */
  readonly compute: Compute;
  /** The node's full state (links, members, consensus, jobs, health, settings…), or null before the first; see docs/reference.md. */
  snapshot(): NodeSnapshot | null;
  /** The node's controls, as the dashboard uses them: settings, link bounds, Byzantine mode, built-in jobs and decision log, link faults (src/api/admin.ts). */
  readonly admin: RoomAdmin;
  /** Fault injection and deep reads for chaos runs and devtools: flood a peer, crash or hang the worker, accepted tasks of a job (src/debug-api.ts). */
  readonly debug: TabmeshDebugApi;
  /**
   * Runs `machine` as the room's replicated state machine `name` (its own operations): pBFT
   * orders them, every node's app applies them in the same order, and `propose(op)` resolves
   * with the result once committed. See src/api/consensus.ts and docs/reference.md.
   */
  consensus<Op, Result, Snapshot>(name: string, machine: StateMachine<Op, Result, Snapshot>): Consensus<Op, Result>;
  /**
   * A named channel: JSON values or Uint8Array bytes (up to 16 MiB) to one node or to every live
   * member, delivered whole, in order per sender, routed to nodes that are not direct links
   * (src/api/channel.ts; limits in docs/reference.md, Channels). `options.validate`: a Standard
   * Schema every incoming message must pass.
   */
  channel<T extends ChannelData = ChannelData>(name: string, options?: ChannelOptions<T>): Channel<T>;
  /**
   * Leaves the room gracefully: peers are told, links closed, the node stopped. Resolves when
   * done; calling it again returns the same promise. No event is delivered afterwards.
   */
  leave(): Promise<void>;
}

/** What a room feature's factory gets: the room's node, fenced by the room's life (commands reject with RoomClosedError after leave). */
export type FeatureBackend = NodeBackend;

export class RoomImpl implements Room {
  readonly id: PeerId;
  readonly room: string;
  readonly memory: RoomMemory;
  private readonly backend: RoomBackend;
  private readonly events = new TypedEmitter<RoomEvents>();
  private readonly tracker: PeerTracker;
  private readonly memoryImpl: BackendMemory;
  /** Cleanups of features made so far (a channel's subscriptions, …), run on leave. */
  private readonly featureCleanups: Array<() => void | Promise<void>> = [];
  private leaving: Promise<void> | null = null;
  private computeApi: Compute | null = null;
  private adminApi: RoomAdmin | null = null;
  private debugTools: TabmeshDebugApi | null = null;

  /**
   * @param node the running node (its first snapshot has arrived, so its id is known)
   * @param id this node's id
   * @param room the room's name
   */
  constructor(node: NodeBackend, id: PeerId, room: string) {
    this.id = id;
    this.room = room;
    this.backend = new RoomBackend(node);
    this.tracker = new PeerTracker(
      id,
      (peer) => this.events.emit('peer-join', peer),
      (peer) => this.events.emit('peer-leave', peer),
    );
    this.backend.onEvent(membersEventName, (payload) => this.takeMembers(payload));
    this.backend.subscribe((snapshot) => this.events.emit('snapshot', snapshot));
    this.memoryImpl = new BackendMemory({ backend: this.backend, ensureOpen: () => this.ensureOpen() });
    this.memory = this.memoryImpl;
    // The list as it is now (an event published before this room listened is not lost).
    void this.backend.command('members').then(
      (payload) => this.takeMembers(payload),
      () => {},
    );
  }

  get closed(): boolean {
    return this.leaving !== null;
  }

  peers(): PeerId[] {
    this.ensureOpen();
    return this.tracker.peers();
  }

  on<E extends RoomEventName>(event: E, listener: (...args: RoomEvents[E]) => void): Unsubscribe {
    this.ensureOpen();
    checkEvent(event, 'room.on');
    if (typeof listener !== 'function') throw new InvalidArgumentError('room.on: listener', 'must be a function');
    return this.events.on(event, listener);
  }

  off<E extends RoomEventName>(event: E, listener: (...args: RoomEvents[E]) => void): void {
    checkEvent(event, 'room.off');
    this.events.off(event, listener);
  }

  snapshot(): NodeSnapshot | null {
    this.ensureOpen();
    return this.backend.snapshot();
  }

  get admin(): RoomAdmin {
    this.ensureOpen();
    return (this.adminApi ??= createAdmin(this.backend));
  }

  get debug(): TabmeshDebugApi {
    this.ensureOpen();
    return (this.debugTools ??= debugApi(this.backend));
  }

  leave(): Promise<void> {
    return (this.leaving ??= (async () => {
      this.tracker.clear();
      this.events.clear();
      this.memoryImpl.dispose();
      for (const cleanup of this.featureCleanups.splice(0)) {
        try {
          await cleanup();
        } catch (error) {
          console.error('tabmesh: a room feature failed to close', error);
        }
      }
      await this.backend.close();
    })());
  }

  // ── FEATURE HOOKS (issue 17) ───────────────────────────────────────────────────────────────
  // Each feature is a factory over the room's node (`this.features()`), written in its own file.
  // Whoever merges a feature second wires it here in one line, for example:
  //   channel<T>(name: string, options?: ChannelOptions<T>): Channel<T> { return this.feature(() => createChannel(this.backend, name, options)); }
  //   get consensus(): RoomConsensus { return (this.consensusApi ??= this.feature(() => createConsensus(this.backend))); }
  //   get compute(): RoomCompute { return (this.computeApi ??= this.feature(() => createCompute(this.backend))); }
  // A feature that holds subscriptions or timers returns an object with `close()`; the room
  // calls it on leave. The backend already refuses commands with RoomClosedError after leave.

  get compute(): Compute {
    this.ensureOpen();
    return (this.computeApi ??= this.feature(() => createCompute(this.featureBackend)));
  }

  consensus<Op, Result, Snapshot>(name: string, machine: StateMachine<Op, Result, Snapshot>): Consensus<Op, Result> {
    return this.feature(() => createConsensus(this.featureBackend, name, machine));
  }

  /**
   * A named channel of this room (src/api/channel.ts): JSON values or Uint8Array bytes (up to 16
   * MiB) to one node (`send(data, { to })`) or to every live member, with listeners for what
   * arrives. `options.validate`: a Standard Schema (valibot, zod, arktype) that every incoming
   * message must pass. Throws a ChannelError (`channel-bad-name`, `channel-bad-argument`) for bad
   * arguments, a RoomClosedError after leave(). The channel is closed when the room is left.
   */
  channel<T extends ChannelData = ChannelData>(name: string, options?: ChannelOptions<T>): Channel<T> {
    return this.feature(() => createChannel<T>(this.featureBackend, name, options));
  }

  /**
   * Runs a feature factory for this room: refuses after leave, and remembers the feature's
   * `close()` (if it has one) for leave().
   */
  protected feature<T>(make: () => T): T {
    this.ensureOpen();
    const made = make();
    const close = (made as { close?: unknown } | null)?.close;
    if (typeof close === 'function') this.featureCleanups.push(() => (close as () => void | Promise<void>).call(made));
    return made;
  }

  /** The room's node (fenced by the room's life), for nodeOfRoom below. @internal */
  get node(): NodeBackend {
    return this.backend;
  }

  /** The room's node as features see it (fenced by the room's life). */
  protected get featureBackend(): FeatureBackend {
    return this.backend;
  }

  /** Throws a RoomClosedError once leave() was called. */
  ensureOpen(): void {
    if (this.leaving) throw new RoomClosedError();
  }

  private takeMembers(payload: unknown): void {
    if (this.leaving) return;
    const decoded = v.safeParse(membersPayloadSchema, payload);
    if (!decoded.success) {
      console.warn('tabmesh: refused a members list from the node', decoded.issues[0].message);
      return;
    }
    this.tracker.update(decoded.output);
  }
}

function checkEvent(event: unknown, call: string): asserts event is RoomEventName {
  if (!roomEventNames.includes(event as RoomEventName))
    throw new InvalidArgumentError(`${call}: event`, `must be one of ${roomEventNames.map((n) => `'${n}'`).join(', ')}`);
}

/**
 * The node behind a Room, for this repository's own views that speak the node's commands
 * directly (the consensus demo view, src/ui/demo). Not exported from the package: apps use the
 * Room's members. Throws for a Room that is not one of joinRoom's.
 * @internal
 */
export function nodeOfRoom(room: Room): NodeBackend {
  if (!(room instanceof RoomImpl)) throw new InvalidArgumentError('nodeOfRoom: room', 'must be a Room from joinRoom');
  return room.node;
}
