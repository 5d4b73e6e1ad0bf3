// A thin runtime for the overlay and router cores on the shared simulator (test/sim): it plays
// the part of the tab's link layer. A "link" exists between two nodes after a hello/ack
// handshake over the simulated network (one round trip, 20–100 ms with the default latency,
// standing in for WebRTC negotiation); overlay and route frames are accepted only from linked
// nodes (anything else is dropped and answered with a close), so the cores only ever talk over
// links. Links die on a close, or when nothing (not even a ping) has been heard for
// `linkTimeoutMs` — how a crashed or partitioned peer is noticed, as a data channel would.
//
// Links are FIFO, like an ordered data channel: the first time two nodes talk, the network gets
// a fixed latency for that pair (10–50 ms, from a hash of the pair), so frames cannot overtake
// each other on a link (a digest never arrives before the handshake that opened the link).
//
// Signatures: the sim "signs" an advert as `sim:<signer>`; the receiving side reports that
// signer, so a forged advert (origin ≠ signer) is seen as such by the core.
import type { SimNode, SimNodeContext } from '../../sim/cluster.ts';
import type { SimNetwork } from '../../sim/network.ts';
import { hashString } from '../../../src/core/rng.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { Overlay, type OverlayEffect } from '../../../src/core/overlay/overlay.ts';
import { overlayTickIntervalMs, type OverlayConfig } from '../../../src/core/overlay/config.ts';
import { Router, type RouteEffect, type RouteMetric } from '../../../src/core/route/router.ts';

export type MeshWire = { k: 'hello' } | { k: 'ack' } | { k: 'close' } | { k: 'ping' } | { k: 'o'; m: unknown } | { k: 'r'; m: unknown };

export interface MeshNodeOptions {
  config?: Partial<OverlayConfig>;
  metric?: RouteMetric;
  pingIntervalMs?: Millis;
  linkTimeoutMs?: Millis;
  /** The cluster's network, to pin a fixed latency on each pair that talks (FIFO links). */
  network?: SimNetwork;
}

const pinned = new WeakMap<SimNetwork, Set<string>>();

/** Gives the pair a fixed one-way latency of 10–50 ms, the same for both directions. */
export function pinPairLatency(network: SimNetwork, a: NodeId, b: NodeId): void {
  const key = a < b ? `${a} ${b}` : `${b} ${a}`;
  let done = pinned.get(network);
  if (!done) pinned.set(network, (done = new Set()));
  if (done.has(key)) return;
  done.add(key);
  const ms = 10 + (hashString(key) % 41);
  network.setLink(a, b, { latency: { minMs: ms, maxMs: ms } });
  network.setLink(b, a, { latency: { minMs: ms, maxMs: ms } });
}

export interface Delivery {
  at: Millis;
  origin: NodeId;
  kind: string;
  payload: unknown;
  id: string;
  hops: number;
  broadcast: boolean;
}

/** Deliveries kept per node for the test to inspect; older ones are dropped. */
const maxDeliveriesKept = 10_000;
const routerTickMs: Millis = 5_000;
const defaultPingIntervalMs: Millis = 500;
const defaultLinkTimeoutMs: Millis = 1_500;

export const simSignature = (signer: NodeId): string => `sim:${signer}`;

export function signerOf(msg: unknown): NodeId | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const sig = (msg as { sig?: unknown }).sig;
  return typeof sig === 'string' && sig.startsWith('sim:') ? (sig.slice(4) as NodeId) : null;
}

export class MeshNode implements SimNode<MeshWire> {
  readonly id: NodeId;
  readonly overlay: Overlay;
  readonly router: Router;
  /** Links as the link layer sees them: peer → last time anything was heard from it. */
  readonly links = new Map<NodeId, Millis>();
  readonly deliveries: Delivery[] = [];
  readonly undeliverable: Array<Extract<RouteEffect, { type: 'undeliverable' }>> = [];
  readonly refusedConfigs: string[] = [];
  readonly stats = { overlayFramesSent: 0, routeFramesSent: 0, controlSent: 0, framesFromStrangers: 0 };
  private readonly dialing = new Map<NodeId, Millis>();
  private readonly pingIntervalMs: Millis;
  private readonly linkTimeoutMs: Millis;
  private readonly network: SimNetwork | undefined;
  private nextOverlayTick: Millis;
  private nextPing: Millis;
  private nextRouterTick: Millis;

  constructor(
    private readonly ctx: SimNodeContext<MeshWire>,
    options: MeshNodeOptions = {},
  ) {
    this.id = ctx.id;
    const now = ctx.now();
    this.overlay = new Overlay({ self: ctx.id, rng: ctx.rng.fork('overlay'), config: options.config, now });
    const routerOptions = { self: ctx.id, rng: ctx.rng.fork('router'), topology: () => this.overlay.routeTopology() };
    this.router = new Router(options.metric ? { ...routerOptions, metric: options.metric } : routerOptions);
    this.pingIntervalMs = options.pingIntervalMs ?? defaultPingIntervalMs;
    this.linkTimeoutMs = options.linkTimeoutMs ?? defaultLinkTimeoutMs;
    this.network = options.network;
    // Spread the first ticks so that nodes started together do not act in lockstep.
    this.nextOverlayTick = now + Math.floor(ctx.rng.next() * overlayTickIntervalMs);
    this.nextPing = now + this.pingIntervalMs;
    this.nextRouterTick = now + routerTickMs;
  }

  // ── script helpers (call through cluster.act) ─────────────────────────────────────────

  learn(now: Millis, peers: readonly NodeId[]): void {
    this.applyOverlay(now, this.overlay.step(now, { type: 'peers-learnt', peers }));
  }

  peerLeft(now: Millis, peer: NodeId): void {
    this.applyOverlay(now, this.overlay.step(now, { type: 'peer-left', peer }));
  }

  configure(now: Millis, config: Partial<OverlayConfig>): void {
    this.applyOverlay(now, this.overlay.step(now, { type: 'config', config }));
  }

  sendTo(now: Millis, to: NodeId, kind: string, payload: unknown, id?: string): void {
    this.applyRouter(now, this.router.step(now, id === undefined ? { type: 'send', to, kind, payload } : { type: 'send', to, kind, payload, id }));
  }

  broadcast(now: Millis, kind: string, payload: unknown, id?: string): void {
    this.applyRouter(now, this.router.step(now, id === undefined ? { type: 'broadcast', kind, payload } : { type: 'broadcast', kind, payload, id }));
  }

  /** Sends a raw frame to a peer (linked or not): how tests play a misbehaving node. */
  sendRaw(to: NodeId, wire: MeshWire): void {
    this.ctx.send(to, wire);
  }

  // ── SimNode ────────────────────────────────────────────────────────────────────────────

  deliver(now: Millis, from: NodeId, wire: MeshWire): void {
    switch (wire.k) {
      case 'hello':
        this.control(from, { k: 'ack' });
        if (!this.links.has(from)) this.linkUp(now, from);
        else this.links.set(from, now);
        return;
      case 'ack':
        if (this.links.has(from)) this.links.set(from, now);
        else if (this.dialing.has(from)) this.linkUp(now, from);
        else this.control(from, { k: 'close' });
        return;
      case 'close':
        if (this.links.delete(from)) this.applyOverlay(now, this.overlay.step(now, { type: 'link-down', peer: from, reason: 'closed' }));
        return;
      case 'ping':
        if (this.links.has(from)) this.links.set(from, now);
        else this.control(from, { k: 'close' });
        return;
      case 'o':
      case 'r':
        if (!this.links.has(from)) {
          this.stats.framesFromStrangers++;
          this.control(from, { k: 'close' });
          return;
        }
        this.links.set(from, now);
        if (wire.k === 'o') {
          this.applyOverlay(now, this.overlay.step(now, { type: 'message', from, msg: wire.m, signer: signerOf(wire.m) }));
        } else {
          this.applyRouter(now, this.router.step(now, { type: 'message', from, msg: wire.m }));
        }
        return;
    }
  }

  tick(now: Millis): void {
    if (now >= this.nextPing) {
      this.nextPing = now + this.pingIntervalMs;
      for (const [peer, heard] of [...this.links]) {
        if (now - heard > this.linkTimeoutMs) {
          this.links.delete(peer);
          this.control(peer, { k: 'close' });
          this.applyOverlay(now, this.overlay.step(now, { type: 'link-down', peer, reason: 'timeout' }));
        } else this.control(peer, { k: 'ping' });
      }
      for (const [peer, since] of this.dialing) if (now - since > 10_000) this.dialing.delete(peer);
    }
    if (now >= this.nextOverlayTick) {
      this.nextOverlayTick = now + overlayTickIntervalMs;
      this.applyOverlay(now, this.overlay.step(now, { type: 'tick' }));
    }
    if (now >= this.nextRouterTick) {
      this.nextRouterTick = now + routerTickMs;
      this.applyRouter(now, this.router.step(now, { type: 'tick' }));
    }
  }

  nextWakeAt(): Millis {
    return Math.min(this.nextOverlayTick, this.nextPing, this.nextRouterTick);
  }

  // ── effects ───────────────────────────────────────────────────────────────────────────

  private linkUp(now: Millis, peer: NodeId): void {
    this.dialing.delete(peer);
    this.links.set(peer, now);
    this.applyOverlay(now, this.overlay.step(now, { type: 'link-up', peer }));
  }

  private control(to: NodeId, wire: MeshWire): void {
    if (this.network) pinPairLatency(this.network, this.id, to);
    this.stats.controlSent++;
    this.ctx.send(to, wire);
  }

  private close(now: Millis, peer: NodeId): void {
    if (!this.links.delete(peer)) return;
    this.control(peer, { k: 'close' });
    void now;
  }

  private applyOverlay(now: Millis, effects: OverlayEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'connect':
          if (this.links.has(effect.peer)) break;
          this.dialing.set(effect.peer, now);
          this.control(effect.peer, { k: 'hello' });
          break;
        case 'disconnect':
          this.close(now, effect.peer);
          break;
        case 'send':
          if (!this.links.has(effect.to)) break;
          this.stats.overlayFramesSent++;
          this.ctx.send(effect.to, { k: 'o', m: effect.msg });
          break;
        case 'sign':
          this.applyOverlay(now, this.overlay.step(now, { type: 'signed', id: effect.id, sig: simSignature(this.id) }));
          break;
        case 'config-refused':
          this.refusedConfigs.push(effect.reason);
          break;
      }
    }
  }

  private applyRouter(now: Millis, effects: RouteEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          if (!this.links.has(effect.to)) break;
          this.stats.routeFramesSent++;
          this.ctx.send(effect.to, { k: 'r', m: effect.msg });
          break;
        case 'deliver':
          this.deliveries.push({ at: now, ...effect });
          if (this.deliveries.length > maxDeliveriesKept) this.deliveries.shift();
          break;
        case 'undeliverable':
          this.undeliverable.push(effect);
          break;
        case 'disconnect':
          if (this.links.has(effect.peer)) {
            this.close(now, effect.peer);
            this.applyOverlay(now, this.overlay.step(now, { type: 'link-down', peer: effect.peer, reason: 'flooding' }));
          }
          break;
      }
    }
  }
}
