// What a node knows of its peers' load: the latest advert from each (gossip, or piggybacked on
// steal messages), work it handed them that their adverts cannot show yet, who just turned it
// down, who is dead and who is blocklisted. From this it picks steal victims and shed targets
// and estimates the mesh's average load. Loads are in cost units (a job's tasks average 1).
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import type { StealConfig } from './config.ts';
import { advertRuns } from './kinds.ts';
import type { LoadAdvert } from './messages.ts';
import type { PeerLoadView } from './types.ts';

interface PeerState {
  advert: LoadAdvert;
  receivedAt: Millis;
  /** Do not ask this peer for work again before this time (it just denied or timed out). */
  skipUntil: Millis;
  /** Work we sent it (shed or granted) that its adverts may not show yet, and until when to assume so. */
  sentCost: number;
  sentUntil: Millis;
}

/** Work a node holds: the cost of what it runs and of what it has queued. */
export function workOf(advert: LoadAdvert): number {
  return advert.runningCost + advert.queuedCost;
}

/** Work per worker. */
export function loadOf(advert: LoadAdvert): number {
  return workOf(advert) / Math.max(1, advert.workers);
}

/**
 * Work a peer would give a thief (see the victim's side in core.ts): everything to an idle
 * thief; to one only topping up its buffer, what lies beyond the peer's own buffer.
 */
export function spareOf(advert: LoadAdvert, lowWaterPerWorker: number, thiefIdle: boolean): number {
  if (advert.queued === 0) return 0;
  return thiefIdle ? advert.queuedCost : advert.queuedCost - Math.ceil(lowWaterPerWorker * advert.workers);
}

export interface ShedCandidate {
  node: NodeId;
  /** Work it can take before it reaches the average. */
  room: number;
  /** Work it holds (including what we sent it lately). */
  has: number;
  lanes: number;
  /** Task kinds it runs: only these may be shed to it. */
  kinds: readonly string[];
}

export class PeerLoads {
  private readonly peers = new Map<NodeId, PeerState>();
  /** Members failure detection declared dead (and not alive again since). */
  private readonly dead = new Set<NodeId>();
  private readonly blocked = new Set<NodeId>();

  constructor(
    private readonly self: NodeId,
    private readonly config: StealConfig,
  ) {}

  /** Records an advert unless an equal or newer one from that node is known; true if recorded. */
  note(now: Millis, advert: LoadAdvert): boolean {
    const node = advert.node as NodeId;
    if (node === this.self) return false;
    const known = this.peers.get(node);
    if (known && (advert.boot < known.advert.boot || (advert.boot === known.advert.boot && advert.seq < known.advert.seq))) return false;
    if (!known && this.peers.size >= this.config.maxPeers) {
      let stalest: NodeId | undefined;
      let stalestAt = Number.POSITIVE_INFINITY;
      for (const [id, p] of this.peers) if (p.receivedAt < stalestAt) [stalest, stalestAt] = [id, p.receivedAt];
      if (stalest !== undefined) this.peers.delete(stalest);
    }
    this.peers.set(node, { advert, receivedAt: now, skipUntil: known?.skipUntil ?? 0, sentCost: known?.sentCost ?? 0, sentUntil: known?.sentUntil ?? 0 });
    return true;
  }

  /** Do not ask `node` for work again before `until`. */
  skip(node: NodeId, until: Millis): void {
    const peer = this.peers.get(node);
    if (peer) peer.skipUntil = until;
  }

  markDead(node: NodeId): void {
    this.dead.add(node);
    if (this.dead.size > this.config.maxPeers) this.dead.delete(this.dead.values().next().value as NodeId);
  }

  /** True if the node had been declared dead. */
  markAlive(node: NodeId): boolean {
    return this.dead.delete(node);
  }

  isDead(node: NodeId): boolean {
    return this.dead.has(node);
  }

  /** Adds to the blocklist; false if it was there already. */
  block(node: NodeId): boolean {
    if (node === this.self || this.blocked.has(node)) return false;
    if (this.blocked.size >= this.config.maxPeers) this.blocked.delete(this.blocked.values().next().value as NodeId);
    this.blocked.add(node);
    return true;
  }

  isBlocked(node: NodeId): boolean {
    return this.blocked.has(node);
  }

  blocklist(): NodeId[] {
    return [...this.blocked];
  }

  /** Remembers work handed to a peer until its adverts can show it. */
  noteSent(now: Millis, node: NodeId, cost: number): void {
    const peer = this.peers.get(node);
    if (!peer) return;
    peer.sentCost = this.inFlight(now, node) + cost;
    peer.sentUntil = now + this.config.inFlightMemoryMs;
  }

  inFlight(now: Millis, node: NodeId): number {
    const peer = this.peers.get(node);
    return peer && peer.sentUntil > now ? peer.sentCost : 0;
  }

  /** Work per worker across this node (`own`) and the peers it hears from; null when nobody has workers. */
  average(now: Millis, own: { work: number; workers: number }): number | null {
    let work = own.work;
    let workers = own.workers;
    for (const [node, p] of this.peers) {
      if (!this.usable(node, p, now)) continue;
      work += workOf(p.advert) + this.inFlight(now, node);
      workers += p.advert.workers;
    }
    return workers > 0 ? work / workers : null;
  }

  /** Whether `advert` offers work to a thief in this state (for waking up an idle node early). */
  offersWork(advert: LoadAdvert, thiefIdle: boolean): boolean {
    return spareOf(advert, this.config.stealLowWaterPerWorker, thiefIdle) > 0;
  }

  /** A victim at random, weighted by the work it advertises and would give us. */
  pickVictim(now: Millis, rng: Rng, thiefIdle: boolean): NodeId | undefined {
    const candidates: Array<[NodeId, number]> = [];
    let total = 0;
    for (const [node, p] of this.peers) {
      if (!this.usable(node, p, now)) continue;
      const spare = spareOf(p.advert, this.config.stealLowWaterPerWorker, thiefIdle);
      if (spare <= 0) continue;
      candidates.push([node, spare]);
      total += spare;
    }
    if (total === 0) return undefined;
    let pick = rng.next() * total;
    for (const [node, weight] of candidates) {
      pick -= weight;
      if (pick < 0) return node;
    }
    return candidates[candidates.length - 1]?.[0];
  }

  /** Peers with an idle worker and at least `minRoom` of work below the average. */
  shedCandidates(now: Millis, average: number, minRoom: number): ShedCandidate[] {
    const out: ShedCandidate[] = [];
    for (const [node, peer] of this.peers) {
      const a = peer.advert;
      if (!this.usable(node, peer, now) || a.workers === 0 || a.running >= a.workers) continue;
      const has = workOf(a) + this.inFlight(now, node);
      const room = average * a.workers - has;
      if (room >= minRoom) out.push({ node, room, has, lanes: a.workers, kinds: a.kinds ?? [] });
    }
    return out;
  }

  /** Usable peers (alive, trusted, heard from lately) whose advert says they run `kind`. */
  runnersOf(now: Millis, kind: string): NodeId[] {
    const out: NodeId[] = [];
    for (const [node, p] of this.peers) if (this.usable(node, p, now, true) && advertRuns(p.advert, kind)) out.push(node);
    return out;
  }

  /** Live peers for the UI, and the loads of those heard from recently (for the variance). */
  views(now: Millis): { peers: PeerLoadView[]; loads: number[] } {
    const peers: PeerLoadView[] = [];
    const loads: number[] = [];
    for (const [node, p] of this.peers) {
      if (this.dead.has(node)) continue;
      peers.push({
        node,
        workers: p.advert.workers,
        running: p.advert.running,
        queued: p.advert.queued,
        ageMs: now - p.receivedAt,
        kinds: [...(p.advert.kinds ?? [])],
      });
      if (now - p.receivedAt <= this.config.advertMaxAgeMs) loads.push(loadOf(p.advert));
    }
    return { peers, loads };
  }

  /** A peer worth stealing from or shedding to: alive, trusted, heard from recently, not avoided. */
  private usable(node: NodeId, p: PeerState, now: Millis, evenIfSkipped = false): boolean {
    return !this.dead.has(node) && !this.blocked.has(node) && (evenIfSkipped || p.skipUntil <= now) && now - p.receivedAt <= this.config.advertMaxAgeMs;
  }
}
