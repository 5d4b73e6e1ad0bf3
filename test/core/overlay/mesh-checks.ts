// Ground truth about a simulated mesh, for assertions: the links both ends hold, and checks
// that explain themselves (a string saying what is wrong) for use with eventually/always.
import { SimCluster } from '../../sim/cluster.ts';
import { createRng } from '../../../src/core/rng.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { components, computeMetrics, diameter } from '../../../src/core/graph/index.ts';
import { advertRadiusHops } from '../../../src/core/overlay/config.ts';
import { MeshNode, type MeshNodeOptions, type MeshWire } from './mesh-node.ts';

export type MeshCluster = SimCluster<MeshWire, MeshNode>;

export function meshCluster(seed: number, options: MeshNodeOptions & { lossRate?: number; duplicateRate?: number } = {}): MeshCluster {
  const cluster: MeshCluster = new SimCluster<MeshWire, MeshNode>({
    seed,
    network: { lossRate: options.lossRate ?? 0, duplicateRate: options.duplicateRate ?? 0 },
    create: (ctx) => new MeshNode(ctx, { ...options, network: cluster.network }),
  });
  return cluster;
}

/** Links held by both ends, among nodes that are up. */
export function trueGraph(cluster: MeshCluster): Map<NodeId, Set<NodeId>> {
  const up = cluster.upIds();
  const graph = new Map<NodeId, Set<NodeId>>(up.map((id) => [id, new Set()]));
  for (const id of up) {
    for (const peer of cluster.node(id).links.keys()) {
      if (cluster.isUp(peer) && cluster.node(peer).links.has(id)) graph.get(id)?.add(peer);
    }
  }
  return graph;
}

/** true, or what is wrong: degrees outside [min, max] or more than one component. */
export function meshHealthy(cluster: MeshCluster, min: number, max: number): true | string {
  const graph = trueGraph(cluster);
  const n = graph.size;
  const lo = Math.min(min, n - 1);
  const hi = Math.min(max, n - 1);
  const bad = [...graph].filter(([, peers]) => peers.size < lo || peers.size > hi);
  if (bad.length > 0)
    return `${bad.length} node(s) out of [${lo}, ${hi}] links: ${bad
      .slice(0, 5)
      .map(([id, p]) => `${id}=${p.size}`)
      .join(' ')}`;
  const parts = components(graph);
  if (parts.length > 1) return `${parts.length} components, sizes ${parts.map((c) => c.length).join('/')}`;
  return true;
}

/**
 * true once every up node's picture of its inner neighbourhood (the nodes within
 * advertRadiusHops − 1 of it in the true graph) equals the truth there: the same nodes, the
 * same links among them. In a mesh of diameter < advertRadiusHops that is the whole mesh. (At
 * the very edge of the radius a link may show late: an advert flooded while its origin was
 * farther arrives only once a change or a database sync nearer passes it on.) With
 * `includeStrays`, nothing unreachable (e.g. crashed) may be shown either.
 */
export function viewsAgree(cluster: MeshCluster, includeStrays = false): true | string {
  const truth = trueGraph(cluster);
  const wrong = cluster.upIds().filter((id) => !viewMatches(truth, id, cluster.node(id).overlay.view(), includeStrays));
  return wrong.length === 0 ? true : `${wrong.length} node(s) see another graph, e.g. ${wrong.slice(0, 3).join(', ')}`;
}

/** The view's picture of the true neighbourhood of `self` equals it (see viewsAgree). */
export function viewMatches(
  truth: ReadonlyMap<NodeId, ReadonlySet<NodeId>>,
  self: NodeId,
  view: { graph: ReadonlyMap<NodeId, ReadonlySet<NodeId>>; distance: ReadonlyMap<NodeId, number> },
  includeStrays = false,
): boolean {
  const near = ball(truth, self, advertRadiusHops - 1);
  const restrict = (g: ReadonlyMap<NodeId, ReadonlySet<NodeId>>) =>
    new Map([...near].map((id) => [id, new Set([...(g.get(id) ?? [])].filter((p) => near.has(p)))]));
  if (canonical(restrict(view.graph)) !== canonical(restrict(truth))) return false;
  if (!includeStrays) return true;
  return [...view.graph.keys()].every((node) => view.distance.has(node) || (view.graph.get(node)?.size ?? 0) === 0);
}

/** The nodes within `radius` hops of `self` in `graph`. */
export function ball(graph: ReadonlyMap<NodeId, ReadonlySet<NodeId>>, self: NodeId, radius: number): Set<NodeId> {
  const seen = new Set<NodeId>([self]);
  let frontier = [self];
  for (let hop = 0; hop < radius && frontier.length > 0; hop++) {
    const next: NodeId[] = [];
    for (const u of frontier) {
      for (const v of graph.get(u) ?? []) {
        if (seen.has(v)) continue;
        seen.add(v);
        next.push(v);
      }
    }
    frontier = next;
  }
  return seen;
}

function canonical(graph: ReadonlyMap<NodeId, ReadonlySet<NodeId>>): string {
  return [...graph]
    .filter(([, peers]) => peers.size > 0)
    .map(([id, peers]) => `${id}:${[...peers].sort().join(',')}`)
    .sort()
    .join(';');
}

export function meshDiameter(cluster: MeshCluster): number {
  return diameter(trueGraph(cluster)).diameter;
}

export function meshMetrics(cluster: MeshCluster) {
  return computeMetrics(trueGraph(cluster));
}

/**
 * Adds nodes one by one in a seeded random order and spacing, each told about a random sample
 * of up to 8 nodes already up (what the signaling server's join answer gives).
 */
export function joinInRandomOrder(cluster: MeshCluster, count: number, seed: number, spacingMs: Millis = 200, prefix = 'n'): NodeId[] {
  const rng = createRng(`join/${seed}`);
  const names = rng.shuffle(Array.from({ length: count }, (_, i) => `${prefix}${i}`));
  const ids: NodeId[] = [];
  for (const name of names) {
    const sample = rng.shuffle(cluster.upIds()).slice(0, 8);
    const id = cluster.add(name);
    ids.push(id);
    cluster.act(id, (node, now) => node.learn(now, sample));
    cluster.runFor(Math.floor(spacingMs * (0.5 + rng.next())));
  }
  return ids;
}

export { MeshNode };
