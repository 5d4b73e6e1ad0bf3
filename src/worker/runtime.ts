// The node runtime: the only I/O loop of a node. It owns the clock, timers, crypto and
// storage, feeds decoded input to the protocol logic and carries out what comes back.
// It is written against edges (storage, socket factory, link host), so a tab's worker and
// the Node peer run the same code.
import { signalingUrlList } from '../net/signaling-urls.ts';
import type { NodeId } from '../core/types.ts';
import { decodeFrame, encodeFrame } from '../core/envelope.ts';
import { decodeLinkMessage, maxChatChars, type LinkMessage } from '../core/link/messages.ts';
import { signText, verifyText, type Identity } from '../crypto/ed25519.ts';
import { toBase64Url } from '../crypto/base64url.ts';
import { SignalingClient, type SignalingStatus, type SocketLike } from '../net/signaling-client.ts';
import { deriveRoomKey, type RoomKey } from '../net/room-key.ts';
import { SignalSealer } from '../net/sealed-signal.ts';
import type { IceServer, LinkHost, LinkHostEvents } from '../net/transport.ts';
import type { Storage } from '../store/storage.ts';
import { loadOrCreateIdentity, type LoadedIdentity } from './identity-store.ts';
import { listSetAside, type SetAsideView } from '../store/set-aside.ts';
import { LinkManager } from './links.ts';
import { planKeepalive } from './keepalive.ts';
import { PeerGuard, type GuardVerdict } from './peer-guard.ts';
import type { BaseSnapshot, MessageView } from './snapshot.ts';
import type { MemoryMessage } from './protocol.ts';
import { SnapshotPacer } from './snapshot-pacer.ts';
import { FrameCounts } from './frame-counts.ts';
import { EarlySocket } from './early-socket.ts';
import { isMeshRouting, type MeshRouting, type RoutedDelivery, type Service, type ServiceContext, type ServiceEvent } from './service.ts';
import { createRng } from '../core/rng.ts';
import type { Clock, TimerHandle, Timers } from './clock.ts';
import { PresenceRetry, type PresenceTry } from './presence-retry.ts';
import type { ProtocolTag } from '../core/types.ts';

/** Most direct links kept until the overlay core manages degree (a full mesh below this). */
export const maxDirectLinks = 12;
/** Received direct messages kept for the UI. */
export const messageHistoryLimit = 50;
/** Known peers remembered; the oldest introductions go first when full. */
export const knownPeersLimit = 1024;
/** How long a link to a peer the server says has left stays open for its last frames. */
const peerLeftGraceMs = 1_000;
/** The routed-message kind that carries WebRTC signals over the mesh. */
const signalKind = 'signal';
/** How often the runtime wakes for link upkeep. */
const upkeepIntervalMs = 500;
/**
 * An upkeep this much later than due means this node did not run (its tab was frozen, the
 * machine slept): long enough for peers' failure detection (3–5 s) to have declared it dead.
 */
const wakeGapMs = 5_000;
/** Least time between two snapshots posted to the page. */
const snapshotMinIntervalMs = 100;
/**
 * Least time between two snapshots built after one that had no news (snapshot-pacer.ts held it
 * back). Overlay adverts, consensus steps and refusals call changed() a few times a second in an
 * idle room, and each call built the whole snapshot to find it had no news: 4.7 builds a second
 * per tab at 4 tabs (bench:idle). A real change after a held one is posted at most this late;
 * a command resets it (a person or an app acted: its effect shows at once).
 */
const snapshotRecheckAfterHeldMs = 500;

export interface RuntimeOptions {
  room: string;
  slot: number;
  /** One signaling server, or several to fail over between, in order (signaling-client.ts). */
  signalingUrl: string | readonly string[];
  storage: Storage;
  createSocket(url: string): SocketLike;
  linkHost: LinkHost;
  iceServers: IceServer[];
  /**
   * Where snapshots go (a tab's page, a Node peer's log). Absent, none is built: nobody would read
   * it, and at hundreds of nodes building one (the overlay's graph metrics) was most of the
   * simulator's time. runtime.snapshot() still answers on demand.
   */
  publishSnapshot?(snapshot: BaseSnapshot & Record<string, unknown>): void;
  /**
   * Where memory changes go as they happen (a tab's page). Given, snapshots leave the memory
   * out (the page keeps its own copy from these messages); absent (a Node peer), snapshots
   * carry the whole memory as before.
   */
  publishMemory?(message: MemoryMessage): void;
  /** Where services' app events go (ServiceContext.publishEvent); absent: they are dropped. */
  publishEvent?(name: string, payload: unknown, transfer?: Transferable[]): void;
  /** The protocol services this node runs (gossip, overlay, …), in start order. */
  services?: Service[];
  /** Where the node reads the time (real-clock.ts in tabs and Node peers; a virtual clock in the simulator). */
  clock: Clock;
  /** Where the node sets its timers (real-clock.ts, or the simulator's). */
  timers: Timers;
  /**
   * Signing, verifying and randomness. Default: Ed25519 in WebCrypto and crypto.getRandomValues;
   * the simulator gives a seeded one (fast fake signatures, or real Ed25519 on demand).
   */
  crypto?: RuntimeCrypto;
  /**
   * Where the identity comes from. Default: a non-extractable WebCrypto key pair kept as
   * CryptoKey objects in `storage` (IndexedDB can hold them). A Node peer supplies its own.
   */
  loadIdentity?: (storage: Storage) => Promise<LoadedIdentity>;
  /**
   * The room's password (private rooms). The runtime derives the room key from it once, at
   * start (src/net/room-key.ts), and keeps only the non-extractable key and the verifier.
   */
  password?: string;
}

/** The runtime's signing, verifying and randomness (RuntimeOptions.crypto). */
export interface RuntimeCrypto {
  sign(identity: Identity, text: string): Promise<string>;
  /** True only for a valid signature by `signer` over `text`; never throws. */
  verify(signer: string, text: string, signature: string): Promise<boolean>;
  /** `count` random bytes (link ids, the services' Rng seed). */
  randomBytes(count: number): Uint8Array;
}

const webCrypto: RuntimeCrypto = {
  sign: signText,
  verify: verifyText,
  randomBytes: (count) => crypto.getRandomValues(new Uint8Array(count)),
};

export class NodeRuntime implements LinkHostEvents {
  private links!: LinkManager;
  private signaling!: SignalingClient;
  private id!: NodeId;
  private identity!: Identity;
  private identityOrigin = '';
  private signalingStatus: SignalingStatus = 'connecting';
  private signalingDetail = '';
  private readonly knownPeers = new Set<NodeId>();
  /** Listed peers that gossip declared dead, tried again with backoff (presence-retry.ts). */
  private readonly presenceRetry = new PresenceRetry();
  private readonly messages: MessageView[] = [];
  private readonly rejected: Record<string, number> = {};
  private readonly pingSentAt = new Map<NodeId, { n: number; at: number }>();
  /** When each linked peer's last ping arrived (its pings make our pongs our keepalive). */
  private readonly pingHeardAt = new Map<NodeId, number>();
  private pingCounter = 0;
  private messagesReceived = 0;
  /** Frames received over direct links by protocol/type (snapshot().framesIn: what an idle mesh spends its time on). */
  private readonly framesIn = new FrameCounts();
  private upkeepTimer: TimerHandle | null = null;
  private snapshotTimer: TimerHandle | null = null;
  /** The next keepalive look (keepalive.ts); null while no link is up. */
  private keepaliveTimer: TimerHandle | null = null;
  private lastSnapshotAt = 0;
  /** The last snapshot built had no news (the pacer held it): the next is built less eagerly. */
  private lastSnapshotHeld = false;
  private readonly pacer = new SnapshotPacer();
  private heldSnapshotTimer: TimerHandle | null = null;
  private readonly startedAt: number;
  private stopped = false;
  /** Set once init has started every service: snapshots are posted from then on. */
  private running = false;
  /** Wall-clock time of the last upkeep: a long gap since means the node was asleep. */
  private lastUpkeepAt: number;
  /** Times this node found it had not run for a while (frozen tab, sleeping machine). */
  private slept: { count: number; lastAt: number | null; lastMs: number } = { count: 0, lastAt: null, lastMs: 0 };
  private services: Service[] = [];
  private readonly serviceByProtocol = new Map<ProtocolTag, Service>();
  private wakeTimer: TimerHandle | null = null;
  private wakeAt = Infinity;
  private lastWordsKey = '';
  /** The last frame a service sent (frameOf). */
  private lastFrame: { protocol: ProtocolTag; message: unknown; bytes: Uint8Array<ArrayBuffer> } | null = null;
  private routing: (MeshRouting & Service) | null = null;
  /** An overlay decides the links; without one, the runtime links to every known peer. */
  private linksManagedByService = false;
  /** Per-peer rate, size and garbage limits on incoming frames (peer-guard.ts). */
  private readonly guard: PeerGuard;
  /** Private rooms: seals every signal we send and opens every one we get (null: open room). */
  private sealer: SignalSealer | null = null;
  /** The server's final refusal (a wrong password, …), for the snapshot; cleared on a join. */
  private signalingRefusal: { code: string; message: string } | null = null;
  private signalingNotice: { code: string; message: string } | null = null;
  /** Stored records that did not check out, set aside by the loaders (src/store/set-aside.ts). */
  private setAside: { atStart: number; records: SetAsideView[] } = { atStart: 0, records: [] };
  /** Until when (the monotonic clock) every peer is kept out: isolate(). */
  private isolatedUntil = 0;

  private readonly clock: Clock;
  /** The injected timers (RuntimeOptions.timers); public so debug commands can act later. */
  readonly timers: Timers;
  private readonly crypto: RuntimeCrypto;

  private constructor(private readonly options: RuntimeOptions) {
    this.clock = options.clock;
    this.timers = options.timers;
    this.crypto = options.crypto ?? webCrypto;
    this.startedAt = this.clock.now();
    this.lastUpkeepAt = this.clock.now();
    this.guard = new PeerGuard(() => this.clock.monotonic());
  }

  static async start(options: RuntimeOptions): Promise<NodeRuntime> {
    const runtime = new NodeRuntime(options);
    await runtime.init();
    return runtime;
  }

  get nodeId(): NodeId {
    return this.id;
  }

  private async init(): Promise<void> {
    // The signaling handshake runs while the identity and stored state load (early-socket.ts).
    let earlySocket = this.openEarlySocket();
    try {
      await this.load((url) => {
        const socket = earlySocket ?? this.options.createSocket(url);
        earlySocket?.attach();
        earlySocket = null;
        return socket;
      });
    } catch (error) {
      earlySocket?.close(1000, 'the node could not start');
      throw error;
    }
  }

  private openEarlySocket(): EarlySocket | null {
    try {
      // The first server of the list; the signaling client moves on from there if it fails.
      const first = signalingUrlList(this.options.signalingUrl)[0];
      return first === undefined ? null : new EarlySocket(this.options.createSocket(first));
    } catch {
      // The signaling client tries again when it starts, and reports what is wrong.
      return null;
    }
  }

  private async load(createSocket: (url: string) => SocketLike): Promise<void> {
    const load = this.options.loadIdentity ?? ((storage: Storage) => loadOrCreateIdentity(storage, this.clock.now()));
    const { identity, origin } = await load(this.options.storage);
    this.id = identity.id;
    this.identity = identity;
    this.identityOrigin = origin;
    let roomKey: RoomKey | null = null;
    if (this.options.password !== undefined) {
      roomKey = await deriveRoomKey(this.options.room, this.options.password);
      this.sealer = new SignalSealer(roomKey, this.id, (reason) => this.reject(`private room: ${reason}`));
    }
    this.links = new LinkManager({
      self: this.id,
      host: this.options.linkHost,
      iceServers: () => this.options.iceServers,
      now: () => this.clock.monotonic(),
      wallClock: () => this.clock.now(),
      randomId: () => toBase64Url(this.crypto.randomBytes(12)),
      sign: (text) => this.crypto.sign(identity, text),
      verify: (signer, text, signature) => this.crypto.verify(signer, text, signature),
      // The signaling server when we are in the room; otherwise over the mesh, so links can
      // still be made while the server is down.
      deliverSignal: (to, signal) => {
        if (this.sealer) return this.sealer.outgoing(to, signal, (sealed) => this.relaySignal(to, sealed));
        return this.relaySignal(to, signal as unknown as Record<string, unknown>);
      },
      onUp: (peer) => {
        this.dispatch((service) => service.linkUp?.(peer));
        this.changed();
        // The first round trip at once; then the link joins the keepalive schedule.
        this.ping(peer);
        this.keepalive();
      },
      onDown: (peer, reason) => {
        this.pingSentAt.delete(peer);
        this.pingHeardAt.delete(peer);
        this.dispatch((service) => service.linkDown?.(peer, reason));
        this.changed();
      },
      onData: (peer, bytes) => this.onFrame(peer, bytes),
      reject: (reason) => this.reject(reason),
      keptOut: (peer) => this.guard.isKeptOut(peer) || this.clock.monotonic() < this.isolatedUntil,
      retryLostLinks: () => !this.linksManagedByService,
    });
    const seedBytes = this.crypto.randomBytes(4);
    const rng = createRng(new DataView(seedBytes.buffer, seedBytes.byteOffset, 4).getUint32(0));
    const signalingRng = rng.fork('signaling');
    this.signaling = new SignalingClient({
      url: this.options.signalingUrl,
      room: this.options.room,
      id: this.id,
      sign: (text) => this.crypto.sign(identity, text),
      ...(roomKey ? { verifier: roomKey.verifier } : {}),
      createSocket,
      timers: this.timers,
      random: () => signalingRng.next(),
      handlers: {
        status: (status, detail) => {
          const wasJoined = this.signalingStatus === 'joined';
          this.signalingStatus = status;
          this.signalingDetail = detail;
          if (status === 'joined') this.signalingRefusal = null;
          // A notice is about one join: a new connection hears its own.
          if (status === 'connecting') this.signalingNotice = null;
          if (wasJoined !== (status === 'joined')) this.publish({ type: 'signaling', joined: status === 'joined' });
          this.changed();
        },
        joined: (peers) => peers.forEach((p) => this.introduce(p)),
        peerJoined: (peer) => this.introduce(peer),
        peerLeft: (peer) => {
          this.knownPeers.delete(peer);
          this.changed();
          // The server's word can overtake the leaving node's last frames, which still travel
          // through our page: give them a moment before the link is closed from this side.
          this.timers.setTimeout(() => {
            if (this.stopped || this.knownPeers.has(peer)) return;
            this.links.unwant(peer, 'left the room');
            this.publish({ type: 'peer-left-room', peer });
          }, peerLeftGraceMs);
        },
        signal: (from, data) => this.receiveSignal(from, data),
        problem: (code, message) => this.reject(`signaling ${code}: ${message}`),
        refused: (code, message) => {
          this.signalingRefusal = { code, message };
          this.changed();
        },
        notice: (code, message) => {
          this.signalingNotice = { code, message };
          this.changed();
        },
      },
    });
    for (const service of this.options.services ?? []) {
      await service.start(this.contextFor(service, rng.fork(service.protocol)));
      this.services.push(service);
      this.serviceByProtocol.set(service.protocol, service);
      if (isMeshRouting(service)) {
        this.routing = service;
        service.onDeliver((delivery) => this.deliverRouted(delivery));
      }
      if (service.managesLinks) this.linksManagedByService = true;
    }
    const records = await listSetAside(this.options.storage);
    const atStart = records.filter((r) => r.at >= this.startedAt).length;
    this.setAside = { atStart, records };
    if (atStart > 0) this.rejected['stored record set aside'] = atStart;
    this.signaling.start();
    this.scheduleUpkeep();
    this.running = true;
    this.changed();
  }

  // ── commands (window.tabmesh and the UI) ──

  /** Sends a text message over the direct link to `peer`. */
  sendMessage(peer: string, text: string): void {
    if (text.length > maxChatChars) throw new Error(`message is ${text.length} characters; the limit is ${maxChatChars}`);
    if (!this.sendLink(peer as NodeId, { type: 'chat', text })) throw new Error(`no direct link to ${peer} is up`);
  }

  /** Sends a text message to every directly linked node; resolves with how many it went to. */
  broadcastMessage(text: string): number {
    if (text.length > maxChatChars) throw new Error(`message is ${text.length} characters; the limit is ${maxChatChars}`);
    let sent = 0;
    for (const peer of this.links.upPeers()) if (this.sendLink(peer, { type: 'chat', text })) sent++;
    return sent;
  }

  /** Breaks the direct link to `peer` as a network fault would; the overlay then heals. */
  /**
   * Cuts every direct link and keeps every peer out for `ms` (0 lifts it): a node cut off from
   * the network, as the demo's "cut its links" (demo-commands.ts). Returns the links cut.
   */
  isolate(ms: number): number {
    this.isolatedUntil = this.clock.monotonic() + ms;
    if (ms <= 0) return 0;
    let cut = 0;
    for (const peer of this.links.upPeers()) if (this.links.drop(peer, 'links cut (demo partition)')) cut++;
    return cut;
  }

  dropLink(peer: string): void {
    if (!this.links.drop(peer as NodeId, 'dropped on request')) throw new Error(`no link to ${peer} to drop`);
  }

  reconnectSignaling(): void {
    this.signalingRefusal = null;
    this.signaling.reconnect();
  }

  /**
   * Hands raw bytes to the direct link to `peer`, unframed and unchecked. Only for the flood
   * debug command (debug-commands.ts), which must be able to send what no service would.
   */
  sendRawFrame(peer: NodeId, bytes: Uint8Array<ArrayBuffer>): boolean {
    return this.links.send(peer, bytes);
  }

  /**
   * Graceful leave: the services say goodbye (gossip's leave) and their writes and sends
   * settle, then linked peers get a bye, then (after `lingerMs`, for hosts that can wait) the
   * node leaves the room and closes its links.
   */
  async shutdown(reason: string, lingerMs = 0): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const service of this.services) service.shutdown?.(reason);
    await Promise.all(this.services.map((s) => s.settled?.()));
    for (const peer of this.links.upPeers()) this.sendLink(peer, { type: 'bye', reason });
    await this.options.linkHost.flushed?.(1_000);
    if (lingerMs > 0) await new Promise((resolve) => this.timers.setTimeout(() => resolve(undefined), lingerMs));
    this.signaling.stop();
    this.links.closeAll(reason);
    if (this.upkeepTimer) this.timers.clearTimeout(this.upkeepTimer);
    this.upkeepTimer = null;
    if (this.wakeTimer) this.timers.clearTimeout(this.wakeTimer);
    if (this.keepaliveTimer) this.timers.clearTimeout(this.keepaliveTimer);
    if (this.heldSnapshotTimer) this.timers.clearTimeout(this.heldSnapshotTimer);
  }

  /** Runs a service command by name; unknown names and bad arguments are refused. */
  runServiceCommand(name: string, args: unknown[]): { found: boolean; value?: unknown } {
    for (const service of this.services) {
      const command = service.commands && Object.hasOwn(service.commands, name) ? service.commands[name] : undefined;
      if (command) {
        this.lastSnapshotHeld = false;
        const value = command(args);
        this.reschedule();
        return { found: true, value };
      }
    }
    return { found: false };
  }

  serviceCommandNames(): string[] {
    return this.services.flatMap((s) => Object.keys(s.commands ?? {}));
  }

  // ── services ──

  private contextFor(service: Service, rng: ReturnType<typeof createRng>): ServiceContext {
    const identity = this.identity;
    return {
      self: this.id,
      room: this.options.room,
      now: () => this.clock.now(),
      monotonic: () => this.clock.monotonic(),
      timers: this.timers,
      rng,
      storage: this.options.storage,
      send: (peer, message) => this.links.send(peer, this.frameOf(service.protocol, message)),
      linkedPeers: () => this.links.upPeers(),
      wantLink: (peer) => this.links.want(peer),
      unwantLink: (peer, reason) => this.links.unwant(peer, reason),
      sign: (text) => this.crypto.sign(identity, text),
      verify: (signer, text, signature) => this.crypto.verify(signer, text, signature),
      // Straight to this service (it may still be starting, so not yet in this.services).
      reenter: (fn) => {
        this.guarded(service, fn);
        this.reschedule();
      },
      changed: () => this.changed(),
      ...(this.options.publishMemory ? { publishMemory: this.options.publishMemory } : {}),
      ...(this.options.publishEvent ? { publishEvent: this.options.publishEvent } : {}),
      reject: (reason) => this.reject(`${service.protocol}: ${reason}`),
      misbehaved: (peer, why) => {
        // Only a direct link has a guard to charge; a routed origin is throttled by the service.
        if (this.links.get(peer)?.state === 'up') this.onGuardVerdict(peer, this.guard.garbage(peer, `${service.protocol}: ${why}`), true);
      },
      emit: (event) => this.publish(event, service),
      sendTo: (node, message) => {
        if (this.links.send(node, encodeFrame(service.protocol, message))) return;
        if (this.routing) this.routing.route(service.protocol, node, message);
        else this.reject(`${service.protocol}: no link to ${node.slice(0, 8)} and no mesh routing`);
      },
      broadcast: (message) => {
        if (this.routing) this.routing.broadcast(service.protocol, message);
        // Without routing, the direct links are the whole mesh this node can reach.
        else for (const peer of this.links.upPeers()) this.links.send(peer, encodeFrame(service.protocol, message));
      },
    };
  }

  /** A message that came over the mesh (authenticated by the routing service). */
  private deliverRouted(delivery: RoutedDelivery): void {
    if (delivery.kind === signalKind) {
      this.receiveSignal(delivery.origin, delivery.message);
      return;
    }
    const service = this.serviceByProtocol.get(delivery.kind as ProtocolTag);
    if (!service || service === this.routing) {
      this.reject(`routed message for ${delivery.kind}, which this node does not run`);
      return;
    }
    this.dispatch((s) => {
      if (s === service) s.receive(delivery.origin, delivery.message);
    });
  }

  /** Runs `fn` on every service, then re-arms the wake-up timer (a step may change it). */
  private dispatch(fn: (service: Service) => void): void {
    for (const service of this.services) this.guarded(service, () => fn(service));
    this.reschedule();
  }

  /** Runs a call into `service`; a throw is counted and logged, and the node stays up. */
  private guarded(service: Service, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      // A broken invariant in a core is a bug: make it loud, but keep the node up.
      console.error(`tabmesh: ${service.protocol} failed:`, error);
      this.reject(`${service.protocol}: internal error ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private publish(event: ServiceEvent, from?: Service): void {
    if (event.type === 'member-status') this.memberStatus(event.peer, event.status);
    this.dispatch((service) => {
      if (service !== from) service.onEvent?.(event);
    });
  }

  /** Gossip's word on a peer: one the server lists is tried again while gossip holds it dead. */
  private memberStatus(peer: NodeId, status: string): void {
    if (status === 'alive') return this.presenceRetry.forget(peer);
    if (status !== 'dead' || !this.knownPeers.has(peer)) return;
    const first = this.presenceRetry.declaredDead(peer);
    if (first) this.tryPresentLater(peer, first);
  }

  private tryPresentLater(peer: NodeId, attempt: PresenceTry): void {
    this.timers.setTimeout(() => {
      if (this.stopped) return;
      const next = this.presenceRetry.due(peer, attempt.run, this.knownPeers.has(peer));
      if (!next) return;
      this.introduce(peer);
      this.tryPresentLater(peer, next);
    }, attempt.waitMs);
  }

  private reschedule(): void {
    let next = Infinity;
    for (const service of this.services) next = Math.min(next, service.nextWakeAt?.() ?? Infinity);
    if (next === this.wakeAt && this.wakeTimer) return;
    if (this.wakeTimer) this.timers.clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.wakeAt = next;
    if (next === Infinity || this.stopped) return;
    this.wakeTimer = this.timers.setTimeout(
      () => {
        this.wakeTimer = null;
        this.wakeAt = Infinity;
        const now = this.clock.now();
        this.dispatch((service) => {
          const due = service.nextWakeAt?.();
          if (due !== undefined && due <= now) service.tick?.(now);
        });
      },
      Math.max(0, next - this.clock.now()),
    );
  }

  // ── link host events ──

  up(peer: NodeId, linkId: string): void {
    this.links.hostUp(peer, linkId);
  }
  down(peer: NodeId, linkId: string, reason: string): void {
    this.links.hostDown(peer, linkId, reason);
  }
  signal(peer: NodeId, linkId: string, signal: Record<string, unknown>): void {
    void this.links.hostSignal(peer, linkId, signal);
  }
  data(peer: NodeId, linkId: string, bytes: Uint8Array): void {
    this.links.hostData(peer, linkId, bytes);
  }

  // ── internals ──

  /** Sends a (sealed, in private rooms) signal through the server, or over the mesh while it is down. */
  private relaySignal(to: NodeId, data: object): boolean {
    if (this.signaling.sendSignal(to, data as Record<string, unknown>)) return true;
    if (!this.routing) return false;
    this.routing.route(signalKind, to, data);
    return true;
  }

  /**
   * A signal from the server (`from` stamped by it) or the mesh (`from` the routed origin). In
   * a private room it must open under the room key, or it is refused and counted: outsiders
   * cannot start a link through the server or through a member relaying for them.
   */
  private receiveSignal(from: NodeId, data: unknown): void {
    if (this.sealer) this.sealer.incoming(from, data, (signal) => void this.links.receiveSignal(from, signal));
    else void this.links.receiveSignal(from, data);
  }

  private introduce(peer: NodeId): void {
    if (peer === this.id) return;
    // Introduced again (it joined anew, or we did): a peer settled as unreachable gets a fresh start.
    this.links.forgive(peer);
    if (!this.knownPeers.has(peer) && this.knownPeers.size >= knownPeersLimit) {
      const oldest = this.knownPeers.values().next().value;
      if (oldest !== undefined) this.knownPeers.delete(oldest);
    }
    this.knownPeers.add(peer);
    this.chooseLinks();
    this.publish({ type: 'peer-introduced', peer });
    this.changed();
  }

  /** Without an overlay service: link to every known peer, up to the cap. */
  private chooseLinks(): void {
    if (this.linksManagedByService) return;
    let budget = maxDirectLinks - this.links.list().length;
    for (const peer of this.knownPeers) {
      if (this.links.wants(peer)) continue;
      if (budget <= 0) break;
      this.links.want(peer);
      budget--;
    }
  }

  /** Upkeep runs every upkeepIntervalMs while the node runs (a timer re-armed each time). */
  private scheduleUpkeep(): void {
    this.upkeepTimer = this.timers.setTimeout(() => {
      this.upkeepTimer = null;
      if (this.stopped) return;
      this.upkeep();
      this.scheduleUpkeep();
    }, upkeepIntervalMs);
  }

  private upkeep(): void {
    const now = this.clock.now();
    const late = now - this.lastUpkeepAt - upkeepIntervalMs;
    this.lastUpkeepAt = now;
    if (late > wakeGapMs) this.woke(now, late);
    this.links.tick();
    this.chooseLinks();
    // Link ages and counters drift: a snapshot carries them within volatileRefreshMs.
    this.countersMoved();
  }

  /**
   * The node ran again after not running for `sleptMs`. Gossip refutes its death by itself when
   * it hears of it (a new incarnation) and dead links are found by their silence; a signaling
   * socket that died meanwhile is reconnected now rather than after its backoff.
   */
  private woke(now: number, sleptMs: number): void {
    this.slept = { count: this.slept.count + 1, lastAt: now, lastMs: Math.round(sleptMs) };
    if (this.signalingStatus === 'disconnected') this.signaling.reconnect();
    this.changed();
  }

  /** Pings the up links that need it (keepalive.ts), then sleeps until the next one is due. */
  private keepalive(): void {
    if (this.keepaliveTimer) this.timers.clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = null;
    if (this.stopped) return;
    const up = this.links.list().filter((l) => l.state === 'up');
    const plan = planKeepalive(
      up.map((l) => ({
        peer: l.peer,
        lastSentMs: l.lastSentMs,
        lastPingMs: this.pingSentAt.get(l.peer)?.at ?? -Infinity,
        lastPingHeardMs: this.pingHeardAt.get(l.peer) ?? -Infinity,
      })),
      this.clock.monotonic(),
    );
    for (const peer of plan.ping) this.ping(peer);
    if (plan.nextAtMs !== Infinity) this.keepaliveTimer = this.timers.setTimeout(() => this.keepalive(), Math.max(0, plan.nextAtMs - this.clock.monotonic()));
  }

  private ping(peer: NodeId): void {
    const n = ++this.pingCounter;
    this.pingSentAt.set(peer, { n, at: this.clock.monotonic() });
    this.sendLink(peer, { type: 'ping', n });
  }

  private sendLink(peer: NodeId, message: LinkMessage): boolean {
    return this.links.send(peer, encodeFrame('link', message));
  }

  private onFrame(peer: NodeId, bytes: Uint8Array): void {
    const admitted = this.guard.frame(peer, bytes.byteLength);
    if (admitted.kind !== 'admit') {
      this.onGuardVerdict(peer, admitted);
      return;
    }
    const frame = decodeFrame(bytes);
    if (frame.ok) this.framesIn.count(frame.value.p, frame.value.m);
    if (!frame.ok) {
      this.reject(`bad frame: ${frame.error}`);
      this.onGuardVerdict(peer, this.guard.garbage(peer, 'bad frame'), true);
      return;
    }
    if (frame.value.p !== 'link') {
      const service = this.serviceByProtocol.get(frame.value.p);
      if (!service) {
        this.reject(`frame for ${frame.value.p}, which this node does not run`);
        this.onGuardVerdict(peer, this.guard.garbage(peer, 'frame for a protocol this node does not run'), true);
        return;
      }
      const message = frame.value.m;
      this.dispatch((s) => {
        if (s === service) s.receive(peer, message);
      });
      return;
    }
    const message = decodeLinkMessage(frame.value.m);
    if (!message) {
      this.reject('malformed link message');
      this.onGuardVerdict(peer, this.guard.garbage(peer, 'malformed link message'), true);
      return;
    }
    switch (message.type) {
      case 'ping':
        this.pingHeardAt.set(peer, this.clock.monotonic());
        this.sendLink(peer, { type: 'pong', n: message.n });
        return;
      case 'pong': {
        const sent = this.pingSentAt.get(peer);
        if (sent && sent.n === message.n) {
          const rttMs = this.clock.monotonic() - sent.at;
          this.links.recordRtt(peer, rttMs);
          this.dispatch((service) => service.linkRtt?.(peer, rttMs));
          this.countersMoved();
        }
        return;
      }
      case 'bye':
        this.links.unwant(peer, `peer left: ${message.reason}`);
        this.knownPeers.delete(peer);
        this.changed();
        return;
      case 'chat':
        this.messages.push({ seq: ++this.messagesReceived, from: peer, text: message.text, at: this.clock.now() });
        if (this.messages.length > messageHistoryLimit) this.messages.shift();
        this.changed();
        return;
    }
  }

  /**
   * Carries out the guard's verdict on a frame: a drop is counted under its reason (unless the
   * frame was garbage, already counted under what was wrong with it); a peer cut off loses its
   * link and is kept out (links.ts asks the guard before linking).
   */
  private onGuardVerdict(peer: NodeId, verdict: GuardVerdict, alreadyCounted = false): void {
    if (verdict.kind === 'admit') return;
    if (verdict.kind === 'drop') {
      if (!alreadyCounted) this.reject(verdict.reason);
      return;
    }
    this.reject(verdict.reason.startsWith('kept out for flooding') ? 'peer cut off for flooding' : 'peer cut off for sending garbage');
    this.links.drop(peer, verdict.reason);
  }

  private reject(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.changed();
  }

  /**
   * A service's message as a frame. A flood hands the same message object to every link in a
   * row, and encoding it each time was 8% of a 256-node room forming: the bytes of the last one
   * are copied instead (a copy each, as a tab's worker hands every buffer over to its page).
   */
  private frameOf(protocol: ProtocolTag, message: unknown): Uint8Array<ArrayBuffer> {
    const last = this.lastFrame;
    if (last && last.message === message && last.protocol === protocol) return last.bytes.slice();
    const bytes = encodeFrame(protocol, message);
    this.lastFrame = { protocol, message, bytes };
    return bytes.slice();
  }

  /** Hands the link host the frames to send if this node vanishes (when they changed). */
  private refreshLastWords(): void {
    const host = this.options.linkHost;
    if (!host.setLastWords) return;
    const frames: Array<[ProtocolTag, unknown]> = [];
    for (const service of this.services) for (const m of service.lastWords?.() ?? []) frames.push([service.protocol, m]);
    frames.push(['link', { type: 'bye', reason: 'closed' } satisfies LinkMessage]);
    const key = JSON.stringify(frames);
    if (key === this.lastWordsKey) return;
    this.lastWordsKey = key;
    host.setLastWords(frames.map(([p, m]) => encodeFrame(p, m)));
  }

  /** Something visible changed: post a snapshot soon, at most every snapshotMinIntervalMs. */
  private changed(): void {
    // Until every service has started, a snapshot would lack their parts (the UI reads them all).
    if (this.snapshotTimer || !this.running) return;
    const least = this.lastSnapshotHeld ? snapshotRecheckAfterHeldMs : snapshotMinIntervalMs;
    const wait = Math.max(0, this.lastSnapshotAt + least - this.clock.monotonic());
    this.snapshotTimer = this.timers.setTimeout(() => {
      this.snapshotTimer = null;
      this.lastSnapshotAt = this.clock.monotonic();
      this.refreshLastWords();
      this.postSnapshot();
    }, wait);
  }

  /**
   * Only fields that drift by themselves moved (round trips, link ages): no snapshot is built
   * now, but one is by the time the pacer would post them (snapshot-pacer.ts), unless one is
   * already on its way.
   */
  private countersMoved(): void {
    if (this.snapshotTimer || this.heldSnapshotTimer || !this.running || !this.options.publishSnapshot) return;
    const wait = Math.max(0, this.pacer.volatileDueAt() - this.clock.monotonic());
    this.heldSnapshotTimer = this.timers.setTimeout(() => ((this.heldSnapshotTimer = null), this.changed()), wait);
  }

  /** Posts the snapshot if it has news; news only in drifting counters waits until due (snapshot-pacer.ts). */
  private postSnapshot(): void {
    const publish = this.options.publishSnapshot;
    if (!publish) return;
    const snapshot = this.snapshot();
    const pace = this.pacer.decide(snapshot, this.clock.monotonic());
    this.lastSnapshotHeld = !pace.post;
    if (this.heldSnapshotTimer) this.timers.clearTimeout(this.heldSnapshotTimer);
    this.heldSnapshotTimer = null;
    if (pace.post) publish(snapshot);
    else
      this.heldSnapshotTimer = this.timers.setTimeout(
        () => ((this.heldSnapshotTimer = null), this.changed()),
        Math.max(0, pace.dueAt - this.clock.monotonic()),
      );
  }

  snapshot(): BaseSnapshot & Record<string, unknown> {
    const now = this.clock.monotonic();
    const all = this.links.list();
    const fromServices = Object.assign({}, ...this.services.map((s) => s.snapshot?.() ?? {})) as Record<string, unknown>;
    return {
      ...fromServices,
      id: this.id,
      room: this.options.room,
      slot: this.options.slot,
      identity: this.identityOrigin,
      signaling: this.signalingStatus,
      signalingDetail: this.signalingDetail,
      privateRoom: this.sealer !== null,
      signalingRefusal: this.signalingRefusal,
      signalingNotice: this.signalingNotice,
      links: all
        .filter((l) => l.state === 'up')
        .map((l) => ({
          peer: l.peer,
          rttMs: l.rttMs === null ? null : Math.round(l.rttMs * 100) / 100,
          initiator: l.initiator,
          upForMs: Math.round(now - l.sinceMs),
          setupMs: l.setupMs === null ? null : Math.round(l.setupMs),
        }))
        .sort((a, b) => (a.peer < b.peer ? -1 : 1)),
      connecting: all.filter((l) => l.state !== 'up').map((l) => l.peer),
      linkFailures: this.links.failureList(),
      knownPeers: [...this.knownPeers],
      messages: [...this.messages],
      rejected: { ...this.rejected },
      keptOut: this.guard.stats().keptOut.map((e) => ({ peer: e.peer, forMs: Math.max(0, Math.round(e.untilMs - now)), reason: e.reason })),
      startedAt: this.startedAt,
      setAside: this.setAside,
      slept: this.slept,
      framesIn: this.framesIn.view(),
      snapshotsPaced: { ...this.pacer.counts },
    };
  }
}
