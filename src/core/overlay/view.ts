// One node's picture of the mesh, built from its link-state database and its own links.
//
// A link between two other nodes counts only when both of their adverts list it (OSPF's
// two-way check): when a node crashes its neighbours re-advertise without it, and its own
// stale advert then no longer creates links. Links of this node itself come from the transport
// (it knows them first-hand). Nodes left without any two-way link drop out of the picture.
//
// Nodes we cannot reach form "stray" components. Those that were reachable a moment ago
// (within `strayComponentGraceMs`) and near (at most strayDepthHops away) are kept: they are the
// other side of a partition, or nodes that crashed together, and either way worth trying to
// reach. Older ones are left out, and so are nodes that were farther: the database holds only
// this node's neighbourhood (advertRadiusHops), so a far node that vanishes has more likely
// moved beyond it than been cut off; the nodes near the cut see a split and bridge it.
//
// Cost: the reachability walk is O(total advertised links) with no graph built; the adjacency
// map (`graph`) is only materialised when someone asks for it (routing, metrics, choosing a
// link to prune), since rebuilding it on every flood would dominate a 1,024-node simulation.
import type { Millis, NodeId } from '../types.ts';
import type { LinkStateDb } from './lsdb.ts';
import { strayComponentGraceMs, strayDepthHops } from './config.ts';

export interface TopologyView {
  /** Changes whenever the graph below may have changed. */
  readonly key: string;
  /** Hops from this node, for every node of its own component (this node included). */
  readonly distance: ReadonlyMap<NodeId, number>;
  /** Other components still shown, largest first, each sorted. */
  readonly strays: readonly NodeId[][];
  /** Symmetric adjacency: this node's component plus the strays (built on first use). */
  readonly graph: ReadonlyMap<NodeId, ReadonlySet<NodeId>>;
  /** Two-way-checked links of a node of the view. */
  degree(id: NodeId): number;
  /** True if `id` is in this node's component or a shown stray component. */
  has(id: NodeId): boolean;
  readonly size: number;
  /** Hops to the farthest node of this node's component in the picture. */
  readonly depth: number;
}

/**
 * `nearAt` (node → when it was last known to be within strayDepthHops of us) is updated in
 * place from the previous picture's `previous` distances, which held until `now`: its near
 * nodes are stamped `now`. (Stamping the previous picture rather than the new one also covers a
 * split that happens in steps: the far side was near in the picture before its first cut link.)
 */
export function buildView(
  self: NodeId,
  lsdb: LinkStateDb,
  links: ReadonlySet<NodeId>,
  previous: ReadonlyMap<NodeId, number> | null,
  nearAt: Map<NodeId, Millis>,
  departed: { has(peer: NodeId): boolean },
  now: Millis,
  key: string,
): TopologyView {
  const neighbours = (u: NodeId, visit: (v: NodeId) => void): void => {
    if (u === self) {
      for (const v of links) visit(v);
      return;
    }
    // Our own links count from our side alone: we know them first-hand.
    if (links.has(u)) visit(self);
    const claims = lsdb.peersOf(u);
    if (!claims || departed.has(u)) return;
    for (const v of claims) {
      if (v !== self && !departed.has(v) && lsdb.peersOf(v)?.has(u)) visit(v);
    }
  };

  const distance = new Map<NodeId, number>([[self, 0]]);
  const queue: NodeId[] = [self];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as NodeId;
    const du = (distance.get(u) as number) + 1;
    neighbours(u, (v) => {
      if (!distance.has(v)) {
        distance.set(v, du);
        queue.push(v);
      }
    });
  }
  if (previous) for (const [u, d] of previous) if (d <= strayDepthHops) nearAt.set(u, now);

  // Only nodes reachable a moment ago can seed a stray component worth showing.
  const strays: NodeId[][] = [];
  const seen = new Set<NodeId>();
  for (const start of lsdb.origins()) {
    if (distance.has(start) || seen.has(start)) continue;
    if (now - (nearAt.get(start) ?? -Infinity) > strayComponentGraceMs) continue;
    const members: NodeId[] = [];
    const walk: NodeId[] = [start];
    seen.add(start);
    for (let head = 0; head < walk.length; head++) {
      const u = walk[head] as NodeId;
      let linked = false;
      neighbours(u, (v) => {
        linked = true;
        if (!seen.has(v) && !distance.has(v)) {
          seen.add(v);
          walk.push(v);
        }
      });
      if (linked) members.push(u);
    }
    if (members.length > 0) strays.push(members.sort());
  }
  strays.sort((a, b) => b.length - a.length);
  const strayMembers = new Set<NodeId>();
  for (const component of strays) for (const m of component) strayMembers.add(m);

  let graph: Map<NodeId, Set<NodeId>> | null = null;
  const has = (id: NodeId): boolean => distance.has(id) || strayMembers.has(id);
  return {
    key,
    distance,
    strays,
    size: distance.size + strayMembers.size,
    depth: distance.get(queue[queue.length - 1] as NodeId) ?? 0,
    has,
    degree(id) {
      if (!has(id)) return 0;
      let count = 0;
      neighbours(id, () => count++);
      return count;
    },
    get graph() {
      if (!graph) {
        graph = new Map();
        for (const id of [...distance.keys(), ...strayMembers]) {
          const peers = new Set<NodeId>();
          neighbours(id, (v) => peers.add(v));
          graph.set(id, peers);
        }
      }
      return graph;
    },
  };
}

/** True if the link self–peer is the only path between them in the view (cutting it splits). */
export function isBridge(view: TopologyView, self: NodeId, peer: NodeId): boolean {
  const seen = new Set<NodeId>([self]);
  const queue: NodeId[] = [self];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as NodeId;
    for (const v of view.graph.get(u) ?? []) {
      if (u === self && v === peer) continue;
      if (v === peer) return false;
      if (!seen.has(v)) {
        seen.add(v);
        queue.push(v);
      }
    }
  }
  return true;
}
