// A lean, seeded event simulation of overlay cores alone, for large meshes (the topology
// benchmark runs 1,024 nodes × 20 seeds on it). It models exactly what the overlay sees from a
// runtime, nothing more:
//   • a link comes up at both ends `connectDelayMs` (50–100 ms) after either asks for it, if
//     the other is up and reachable; a dial to a dead or unreachable node gets no answer
//     (the core's own connect timeout fires);
//   • frames travel only over links, FIFO, with a fixed latency per pair (10–50 ms);
//   • a crash is noticed by each linked neighbour after `detectMs` (uniformly 0.5–1.5 ×),
//     as a link protocol's keepalive would; a partition cuts links the same way;
//   • adverts are "signed" instantly.
// The shared simulator (test/sim) does the same with a real link handshake and keepalives and
// is what the scenario tests use; this one trades that fidelity for speed (no JSON, no trace).
import { createRng, hashString, type Rng } from '../../../src/core/rng.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { asNodeId } from '../../../src/core/types.ts';
import { Overlay, type OverlayEffect, type OverlayInput } from '../../../src/core/overlay/overlay.ts';
import { overlayTickIntervalMs, type OverlayConfig } from '../../../src/core/overlay/config.ts';
import { components } from '../../../src/core/graph/index.ts';

export interface FastMeshOptions {
  seed: number;
  config?: Partial<OverlayConfig>;
  /** Mean delay before a crashed or cut-off neighbour is noticed. Default 1,000 ms. */
  detectMs?: Millis;
  /** Range of the delay between asking for a link and both ends having it. */
  connectDelayMs?: { min: Millis; max: Millis };
}

type Event =
  | { kind: 'tick'; id: NodeId; life: number }
  | { kind: 'input'; id: NodeId; life: number; input: OverlayInput }
  | { kind: 'open'; a: NodeId; b: NodeId; lifeA: number; lifeB: number }
  | { kind: 'call'; fn: () => void };

/** An event with its place in time (one object per event: this loop runs millions of them). */
type Slot = Event & { at: Millis; order: number };

class Heap {
  private items: Slot[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Slot | undefined {
    return this.items[0];
  }
  push(slot: Slot): void {
    const items = this.items;
    items.push(slot);
    for (let i = items.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(slot, items[p] as Slot)) break;
      items[i] = items[p] as Slot;
      items[p] = slot;
      i = p;
    }
  }
  pop(): Slot | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l] as Slot, items[m] as Slot)) m = l;
        if (r < items.length && before(items[r] as Slot, items[m] as Slot)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as Slot, items[i] as Slot];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Slot, b: Slot): boolean => a.at < b.at || (a.at === b.at && a.order < b.order);

interface SimNodeState {
  overlay: Overlay;
  life: number;
  up: boolean;
  links: Set<NodeId>;
  /** Peers this node asked to link with, and when. */
  dialing: Map<NodeId, Millis>;
}

export class FastMesh {
  now: Millis = 0;
  readonly rng: Rng;
  readonly nodes = new Map<NodeId, SimNodeState>();
  /** Overlay frames sent, by every node since the start (for msgs/node/s). */
  framesSent = 0;
  private readonly heap = new Heap();
  private order = 0;
  private readonly config: Partial<OverlayConfig> | undefined;
  private readonly detectMs: Millis;
  private readonly connectDelay: { min: Millis; max: Millis };
  private groups = new Map<NodeId, number>();

  /** Events waiting (frames in flight, timers, link opens): the simulator's own memory. */
  get queuedEvents(): number {
    return this.heap.size;
  }

  constructor(options: FastMeshOptions) {
    this.rng = createRng(options.seed);
    this.config = options.config;
    this.detectMs = options.detectMs ?? 1_000;
    this.connectDelay = options.connectDelayMs ?? { min: 50, max: 100 };
  }

  // ── script ──────────────────────────────────────────────────────────────────────────

  /** Starts a node that knows of `sample` (the signaling server's join answer). */
  add(raw: string, sample: readonly NodeId[] = []): NodeId {
    const id = asNodeId(raw);
    const previous = this.nodes.get(id);
    const life = (previous?.life ?? 0) + 1;
    const overlay = new Overlay({ self: id, rng: this.rng.fork(`node/${id}/${life}`), config: this.config, now: this.now });
    this.nodes.set(id, { overlay, life, up: true, links: new Set(), dialing: new Map() });
    this.schedule(this.now + this.rng.int(overlayTickIntervalMs), { kind: 'tick', id, life });
    if (sample.length > 0) this.input(id, { type: 'peers-learnt', peers: sample });
    return id;
  }

  crash(id: NodeId): void {
    const node = this.nodes.get(id);
    if (!node?.up) return;
    node.up = false;
    for (const peer of node.links) {
      this.nodes.get(peer)?.links.delete(id);
      this.noticeLoss(peer, id);
    }
    node.links.clear();
  }

  /** Splits the nodes into groups that cannot reach each other; links across are lost. */
  partition(...groups: ReadonlyArray<readonly NodeId[]>): void {
    this.groups = new Map();
    groups.forEach((members, i) => members.forEach((id) => this.groups.set(id, i + 1)));
    for (const [id, node] of this.nodes) {
      if (!node.up) continue;
      for (const peer of [...node.links]) {
        if (!this.reachable(id, peer)) {
          node.links.delete(peer);
          this.noticeLoss(id, peer);
        }
      }
    }
  }

  heal(): void {
    this.groups = new Map();
  }

  upIds(): NodeId[] {
    return [...this.nodes].filter(([, n]) => n.up).map(([id]) => id);
  }

  overlay(id: NodeId): Overlay {
    const node = this.nodes.get(id);
    if (!node?.up) throw new Error(`node ${id} is down`);
    return node.overlay;
  }

  at(time: Millis, fn: () => void): void {
    this.schedule(time, { kind: 'call', fn });
  }

  runFor(ms: Millis): void {
    this.runUntilTime(this.now + ms);
  }

  runUntilTime(time: Millis): void {
    for (let slot = this.heap.peek(); slot && slot.at <= time; slot = this.heap.peek()) {
      this.heap.pop();
      this.now = slot.at;
      this.handle(slot);
    }
    this.now = time;
  }

  /** Runs until `done()` holds (checked every `everyMs`), for at most `timeoutMs`; returns the time taken or null. */
  runUntil(done: () => boolean, timeoutMs: Millis, everyMs: Millis = 50): Millis | null {
    const start = this.now;
    while (this.now - start <= timeoutMs) {
      if (done()) return this.now - start;
      this.runFor(everyMs);
    }
    return null;
  }

  // ── ground truth ────────────────────────────────────────────────────────────────────

  /** Links both ends hold, among nodes that are up. */
  graph(): Map<NodeId, Set<NodeId>> {
    const graph = new Map<NodeId, Set<NodeId>>();
    for (const [id, node] of this.nodes) if (node.up) graph.set(id, new Set());
    for (const [id, node] of this.nodes) {
      if (!node.up) continue;
      for (const peer of node.links) if (this.nodes.get(peer)?.links.has(id)) graph.get(id)?.add(peer);
    }
    return graph;
  }

  /** true, or what is wrong: degrees outside [min, max] (capped by size) or a split. */
  healthy(min: number, max: number): true | string {
    const graph = this.graph();
    const lo = Math.min(min, graph.size - 1);
    const hi = Math.min(max, graph.size - 1);
    let bad = 0;
    let example = '';
    for (const [id, peers] of graph) {
      if (peers.size < lo || peers.size > hi) {
        bad++;
        example ||= `${id}=${peers.size}`;
      }
    }
    if (bad > 0) return `${bad} node(s) out of [${lo}, ${hi}], e.g. ${example}`;
    const parts = components(graph).length;
    return parts > 1 ? `${parts} components` : true;
  }

  // ── internals ───────────────────────────────────────────────────────────────────────

  private schedule(at: Millis, event: Event): void {
    const slot = event as Slot;
    slot.at = at;
    slot.order = this.order++;
    this.heap.push(slot);
  }

  private reachable(a: NodeId, b: NodeId): boolean {
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  private latency(a: NodeId, b: NodeId): Millis {
    return 10 + (hashString(a < b ? `${a} ${b}` : `${b} ${a}`) % 41);
  }

  private noticeLoss(id: NodeId, lost: NodeId): void {
    const node = this.nodes.get(id);
    if (!node) return;
    const delay = this.detectMs * (0.5 + this.rng.next());
    this.schedule(this.now + delay, { kind: 'input', id, life: node.life, input: { type: 'link-down', peer: lost, reason: 'lost' } });
  }

  private input(id: NodeId, input: OverlayInput): void {
    const node = this.nodes.get(id);
    if (!node?.up) return;
    this.apply(id, node, node.overlay.step(this.now, input));
  }

  private handle(event: Event): void {
    switch (event.kind) {
      case 'tick': {
        const node = this.nodes.get(event.id);
        if (!node?.up || node.life !== event.life) return;
        this.schedule(this.now + overlayTickIntervalMs, { kind: 'tick', id: event.id, life: event.life });
        this.apply(event.id, node, node.overlay.step(this.now, { type: 'tick' }));
        return;
      }
      case 'input': {
        const node = this.nodes.get(event.id);
        if (!node?.up || node.life !== event.life) return;
        if (event.input.type === 'message' && !node.links.has(event.input.from)) return; // link gone meanwhile
        if (event.input.type === 'link-down') {
          // A loss notice for a pair that has linked again since is stale; a close is not.
          if (event.input.reason === 'lost' && node.links.has(event.input.peer)) return;
          node.links.delete(event.input.peer);
        }
        this.apply(event.id, node, node.overlay.step(this.now, event.input));
        return;
      }
      case 'open': {
        const a = this.nodes.get(event.a);
        const b = this.nodes.get(event.b);
        if (!a?.up || !b?.up || a.life !== event.lifeA || b.life !== event.lifeB || !this.reachable(event.a, event.b)) return;
        if (a.links.has(event.b)) return;
        a.links.add(event.b);
        b.links.add(event.a);
        a.dialing.delete(event.b);
        b.dialing.delete(event.a);
        this.apply(event.a, a, a.overlay.step(this.now, { type: 'link-up', peer: event.b }));
        if (b.links.has(event.a)) this.apply(event.b, b, b.overlay.step(this.now, { type: 'link-up', peer: event.a }));
        return;
      }
      case 'call':
        event.fn();
        return;
    }
  }

  private apply(id: NodeId, node: SimNodeState, effects: OverlayEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'connect': {
          const peer = this.nodes.get(effect.peer);
          if (node.links.has(effect.peer)) break;
          node.dialing.set(effect.peer, this.now);
          if (!peer?.up || !this.reachable(id, effect.peer)) break; // no answer: the core times out
          const delay = this.connectDelay.min + this.rng.next() * (this.connectDelay.max - this.connectDelay.min);
          this.schedule(this.now + delay, { kind: 'open', a: id, b: effect.peer, lifeA: node.life, lifeB: peer.life });
          break;
        }
        case 'disconnect': {
          if (!node.links.delete(effect.peer)) break;
          const peer = this.nodes.get(effect.peer);
          if (peer?.up) {
            // The other end sees the close after one link latency (after frames sent before it).
            this.schedule(this.now + this.latency(id, effect.peer), {
              kind: 'input',
              id: effect.peer,
              life: peer.life,
              input: { type: 'link-down', peer: id, reason: 'closed' },
            });
          }
          break;
        }
        case 'send': {
          if (!node.links.has(effect.to)) break;
          const peer = this.nodes.get(effect.to);
          if (!peer?.up) break;
          this.framesSent++;
          const msg = effect.msg;
          const signer = msg.type === 'advert' ? (msg.sig.startsWith('sim:') ? asNodeId(msg.sig.slice(4)) : null) : null;
          this.schedule(this.now + this.latency(id, effect.to), {
            kind: 'input',
            id: effect.to,
            life: peer.life,
            input: { type: 'message', from: id, msg, signer },
          });
          break;
        }
        case 'sign':
          this.apply(id, node, node.overlay.step(this.now, { type: 'signed', id: effect.id, sig: `sim:${id}` }));
          break;
        case 'config-refused':
          break;
      }
    }
  }
}
