// The topology core in a node: it decides which direct links exist (3–5 per node, a full mesh
// while the room is small), floods signed link-state adverts so every node knows the graph,
// and offers that graph to the router and the status record.
import { Overlay, type OverlayEffect, type OverlayInput } from '../../core/overlay/overlay.ts';
import type { OverlayEvent } from '../../core/overlay/types.ts';
import type { OverlayMsg } from '../../core/overlay/messages.ts';
import { EffectDriver } from '../effect-driver.ts';
import { GroupCommit } from '../group-commit.ts';
import { whenResolved } from '../reentry.ts';
import { advertSigningText, decodeOverlayMessage } from '../../core/overlay/messages.ts';
import { overlayTickIntervalMs } from '../../core/overlay/config.ts';
import type { RouteTopology } from '../../core/overlay/types.ts';
import type { GraphMetrics, TopologySnapshot } from '../../core/graph/index.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import type { Service, ServiceContext, ServiceEvent } from '../service.ts';

/**
 * Least time between two ticks when one is pulled forward for a newly introduced peer (a burst
 * of introductions shares one tick; the regular cycle is overlayTickIntervalMs).
 */
export const introducedTickGapMs = 50;
/**
 * Time between ticks while the core is settled (isSettled: degree in bounds, nothing dialling,
 * no advert due) and the last tick did nothing. What is left then is time-driven checks of
 * 1 s and longer; any input (a link lost, a message, a peer introduced) brings the next tick
 * back within overlayTickIntervalMs of the last, so reactions are as quick as before.
 */
export const settledTickIntervalMs = 1_000;

interface AdvertLike {
  type: 'advert';
  origin: NodeId;
  seq: number;
  sig: string;
}

const isAdvert = (m: unknown): m is AdvertLike =>
  typeof m === 'object' &&
  m !== null &&
  (m as { type?: unknown }).type === 'advert' &&
  typeof (m as { origin?: unknown }).origin === 'string' &&
  typeof (m as { sig?: unknown }).sig === 'string';

export class OverlayService implements Service {
  readonly protocol = 'overlay' as const;
  readonly managesLinks = true;
  private core!: Overlay;
  private ctx!: ServiceContext;
  private driver!: EffectDriver<OverlayMsg, OverlayEvent>;
  private nextTickAt = 0;
  private lastTickAt = -Infinity;
  private metricsCache: { key: string; metrics: GraphMetrics<NodeId>; topology: TopologySnapshot<NodeId> } | null = null;

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.core = new Overlay({ self: ctx.self, rng: ctx.rng, now: ctx.now() });
    this.driver = new EffectDriver(new GroupCommit(ctx.storage, { now: () => ctx.now(), failed: () => {} }), {
      send: (to, msg) => ctx.send(to, msg),
      event: (event) => this.onEffect(event),
      sign: (effect) => ctx.sign(effect.text),
      signed: (input) => this.stepCore(input),
      reenter: (fn) => ctx.reenter(fn),
      failed: (what, error) => ctx.reject(`${what} failed: ${String(error).slice(0, 120)}`),
    });
    this.nextTickAt = ctx.now();
  }

  receive(from: NodeId, message: unknown): void {
    if (!isAdvert(message)) {
      this.step({ type: 'message', from, msg: message });
      return;
    }
    // Floods deliver many copies of one advert: only news is worth a signature check. The core
    // takes from an unverified copy only what needs none: a larger hop budget for the advert it
    // holds (same seq and sig), or that the sender is behind (AdvertExchange.onUnverifiedCopy).
    if (!Number.isInteger(message.seq) || !this.core.wantsAdvert(message.origin, message.seq)) {
      this.step({ type: 'message', from, msg: message, signer: null });
      return;
    }
    // Decode before building the signing text: a frame shaped like an advert but without (or
    // with broken) links must be refused here, not crash advertSigningText (VOPR seeds 47/48
    // once counted it as an internal error). The core counts it as malformed.
    const decoded = decodeOverlayMessage(message);
    if (decoded?.type !== 'advert') {
      this.step({ type: 'message', from, msg: message, signer: null });
      return;
    }
    const text = advertSigningText(decoded);
    whenResolved(this.ctx, this.ctx.verify(message.origin, text, message.sig), 'verify', (ok) => {
      this.step({ type: 'message', from, msg: message, signer: ok ? message.origin : null });
    });
  }

  linkUp(peer: NodeId): void {
    this.step({ type: 'link-up', peer });
  }

  linkDown(peer: NodeId, reason: string): void {
    this.step({ type: 'link-down', peer, reason });
  }

  linkRtt(peer: NodeId, rttMs: number): void {
    this.step({ type: 'link-rtt', peer, rttMs });
  }

  onEvent(event: ServiceEvent): void {
    if (event.type === 'peer-introduced') {
      this.step({ type: 'peers-learnt', peers: [event.peer] });
      // Dial a peer the server just introduced now rather than on the next tick (up to 250 ms
      // later), while there is room for it: the newcomer dials us at once too, and whichever of
      // the two should make the offer then makes it without waiting for the other's request.
      if (this.core.hasRoomForLinks()) this.nextTickAt = Math.min(this.nextTickAt, Math.max(this.ctx.now(), this.lastTickAt + introducedTickGapMs));
    } else if (event.type === 'peer-left-room') this.step({ type: 'peer-left', peer: event.peer });
    else if (event.type === 'member-status' && (event.status === 'dead' || event.status === 'left')) this.step({ type: 'peer-left', peer: event.peer });
    // Gossip refuted a death it told us of: the peer is back in the picture at once, not only
    // when it next advertises, re-links or is introduced (other `alive`s change nothing here).
    else if (event.type === 'member-status' && event.status === 'alive' && this.core.isDeparted(event.peer))
      this.step({ type: 'peers-learnt', peers: [event.peer] });
  }

  tick(now: Millis): void {
    this.lastTickAt = now;
    this.nextTickAt = now + overlayTickIntervalMs;
    const effects = this.step({ type: 'tick' });
    if (effects.length === 0 && this.core.isSettled()) this.nextTickAt = now + settledTickIntervalMs;
  }

  nextWakeAt(): Millis {
    return this.nextTickAt;
  }

  readonly commands = {
    setLinkBounds: (args: unknown[]) => {
      const [minLinks, maxLinks] = args;
      if (typeof minLinks !== 'number' || typeof maxLinks !== 'number') throw new Error('setLinkBounds(min, max): both must be numbers');
      const refusal = this.step({ type: 'config', config: { minLinks, maxLinks } }).find((e) => e.type === 'config-refused');
      if (refusal && refusal.type === 'config-refused') throw new Error(refusal.reason);
      return this.core.currentConfig();
    },
  };

  /** The known mesh, for the router. */
  routeTopology(): RouteTopology {
    return this.core.routeTopology();
  }

  /** Graph metrics of the known mesh; recomputed only when the graph changed. */
  metrics(): { metrics: GraphMetrics<NodeId>; topology: TopologySnapshot<NodeId> } {
    const key = this.core.routeTopology().key;
    if (this.metricsCache?.key !== key) {
      const metrics = this.core.metrics();
      this.metricsCache = { key, metrics, topology: this.core.topologySnapshot(metrics) };
    }
    return this.metricsCache;
  }

  snapshot(): Record<string, unknown> {
    const overlay = this.core.snapshot();
    const { topology } = this.metrics();
    return {
      topology,
      overlay: {
        config: overlay.config,
        pending: overlay.pending,
        knownPeers: overlay.knownPeers,
        advertSeq: overlay.advertSeq,
        counters: overlay.counters,
      },
    };
  }

  private step(input: OverlayInput): OverlayEffect[] {
    const effects = this.stepCore(input);
    void this.driver.apply(effects);
    return effects;
  }

  /** Steps the core (the driver applies what it returns). */
  private stepCore(input: OverlayInput): OverlayEffect[] {
    // Anything but the clock or a round trip may need the core's next decision soon.
    if (input.type !== 'tick' && input.type !== 'link-rtt' && Number.isFinite(this.lastTickAt))
      this.nextTickAt = Math.min(this.nextTickAt, this.lastTickAt + overlayTickIntervalMs);
    const effects = this.core.step(this.ctx.now(), input);
    // A new advert of ours (to be signed) means the graph changed.
    const graphMayHaveChanged = effects.some((e) => e.type === 'sign');
    if (graphMayHaveChanged || input.type === 'message' || input.type === 'link-up' || input.type === 'link-down') this.ctx.changed();
    return effects;
  }

  /** The overlay's own effects (sends and signatures are the driver's). */
  private onEffect(event: OverlayEvent): void {
    if (event.type === 'connect') this.ctx.wantLink(event.peer);
    else if (event.type === 'disconnect') this.ctx.unwantLink(event.peer, event.reason);
  }
}
