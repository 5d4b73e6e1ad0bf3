// Everything the status record and the UI say about the shape of the mesh, from one adjacency
// map: sizes, degree, diameter, clustering, articulation points, vertex connectivity, and the
// partition-risk score defined below. Pure; cost dominated by the exact diameter and κ
// (see distance.ts and connectivity.ts): ~0.2 s for a 1,024-node mesh, milliseconds for the
// handful of tabs of a demo. Runtimes should recompute on topology change, throttled.
import { linkCount, linkList, type Graph } from './graph.ts';
import { indexGraph } from './indexed.ts';
import { components, diameter as diameterOf } from './distance.ts';
import { averageClustering } from './clustering.ts';
import { cutStructure } from './articulation.ts';
import { vertexConnectivity } from './connectivity.ts';

export interface GraphMetrics<Id = string> {
  nodes: number;
  links: number;
  averageDegree: number;
  minDegree: number;
  maxDegree: number;
  /** See DiameterResult: largest component diameter when disconnected. */
  diameter: number;
  connected: boolean;
  componentCount: number;
  clustering: number;
  articulationPoints: Id[];
  /** Vertex connectivity κ (upper bound when `kappaExact` is false). */
  kappa: number;
  kappaExact: boolean;
  /** One smallest set of nodes whose loss disconnects the rest (empty if none exists). */
  minVertexCut: Id[];
  /** In [0, 1]; see partitionRisk. */
  partitionRisk: number;
}

/**
 * Partition risk in [0, 1]: how close the mesh is to splitting.
 *
 *   0                       for 0 or 1 node (nothing to split);
 *   1                       if the graph is already disconnected;
 *   min(1, (1 + s) / 2^κ)   otherwise, where κ is the vertex connectivity and
 *   s = max over articulation points a of (n − 1 − |largest piece of G − a|) / (n − 1),
 *       the largest share of the other nodes one single failure would strand (0 when κ ≥ 2).
 *
 * So each extra node-disjoint path halves the risk (κ = 2 → 0.25, κ = 3 → 0.125, κ = 4 →
 * 0.0625, a 3..5-link overlay usually sits at κ = 3 or 4), a graph with a cut node scores
 * between 0.5 and 1 depending on how much of the mesh that node holds up (a star scores near
 * 1, a node hanging off a robust mesh by one link scores barely above 0.5), and K_2 scores 0.5.
 * When κ is sampled (over maxConnectivityFlows pairs) it is an upper bound, so the score is
 * then a lower bound.
 */
export function partitionRisk(nodes: number, connected: boolean, kappa: number, strandedShare: number): number {
  if (nodes <= 1) return 0;
  if (!connected) return 1;
  return Math.min(1, (1 + strandedShare) / 2 ** kappa);
}

export function computeMetrics<Id>(graph: Graph<Id>): GraphMetrics<Id> {
  const g = indexGraph(graph);
  const n = g.ids.length;
  let minDegree = n === 0 ? 0 : Infinity;
  let maxDegree = 0;
  for (let u = 0; u < n; u++) {
    const d = (g.offsets[u + 1] as number) - (g.offsets[u] as number);
    minDegree = Math.min(minDegree, d);
    maxDegree = Math.max(maxDegree, d);
  }
  const links = linkCount(graph);
  const { diameter, connected } = diameterOf(g);
  const cuts = cutStructure(g);
  const connectivity = vertexConnectivity(g);
  let stranded = 0;
  if (connected && n > 1) {
    for (const pieces of cuts.pieces.values()) {
      stranded = Math.max(stranded, pieces.slice(1).reduce((s, x) => s + x, 0) / (n - 1));
    }
  }
  return {
    nodes: n,
    links,
    averageDegree: n === 0 ? 0 : (2 * links) / n,
    minDegree,
    maxDegree,
    diameter,
    connected,
    componentCount: components(g).length,
    clustering: averageClustering(g),
    articulationPoints: cuts.articulationPoints,
    kappa: connectivity.kappa,
    kappaExact: connectivity.exact,
    minVertexCut: connectivity.minCut,
    partitionRisk: partitionRisk(n, connected, connectivity.kappa, stranded),
  };
}

export type RedundancyLevel = 'low' | 'medium' | 'high';

/** The `fault_tolerance` block of `swarm/mesh/topology` (docs/reference.md, "Mesh topology"). */
export interface FaultTolerance {
  /**
   * Node failures the whole room survives with every service working: the least of what the
   * link graph survives (κ − 1) and what consensus survives (f), when consensus runs.
   */
  max_failures_tolerated: number;
  /** κ − 1: any this many node failures leave the rest connected (0 when κ ≤ 1). */
  graph_failures_tolerated: number;
  /** Consensus's f (faulty replicas it stays safe and live with); null where no consensus runs yet. */
  consensus_failures_tolerated: number | null;
  network_partition_risk: number;
  /** κ ≤ 1 → 'low' (one failure can split it), κ = 2 → 'medium', κ ≥ 3 → 'high'. */
  redundancy_level: RedundancyLevel;
}

/**
 * The room's fault tolerance: the graph's κ − 1, and with `consensusF` (the replica set's f) the
 * least of the two. A 4-node full mesh has κ = 3 (2 failures leave it connected) but its
 * consensus of 4 replicas survives only f = 1: the room tolerates 1.
 */
export function faultTolerance(m: Pick<GraphMetrics<unknown>, 'kappa' | 'partitionRisk'>, consensusF: number | null = null): FaultTolerance {
  const graph = Math.max(0, m.kappa - 1);
  const consensus = consensusF === null ? null : Math.max(0, Math.floor(consensusF));
  return {
    max_failures_tolerated: consensus === null ? graph : Math.min(graph, consensus),
    graph_failures_tolerated: graph,
    consensus_failures_tolerated: consensus,
    network_partition_risk: round(m.partitionRisk, 4),
    redundancy_level: m.kappa <= 1 ? 'low' : m.kappa === 2 ? 'medium' : 'high',
  };
}

/** The `network_metrics` block of `swarm/mesh/topology`. */
export interface NetworkMetrics {
  /** Links in the whole known mesh (each undirected link once). */
  active_connections: number;
  /** Mean number of links per node. */
  average_connectivity: number;
  network_diameter: number;
  clustering_coefficient: number;
}

export function networkMetrics(m: Pick<GraphMetrics<unknown>, 'links' | 'averageDegree' | 'diameter' | 'clustering'>): NetworkMetrics {
  return {
    active_connections: m.links,
    average_connectivity: round(m.averageDegree, 3),
    network_diameter: m.diameter,
    clustering_coefficient: round(m.clustering, 4),
  };
}

/** The `mesh_topology` block of `swarm/mesh/topology` (docs/reference.md, "Mesh topology"). */
export interface MeshTopologyBlock {
  total_active_nodes: number;
  network_metrics: NetworkMetrics;
  fault_tolerance: FaultTolerance;
}

/** The block for the metrics of the link graph and, where consensus runs, its f (see faultTolerance). */
export function meshTopologyBlock(m: GraphMetrics<unknown>, consensusF: number | null = null): MeshTopologyBlock {
  return { total_active_nodes: m.nodes, network_metrics: networkMetrics(m), fault_tolerance: faultTolerance(m, consensusF) };
}

/** What `window.tabmesh.snapshot().topology` carries (issue 4, item 5). */
export interface TopologySnapshot<Id = string> {
  nodes: Id[];
  links: Array<[Id, Id]>;
  diameter: number;
  avgDegree: number;
  clustering: number;
  articulationPoints: Id[];
  partitionRisk: number;
  /** Round-trip time per entry of `links` (same order), null where unknown. */
  linkRttMs?: Array<number | null>;
}

/**
 * The UI's view of the mesh. `metrics` may be passed when already computed for the same graph;
 * `rttMs(a, b)` adds per-link round-trip times when the caller knows them.
 */
export function snapshotTopology<Id>(
  graph: Graph<Id>,
  metrics: GraphMetrics<Id> = computeMetrics(graph),
  rttMs?: (a: Id, b: Id) => number | null,
): TopologySnapshot<Id> {
  const links = linkList(graph);
  const nodes = indexGraph(graph).ids;
  const snapshot: TopologySnapshot<Id> = {
    nodes,
    links,
    diameter: metrics.diameter,
    avgDegree: round(metrics.averageDegree, 3),
    clustering: round(metrics.clustering, 4),
    articulationPoints: metrics.articulationPoints,
    partitionRisk: round(metrics.partitionRisk, 4),
  };
  if (rttMs) snapshot.linkRttMs = links.map(([a, b]) => rttMs(a, b));
  return snapshot;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
