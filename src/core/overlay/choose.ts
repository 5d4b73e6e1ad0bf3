// Which peer to link to next, and which link to drop. Pure functions of the node's view.
//
// Linking: we want something close to a random regular graph (small diameter, few triangles)
// and we want to bridge weakly connected parts. So candidates are ranked in tiers, best first:
//   0. nodes of our component on the far side of a bridge (a link whose loss would split it),
//      with room (degree < max): a second path across the weak spot;
//   1. nodes with room to grow (degree < target) at least 3 hops away;
//   2. nodes with room (degree < max) at least 2 hops away;
//   3. peers we only heard of (signaling samples, remembered peers), degree unknown;
//   4. nodes of another component — the far side of a partition, or nodes that crashed
//      together and still list each other (we cannot tell which, so they come after every
//      node we know is alive; the partition check in overlay.ts dials them on purpose) —
//      and nodes whose advert claims links that the other ends no longer confirm (what a
//      crashed node looks like until the last of its neighbours has noticed);
//   5. anyone else, even at max degree (only when we are below min and nothing better exists;
//      they will prune a link of theirs, never one that cuts someone off).
// Within a tier the farthest candidates win — any within one hop of the farthest, picked by
// the seeded Rng — which spreads links across the graph instead of closing triangles. Below
// min (after crashes, when many nodes dial at once) the pool is two hops deep, so healing nodes
// do not all descend on the same few far nodes, which would then have to prune.
//
// Pruning: only links older than minLinkAgeBeforePruneMs, never a bridge in our view; prefer the
// neighbour with the most links (it can spare one), then the one sharing most neighbours with
// us (the link closes triangles, so it adds least), then Rng.
import type { Rng } from '../rng.ts';
import type { Millis, NodeId } from '../types.ts';
import { compareNodeIds } from '../types.ts';
import { isBridge, type TopologyView } from './view.ts';
import { twoEdgeComponentLabels } from '../graph/articulation.ts';

export interface ChooseContext {
  self: NodeId;
  view: TopologyView;
  /** Links a peer claims in its own advert (fresher than the two-way view); undefined if unknown. */
  claimedDegree: (peer: NodeId) => number | undefined;
  /** Peers we must not dial now: linked, pending, backing off, held after a prune. */
  excluded: (peer: NodeId) => boolean;
  /** Peers heard of outside the view (signaling samples, remembered peers). */
  heardOf: readonly NodeId[];
  minLinks: number;
  target: number;
  maxLinks: number;
}

interface Candidate {
  peer: NodeId;
  tier: number;
  distance: number;
}

/**
 * Up to `count` peers to dial, best first. `urgent` (below min) allows tier 5; `bridgeOnly`
 * considers only other components (tier 4), to heal a partition.
 */
export function chooseLinkTargets(ctx: ChooseContext, count: number, urgent: boolean, rng: Rng, bridgeOnly = false): NodeId[] {
  if (count <= 0) return [];
  const candidates: Candidate[] = [];
  const consider = (peer: NodeId, tier: number, distance: number): void => {
    if (peer === ctx.self || ctx.excluded(peer)) return;
    candidates.push({ peer, tier, distance });
  };
  for (const component of ctx.view.strays) {
    for (const m of component) if ((ctx.claimedDegree(m) ?? 0) < ctx.maxLinks || urgent) consider(m, 4, Infinity);
  }
  if (!bridgeOnly) {
    const sides = twoEdgeComponentLabels(componentOf(ctx.view));
    const mySide = sides.get(ctx.self);
    for (const [peer, distance] of ctx.view.distance) {
      if (distance <= 1) continue;
      const confirmed = ctx.view.degree(peer);
      const degree = ctx.claimedDegree(peer) ?? confirmed;
      // A node claiming links its peers no longer confirm has probably just crashed (its
      // neighbours re-advertised without it) or is mid-change: not a good first choice.
      if (degree !== confirmed) consider(peer, 4, distance);
      else if (degree < ctx.maxLinks && sides.get(peer) !== mySide) consider(peer, 0, distance);
      else if (degree < ctx.target && distance >= 3) consider(peer, 1, distance);
      else if (degree < ctx.maxLinks) consider(peer, 2, distance);
      else if (urgent) consider(peer, 5, distance);
    }
    for (const peer of ctx.heardOf) {
      if (!ctx.view.has(peer)) consider(peer, 3, 0);
    }
  }
  // Deterministic order before the Rng breaks ties, so runs replay from the seed alone.
  candidates.sort((a, b) => a.tier - b.tier || b.distance - a.distance || compareNodeIds(a.peer, b.peer));
  const chosen: NodeId[] = [];
  const taken = new Set<NodeId>();
  while (chosen.length < count) {
    const rest = candidates.filter((c) => !taken.has(c.peer));
    const best = rest[0];
    if (!best) break;
    const slack = urgent ? 2 : 1;
    const pool = rest.filter((c) => c.tier === best.tier && (best.distance === Infinity || c.distance >= best.distance - slack));
    const pick = rng.pick(pool) as Candidate;
    taken.add(pick.peer);
    chosen.push(pick.peer);
  }
  return chosen;
}

/** The view restricted to this node's own component. */
function componentOf(view: TopologyView): ReadonlyMap<NodeId, ReadonlySet<NodeId>> {
  if (view.strays.length === 0) return view.graph;
  const out = new Map<NodeId, ReadonlySet<NodeId>>();
  for (const id of view.distance.keys()) out.set(id, view.graph.get(id) ?? new Set());
  return out;
}

/** The link to drop when above max, or null if every link is too young or a bridge. */
export function choosePruneVictim(
  ctx: Pick<ChooseContext, 'self' | 'view' | 'claimedDegree' | 'minLinks'>,
  links: ReadonlyMap<NodeId, { upAt: Millis }>,
  now: Millis,
  minAgeMs: Millis,
  rng: Rng,
): NodeId | null {
  const mine = ctx.view.graph.get(ctx.self) ?? new Set<NodeId>();
  const scored: Array<{ peer: NodeId; spare: number; degree: number; common: number }> = [];
  for (const [peer, link] of links) {
    if (now - link.upAt < minAgeMs) continue;
    if (isBridge(ctx.view, ctx.self, peer)) continue;
    const degree = ctx.claimedDegree(peer) ?? ctx.view.degree(peer);
    let common = 0;
    for (const x of ctx.view.graph.get(peer) ?? []) if (mine.has(x)) common++;
    scored.push({ peer, spare: degree > ctx.minLinks ? 0 : 1, degree, common });
  }
  if (scored.length === 0) return null;
  scored.sort((a, b) => a.spare - b.spare || b.degree - a.degree || b.common - a.common || compareNodeIds(a.peer, b.peer));
  const best = scored[0] as (typeof scored)[number];
  const ties = scored.filter((s) => s.spare === best.spare && s.degree === best.degree && s.common === best.common);
  return (rng.pick(ties) as (typeof scored)[number]).peer;
}
