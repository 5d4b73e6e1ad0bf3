// Vertex connectivity κ (the fewest nodes whose failure disconnects the rest) and one minimum
// vertex cut, by unit-capacity max-flow on the split graph (each node u becomes u_in → u_out
// with capacity 1, each link becomes u_out → v_in and v_out → u_in).
//
// Which pairs to try (Esfahanian–Hakimi, as in networkx's node_connectivity): take a node v of
// minimum degree δ; then κ = min(δ, κ(v, w) for every w not adjacent to v, κ(x, y) for every
// non-adjacent pair x, y of v's neighbours). Each flow stops as soon as it reaches the best
// value found so far (it cannot improve on it), so on a mesh of degree ≤ 5 a flow costs at most
// six BFS passes over the 2N + 4E arcs.
//
// Cost: O((N + δ²) · δ · (N + E)). Exact up to `maxConnectivityFlows` pairs; beyond that the
// non-neighbours w are sampled evenly in id order (deterministically) and the result is an
// upper bound on κ, flagged `exact: false`. Shortcuts that need no flow at all: a disconnected
// graph has κ = 0, a graph with an articulation point has κ = 1, a full mesh K_n has κ = n − 1.
import type { Graph } from './graph.ts';
import { indexGraph, type IndexedGraph } from './indexed.ts';
import { cutStructure } from './articulation.ts';
import { components } from './distance.ts';

/**
 * Most s–t max-flows one κ computation runs (≈ 0.1 s for a 1,024-node degree-4 mesh in
 * Node 20); above it, pairs are sampled and κ becomes an upper bound.
 */
export const maxConnectivityFlows = 1_200;

export interface Connectivity<Id> {
  /** Vertex connectivity; κ(K_n) = n − 1 and κ = 0 for 0 or 1 node or a disconnected graph. */
  kappa: number;
  /**
   * A smallest set of nodes whose removal disconnects the rest, sorted; empty when the graph is
   * already disconnected or is a full mesh (no vertex cut exists in K_n).
   */
  minCut: Id[];
  /** False when pairs were sampled (more than maxConnectivityFlows); κ is then an upper bound. */
  exact: boolean;
}

interface FlowNetwork {
  head: Int32Array;
  next: Int32Array;
  to: Int32Array;
  cap: Int32Array;
  baseCap: Int32Array;
}

function buildSplitNetwork(g: IndexedGraph<unknown>): FlowNetwork {
  const n = g.ids.length;
  const arcCount = 2 * (n + g.targets.length);
  const head = new Int32Array(2 * n).fill(-1);
  const next = new Int32Array(arcCount);
  const to = new Int32Array(arcCount);
  const cap = new Int32Array(arcCount);
  let m = 0;
  const addArc = (from: number, target: number, capacity: number): void => {
    to[m] = target;
    cap[m] = capacity;
    next[m] = head[from] as number;
    head[from] = m++;
    to[m] = from;
    cap[m] = 0;
    next[m] = head[target] as number;
    head[target] = m++;
  };
  // Node u: in = 2u, out = 2u + 1. A capacity of n never limits a flow (at most n − 2 paths).
  for (let u = 0; u < n; u++) addArc(2 * u, 2 * u + 1, 1);
  for (let u = 0; u < n; u++) {
    for (let e = g.offsets[u] as number; e < (g.offsets[u + 1] as number); e++) addArc(2 * u + 1, 2 * (g.targets[e] as number), n);
  }
  return { head, next, to, cap, baseCap: cap.slice() };
}

/**
 * Number of internally node-disjoint s–t paths, stopping at `bound`; when the answer is below
 * the bound, also the nodes of a minimum s–t vertex cut (by index).
 */
function localConnectivity(net: FlowNetwork, s: number, t: number, bound: number): { flow: number; cut: number[] | null } {
  const nodes = net.head.length;
  const { head, next, to, cap } = net;
  const via = new Int32Array(nodes);
  const seen = new Uint8Array(nodes);
  const queue = new Int32Array(nodes);
  const touched: number[] = [];
  const source = 2 * s + 1;
  const sink = 2 * t;
  let flow = 0;
  let cut: number[] | null = null;
  for (;;) {
    if (flow >= bound) break;
    seen.fill(0);
    let qh = 0;
    let qt = 0;
    queue[qt++] = source;
    seen[source] = 1;
    while (qh < qt && !seen[sink]) {
      const x = queue[qh++] as number;
      for (let a = head[x] as number; a !== -1; a = next[a] as number) {
        const y = to[a] as number;
        if (!seen[y] && (cap[a] as number) > 0) {
          seen[y] = 1;
          via[y] = a;
          queue[qt++] = y;
        }
      }
    }
    if (!seen[sink]) {
      // Saturated internal arcs crossing from the reachable side are the cut nodes.
      cut = [];
      for (let u = 0; u < nodes / 2; u++) if (seen[2 * u] && !seen[2 * u + 1]) cut.push(u);
      break;
    }
    for (let y = sink; y !== source;) {
      const a = via[y] as number;
      cap[a] = (cap[a] as number) - 1;
      cap[a ^ 1] = (cap[a ^ 1] as number) + 1;
      touched.push(a);
      y = to[a ^ 1] as number;
    }
    flow++;
  }
  for (const a of touched) {
    cap[a] = net.baseCap[a] as number;
    cap[a ^ 1] = net.baseCap[a ^ 1] as number;
  }
  return { flow, cut };
}

export function vertexConnectivity<Id>(graph: Graph<Id> | IndexedGraph<Id>): Connectivity<Id> {
  const g = 'offsets' in graph ? graph : indexGraph(graph);
  const n = g.ids.length;
  const degree = (u: number): number => (g.offsets[u + 1] as number) - (g.offsets[u] as number);
  if (n <= 1 || components(g).length > 1) return { kappa: 0, minCut: [], exact: true };
  if (g.targets.length === n * (n - 1)) return { kappa: n - 1, minCut: [], exact: true };
  const cuts = cutStructure(g);
  if (cuts.articulationPoints.length > 0) {
    // The point that strands the most nodes is the most telling single cut.
    let worst = cuts.articulationPoints[0] as Id;
    let worstStranded = -1;
    for (const [p, pieces] of cuts.pieces) {
      const stranded = pieces.slice(1).reduce((s, x) => s + x, 0);
      if (stranded > worstStranded) [worst, worstStranded] = [p, stranded];
    }
    return { kappa: 1, minCut: [worst], exact: true };
  }

  let v = 0;
  for (let u = 1; u < n; u++) if (degree(u) < degree(v)) v = u;
  const adjacent = (a: number, b: number): boolean => {
    for (let e = g.offsets[a] as number; e < (g.offsets[a + 1] as number); e++) if (g.targets[e] === b) return true;
    return false;
  };
  let best = degree(v);
  let bestCut: number[] = Array.from(g.targets.subarray(g.offsets[v] as number, g.offsets[v + 1] as number));

  const pairs: Array<[number, number]> = [];
  const neighbours = Array.from(g.targets.subarray(g.offsets[v] as number, g.offsets[v + 1] as number));
  for (let i = 0; i < neighbours.length; i++) {
    for (let j = i + 1; j < neighbours.length; j++) {
      const x = neighbours[i] as number;
      const y = neighbours[j] as number;
      if (!adjacent(x, y)) pairs.push([x, y]);
    }
  }
  const farTargets: number[] = [];
  for (let w = 0; w < n; w++) if (w !== v && !adjacent(v, w)) farTargets.push(w);
  let exact = true;
  const room = Math.max(1, maxConnectivityFlows - pairs.length);
  let sampled = farTargets;
  if (farTargets.length > room) {
    exact = false;
    const stride = farTargets.length / room;
    sampled = [];
    for (let k = 0; k < room; k++) sampled.push(farTargets[Math.floor(k * stride)] as number);
  }
  for (const w of sampled) pairs.push([v, w]);

  const net = buildSplitNetwork(g);
  for (const [s, t] of pairs) {
    const { flow, cut } = localConnectivity(net, s, t, best);
    if (flow < best && cut) {
      best = flow;
      bestCut = cut;
    }
    if (best <= 1) break;
  }
  // Indices follow sorted id order, so sorting them sorts the ids.
  return { kappa: best, minCut: bestCut.sort((a, b) => a - b).map((u) => g.ids[u] as Id), exact };
}
