// Mesh routing in a node: unicast to any node over several hops and a broadcast that reaches
// every live node once, over the overlay's graph. The router core only checks hops, loops and
// sizes; this service also authenticates: every routed payload is signed by its origin and
// checked at delivery, so a relay can neither forge nor alter what it forwards; and a route
// discovery's answer is signed by the node sought (the core's `sign` effect) and checked before
// the core takes its path, so no other node can answer in its name.
import { Router, type RouteEffect, type RouteInput } from '../../core/route/router.ts';
import { canonicalJson } from '../../crypto/canonical.ts';
import { signaturePattern } from '../../core/ids.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import type { MeshRouting, RoutedDelivery, Service, ServiceContext } from '../service.ts';
import { EffectDriver } from '../effect-driver.ts';
import { GroupCommit } from '../group-commit.ts';
import { whenResolved } from '../reentry.ts';
import type { RouteMsg } from '../../core/route/messages.ts';
import type { OverlayService } from './overlay.ts';

/** The router only expires its seen-cache on ticks; every few seconds is plenty. */
const routeTickIntervalMs = 2_000;

interface SignedPayload {
  m: unknown;
  sig: string;
}

const isSignedPayload = (p: unknown): p is SignedPayload =>
  typeof p === 'object' &&
  p !== null &&
  'm' in p &&
  typeof (p as { sig?: unknown }).sig === 'string' &&
  signaturePattern.test((p as unknown as { sig: string }).sig);

function routeSigningText(origin: string, dest: string, id: string, kind: string, m: unknown): string {
  return `tabmesh-route/1\n${origin}\n${dest}\n${id}\n${kind}\n${canonicalJson(m)}`;
}

export class RouteService implements Service, MeshRouting {
  readonly protocol = 'route' as const;
  private core!: Router;
  private ctx!: ServiceContext;
  private driver!: EffectDriver<RouteMsg, Exclude<RouteEffect, { type: 'send' | 'sign' }>>;
  private nextTickAt = 0;
  private deliver: (delivery: RoutedDelivery) => void = () => {};
  private idCounter = 0;
  private idPrefix = '';

  constructor(private readonly overlay: OverlayService) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    this.driver = new EffectDriver(new GroupCommit(ctx.storage, { now: () => ctx.now(), failed: (e) => ctx.reject(`storage write failed: ${String(e)}`) }), {
      send: (to, msg) => ctx.send(to, msg),
      event: (effect) => this.onEffect(effect),
      sign: (effect) => ctx.sign(effect.text),
      signed: (input) => this.core.step(ctx.now(), input),
      reenter: (fn) => ctx.reenter(fn),
      failed: (what, error) => ctx.reject(`${what} failed: ${String(error).slice(0, 120)}`),
    });
    this.core = new Router({ self: ctx.self, rng: ctx.rng, topology: () => this.overlay.routeTopology() });
    this.idPrefix = `${ctx.self.slice(0, 8)}.${ctx.rng.int(2 ** 30).toString(36)}`;
    this.nextTickAt = ctx.now() + routeTickIntervalMs;
  }

  onDeliver(listener: (delivery: RoutedDelivery) => void): void {
    this.deliver = listener;
  }

  route(kind: string, to: NodeId, payload: unknown): void {
    const id = this.nextId();
    whenResolved(this.ctx, this.ctx.sign(routeSigningText(this.ctx.self, to, id, kind, payload)), 'sign', (sig) => {
      this.step({ type: 'send', to, kind, id, payload: { m: payload, sig } satisfies SignedPayload });
    });
  }

  broadcast(kind: string, payload: unknown): void {
    const id = this.nextId();
    whenResolved(this.ctx, this.ctx.sign(routeSigningText(this.ctx.self, '*', id, kind, payload)), 'sign', (sig) => {
      this.step({ type: 'broadcast', kind, id, payload: { m: payload, sig } satisfies SignedPayload });
    });
  }

  receive(from: NodeId, message: unknown): void {
    // Only an answer to a seek of ours still waiting needs a check; every other frame goes as is.
    const found = this.core.foundToVerify(message);
    if (!found) {
      this.step({ type: 'message', from, msg: message });
      return;
    }
    whenResolved(this.ctx, this.ctx.verify(found.signer, found.text, found.sig), 'verify', (ok) => {
      this.step({ type: 'message', from, msg: message, signer: ok ? found.signer : null });
    });
  }

  tick(now: Millis): void {
    this.nextTickAt = now + routeTickIntervalMs;
    this.step({ type: 'tick' });
  }

  nextWakeAt(): Millis {
    return this.nextTickAt;
  }

  snapshot(): Record<string, unknown> {
    return { routing: this.core.counters };
  }

  private nextId(): string {
    return `${this.idPrefix}.${(++this.idCounter).toString(36)}`;
  }

  private step(input: RouteInput): void {
    void this.driver.apply(this.core.step(this.ctx.now(), input));
  }

  /** The router's own effects (its sends are the driver's). */
  private onEffect(effect: Exclude<RouteEffect, { type: 'send' | 'sign' }>): void {
    switch (effect.type) {
      case 'disconnect':
        this.ctx.unwantLink(effect.peer, 'flooding');
        return;
      case 'undeliverable':
        this.ctx.reject(`undeliverable ${effect.reason}: ${effect.detail}`);
        return;
      case 'deliver': {
        if (effect.origin === this.ctx.self) return;
        const payload = effect.payload;
        if (!isSignedPayload(payload)) {
          this.ctx.reject('routed payload without a signature');
          return;
        }
        const dest = effect.broadcast ? '*' : this.ctx.self;
        const text = routeSigningText(effect.origin, dest, effect.id, effect.kind, payload.m);
        whenResolved(this.ctx, this.ctx.verify(effect.origin, text, payload.sig), 'verify', (ok) => {
          if (!ok) {
            this.ctx.reject('routed payload with a bad signature');
            return;
          }
          // Authenticated: its path is a way back (an answer to it then needs no route discovery).
          if (effect.path) this.step({ type: 'learn', to: effect.origin, path: effect.path });
          this.deliver({ origin: effect.origin, kind: effect.kind, message: payload.m, broadcast: effect.broadcast, hops: effect.hops });
        });
        return;
      }
    }
  }
}
