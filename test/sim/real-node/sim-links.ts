// The simulated transport between nodes: what WebRTC data channels are to a tab, on the
// virtual clock. A link attempt goes through the runtime's real signalling (offer and answer are
// placeholders, carried signed through the signaling server or the mesh, as real SDP is); once
// both ends have theirs and the two can reach each other, the link comes up on both ends.
// Frames then take a seeded delay, and the run's faults apply: loss, duplication, reordering
// (a frame that skips the link's order), and partitions (nothing crosses; links die of silence
// as real ones do). Real data channels are reliable and ordered: loss, duplication and
// reordering here are harsher than WebRTC, on purpose (the protocols must not depend on it).
import type { NodeId } from '../../../src/core/types.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { IceServer, LinkHost, RawSignal } from '../../../src/net/transport.ts';
import type { NodeLife, TraceSink } from './node-life.ts';
import type { VirtualScheduler } from './scheduler.ts';

export interface LinkFaults {
  /** One-way delay of a frame, uniform in [min, max] virtual ms. */
  delayMs: { min: number; max: number };
  /** Chance a frame is lost. */
  loss: number;
  /** Chance a frame arrives twice. */
  duplicate: number;
  /** Chance a frame ignores the link's order (arrives after a fresh delay of its own). */
  reorder: number;
}

export const calmLinks: LinkFaults = { delayMs: { min: 5, max: 30 }, loss: 0, duplicate: 0, reorder: 0 };

interface Endpoint {
  linkId: string;
  initiator: boolean;
  /** The initiator has the answer / the answerer has the offer. */
  ready: boolean;
  up: boolean;
}

export interface LinkStats {
  frames: number;
  bytes: number;
  lost: number;
  duplicated: number;
  partitioned: number;
  linksUp: number;
}

export class SimLinkNetwork {
  faults: LinkFaults = calmLinks;
  readonly stats: LinkStats = { frames: 0, bytes: 0, lost: 0, duplicated: 0, partitioned: 0, linksUp: 0 };
  /** Sees every frame delivered (the VOPR's flooders keep some to replay). */
  tap: ((from: NodeId, to: NodeId, bytes: Uint8Array) => void) | null = null;
  /** Sees every frame sent, before faults (the bench sorts them by protocol). */
  meter: ((bytes: Uint8Array) => void) | null = null;
  /** Frames for which this says true are lost (a scenario's selective fault: one protocol, one direction). */
  drop: ((from: NodeId, to: NodeId, bytes: Uint8Array) => boolean) | null = null;
  private readonly hosts = new Map<NodeId, SimLinkHost>();
  /** Partition group per node; nodes in different groups cannot reach each other. Empty: whole. */
  private groups = new Map<NodeId, number>();
  /**
   * When the last in-order frame on a directed pair arrives (frames on a link keep their order),
   * by sender then receiver: no key string built per frame.
   */
  private readonly lastArrival = new Map<NodeId, Map<NodeId, number>>();
  /** Pairs set apart by blockDirect. */
  private readonly blockedPairs = new Set<string>();

  constructor(
    readonly scheduler: VirtualScheduler,
    private readonly rng: Rng,
    private readonly trace: TraceSink,
  ) {}

  /** The link host of a node life (replacing the host of its previous life). */
  attach(life: NodeLife): SimLinkHost {
    const host = new SimLinkHost(life, this);
    this.hosts.set(life.id, host);
    return host;
  }

  /** Splits the nodes into groups that cannot reach each other; nodes not listed form group 0. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.groups = new Map(groups.flatMap((g, i) => g.map((id) => [id, i + 1] as const)));
  }

  heal(): void {
    this.groups = new Map();
  }

  get partitioned(): boolean {
    return this.groups.size > 0;
  }

  /**
   * Two nodes that can never link directly (a NAT between them), whatever the partitions; they
   * still reach each other through the signaling server and over the mesh.
   */
  blockDirect(a: NodeId, b: NodeId): void {
    this.blockedPairs.add(a < b ? `${a} ${b}` : `${b} ${a}`);
  }

  canReach(a: NodeId, b: NodeId): boolean {
    // Asked twice per frame: a whole network with no blocked pair needs no lookup.
    if (this.groups.size === 0 && this.blockedPairs.size === 0) return true;
    if (this.blockedPairs.size > 0 && this.blockedPairs.has(a < b ? `${a} ${b}` : `${b} ${a}`)) return false;
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  delay(): number {
    const { min, max } = this.faults.delayMs;
    return min + this.rng.int(Math.max(1, max - min + 1));
  }

  hostOf(id: NodeId): SimLinkHost | undefined {
    return this.hosts.get(id);
  }

  /** Both ends have their signals: the link comes up after a round trip, if they can reach each other. */
  tryConnect(a: SimLinkHost, peer: NodeId, linkId: string): void {
    const b = this.hosts.get(peer);
    const ea = a.endpoint(peer);
    const eb = b?.endpoint(a.life.id);
    if (!b || !ea || !eb || ea.linkId !== linkId || eb.linkId !== linkId || !ea.ready || !eb.ready) return;
    if (!this.canReach(a.life.id, peer)) return;
    const at = this.delay() * 2;
    this.scheduler.after(at, () => {
      for (const [host, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const e = host.endpoint(other.life.id);
        if (!host.life.alive || !e || e.linkId !== linkId || e.up) continue;
        e.up = true;
        this.stats.linksUp++;
        host.life.run(() => host.life.events?.up(other.life.id, linkId));
      }
    });
  }

  /** A frame from `from` to `to` on link `linkId`, through the run's faults. */
  carry(from: SimLinkHost, to: NodeId, linkId: string, bytes: Uint8Array): void {
    this.stats.frames++;
    this.stats.bytes += bytes.byteLength;
    this.meter?.(bytes);
    if (!this.canReach(from.life.id, to)) {
      this.stats.partitioned++;
      return;
    }
    if (this.drop?.(from.life.id, to, bytes)) {
      this.stats.lost++;
      return;
    }
    if (this.faults.loss > 0 && this.rng.next() < this.faults.loss) {
      this.stats.lost++;
      return;
    }
    const copies = this.faults.duplicate > 0 && this.rng.next() < this.faults.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    let arrivals = this.lastArrival.get(from.life.id);
    if (!arrivals) this.lastArrival.set(from.life.id, (arrivals = new Map()));
    for (let i = 0; i < copies; i++) {
      let at = this.scheduler.now + this.delay();
      const reordered = this.faults.reorder > 0 && this.rng.next() < this.faults.reorder;
      if (!reordered) {
        at = Math.max(at, arrivals.get(to) ?? 0);
        arrivals.set(to, at);
      }
      const copy = bytes.slice();
      this.scheduler.at(at, () => this.arrive(from.life, to, linkId, copy));
    }
  }

  private arrive(from: NodeLife, to: NodeId, linkId: string, bytes: Uint8Array): void {
    // A partition that appeared in flight drops the frame too.
    if (!this.canReach(from.id, to)) {
      this.stats.partitioned++;
      return;
    }
    const host = this.hosts.get(to);
    const e = host?.endpoint(from.id);
    if (!host || !host.life.alive || !e || e.linkId !== linkId || !e.up) return;
    this.trace.note(`f ${from.index}>${host.life.index} ${bytes.byteLength}`);
    this.trace.bytes(bytes);
    this.tap?.(from.id, to, bytes);
    host.life.run(() => host.life.events?.data(from.id, linkId, bytes));
  }

  /** `from` closed its end: the other end hears of it after a delay (the data channel's close). */
  closed(from: SimLinkHost, peer: NodeId, linkId: string): void {
    this.scheduler.after(this.delay(), () => {
      const host = this.hosts.get(peer);
      const e = host?.endpoint(from.life.id);
      if (!host || !e || e.linkId !== linkId) return;
      host.forget(from.life.id);
      if (host.life.alive) host.life.run(() => host.life.events?.down(from.life.id, linkId, 'closed by the peer'));
    });
  }
}

export class SimLinkHost implements LinkHost {
  private readonly endpoints = new Map<NodeId, Endpoint>();
  private lastWords: Uint8Array[] = [];

  constructor(
    readonly life: NodeLife,
    private readonly network: SimLinkNetwork,
  ) {}

  endpoint(peer: NodeId): Endpoint | undefined {
    return this.endpoints.get(peer);
  }

  forget(peer: NodeId): void {
    this.endpoints.delete(peer);
  }

  /** Peers with a link up (for the cluster's flooders and reports). */
  upPeers(): NodeId[] {
    return [...this.endpoints].filter(([, e]) => e.up).map(([p]) => p);
  }

  open(peer: NodeId, linkId: string, initiator: boolean, _iceServers: IceServer[]): void {
    this.endpoints.set(peer, { linkId, initiator, ready: false, up: false });
    if (initiator) this.emitSignal(peer, linkId, { type: 'offer', sdp: `sim offer ${linkId}` });
  }

  signal(peer: NodeId, linkId: string, signal: RawSignal): void {
    const e = this.endpoints.get(peer);
    if (!e || e.linkId !== linkId || e.ready) return;
    if (!e.initiator && signal['type'] === 'offer') {
      e.ready = true;
      this.emitSignal(peer, linkId, { type: 'answer', sdp: `sim answer ${linkId}` });
    } else if (e.initiator && signal['type'] === 'answer') {
      e.ready = true;
    } else return;
    this.network.tryConnect(this, peer, linkId);
  }

  send(peer: NodeId, linkId: string, bytes: Uint8Array<ArrayBuffer>): void {
    const e = this.endpoints.get(peer);
    if (!this.life.alive || !e || e.linkId !== linkId || !e.up) return;
    this.network.carry(this, peer, linkId, bytes);
  }

  close(peer: NodeId, linkId: string): void {
    const e = this.endpoints.get(peer);
    if (!e || e.linkId !== linkId) return;
    this.endpoints.delete(peer);
    if (e.up || e.ready) this.network.closed(this, peer, linkId);
  }

  setLastWords(frames: Uint8Array<ArrayBuffer>[]): void {
    this.lastWords = frames.map((f) => f.slice());
  }

  /** The tab is closed: the page sends the last words on every up link, then everything closes. */
  speakLastWordsAndClose(): void {
    for (const [peer, e] of this.endpoints) {
      if (!e.up) continue;
      for (const frame of this.lastWords) this.network.carry(this, peer, e.linkId, frame);
      this.network.closed(this, peer, e.linkId);
    }
    this.endpoints.clear();
  }

  /** The node died without a word: its links go silent (the far ends find out by silence). */
  vanish(): void {
    this.endpoints.clear();
  }

  /** Raw bytes on an up link, bypassing the runtime (the flooders' way in). */
  sendRaw(peer: NodeId, bytes: Uint8Array): boolean {
    const e = this.endpoints.get(peer);
    if (!e || !e.up) return false;
    this.network.carry(this, peer, e.linkId, bytes);
    return true;
  }

  private emitSignal(peer: NodeId, linkId: string, signal: RawSignal): void {
    // simple-peer emits its signals asynchronously, a moment after it is asked.
    this.network.scheduler.after(1, () => {
      if (this.endpoints.get(peer)?.linkId === linkId) this.life.run(() => this.life.events?.signal(peer, linkId, signal));
    });
  }
}
