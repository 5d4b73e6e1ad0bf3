// Metrics on graphs whose answers are textbook facts.
import { describe, expect, it } from 'vitest';
import {
  computeMetrics,
  faultTolerance,
  graphFromLinks,
  meshTopologyBlock,
  networkMetrics,
  normalizeGraph,
  snapshotTopology,
  vertexConnectivity,
  withoutNodes,
  isConnected,
} from '../../../src/core/graph/index.ts';

const path = (n: number) =>
  graphFromLinks(
    Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]),
    [0],
  );
const cycle = (n: number) => graphFromLinks(Array.from({ length: n }, (_, i) => [i, (i + 1) % n] as [number, number]));
const complete = (n: number) => {
  const links: Array<[number, number]> = [];
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) links.push([a, b]);
  return graphFromLinks(links, [0]);
};
const star = (leaves: number) => graphFromLinks(Array.from({ length: leaves }, (_, i) => [0, i + 1] as [number, number]));
const petersen = () =>
  graphFromLinks([
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
    [4, 0],
    [5, 7],
    [7, 9],
    [9, 6],
    [6, 8],
    [8, 5],
    [0, 5],
    [1, 6],
    [2, 7],
    [3, 8],
    [4, 9],
  ] as Array<[number, number]>);
const hypercube = (dim: number) => {
  const links: Array<[number, number]> = [];
  for (let u = 0; u < 1 << dim; u++) for (let b = 0; b < dim; b++) if ((u ^ (1 << b)) > u) links.push([u, u ^ (1 << b)]);
  return graphFromLinks(links);
};

describe('graph metrics on known graphs', () => {
  it('path of 5: diameter 4, inner nodes are articulation points, κ = 1', () => {
    const m = computeMetrics(path(5));
    expect(m).toMatchObject({ nodes: 5, links: 4, diameter: 4, connected: true, clustering: 0, kappa: 1 });
    expect(m.articulationPoints).toEqual([1, 2, 3]);
    // Losing the middle node strands 2 of the other 4 nodes: (1 + 0.5) / 2.
    expect(m.partitionRisk).toBeCloseTo(0.75);
  });

  it('cycle of 8: κ = 2, diameter 4, no articulation point', () => {
    const m = computeMetrics(cycle(8));
    expect(m).toMatchObject({ diameter: 4, kappa: 2, articulationPoints: [], clustering: 0, averageDegree: 2 });
    expect(m.partitionRisk).toBeCloseTo(0.25);
    expect(m.minVertexCut).toHaveLength(2);
    expect(isConnected(withoutNodes(cycle(8), new Set(m.minVertexCut)))).toBe(false);
  });

  it('full mesh of 6: κ = 5, clustering 1, diameter 1, no vertex cut', () => {
    const m = computeMetrics(complete(6));
    expect(m).toMatchObject({ diameter: 1, kappa: 5, clustering: 1, minVertexCut: [], links: 15 });
    expect(faultTolerance(m)).toEqual({
      max_failures_tolerated: 4,
      graph_failures_tolerated: 4,
      consensus_failures_tolerated: null,
      network_partition_risk: 0.0313,
      redundancy_level: 'high',
    });
  });

  it('the room tolerates the least of the graph’s κ − 1 and consensus’s f', () => {
    // Four tabs in a full mesh: the links survive 2 failures, 4 replicas only f = 1.
    const four = computeMetrics(complete(4));
    expect(faultTolerance(four, 1)).toMatchObject({ max_failures_tolerated: 1, graph_failures_tolerated: 2, consensus_failures_tolerated: 1 });
    // Three replicas tolerate none: the room says 0 however well linked.
    expect(faultTolerance(computeMetrics(complete(3)), 0).max_failures_tolerated).toBe(0);
    // A ring of 16 replicas (f = 5) is held back by its links (κ − 1 = 1).
    expect(faultTolerance(computeMetrics(cycle(16)), 5)).toMatchObject({
      max_failures_tolerated: 1,
      graph_failures_tolerated: 1,
      consensus_failures_tolerated: 5,
    });
    // No consensus yet: the graph's figure alone, and the block says so.
    expect(meshTopologyBlock(four).fault_tolerance).toMatchObject({ max_failures_tolerated: 2, consensus_failures_tolerated: null });
    expect(meshTopologyBlock(four, 1).fault_tolerance.max_failures_tolerated).toBe(1);
  });

  it('star: the hub strands almost everyone, risk near 1', () => {
    const m = computeMetrics(star(9));
    expect(m.articulationPoints).toEqual([0]);
    expect(m.kappa).toBe(1);
    expect(m.partitionRisk).toBeCloseTo((1 + 8 / 9) / 2);
    expect(faultTolerance(m).redundancy_level).toBe('low');
  });

  it('Petersen graph: 3-regular, κ = 3, diameter 2, no triangles', () => {
    const m = computeMetrics(petersen());
    expect(m).toMatchObject({ nodes: 10, links: 15, diameter: 2, kappa: 3, clustering: 0, kappaExact: true });
    expect(m.minVertexCut).toHaveLength(3);
    expect(faultTolerance(m)).toMatchObject({ max_failures_tolerated: 2, redundancy_level: 'high' });
  });

  it('hypercube Q6: κ = 6, diameter 6', () => {
    const m = computeMetrics(hypercube(6));
    expect(m).toMatchObject({ nodes: 64, diameter: 6, kappa: 6, minDegree: 6, maxDegree: 6 });
  });
});

describe('graph metrics on degenerate graphs, and what they fill', () => {
  it('disconnected graph: risk 1, κ 0, diameter of the largest component', () => {
    const g = graphFromLinks<number>([
      [0, 1],
      [1, 2],
      [3, 4],
    ]);
    const m = computeMetrics(g);
    expect(m).toMatchObject({ connected: false, componentCount: 2, kappa: 0, partitionRisk: 1, diameter: 2 });
    expect(faultTolerance(m)).toEqual({
      max_failures_tolerated: 0,
      graph_failures_tolerated: 0,
      consensus_failures_tolerated: null,
      network_partition_risk: 1,
      redundancy_level: 'low',
    });
  });

  it('empty and single-node graphs have zero risk and zero sizes', () => {
    expect(computeMetrics(new Map())).toMatchObject({ nodes: 0, links: 0, diameter: 0, partitionRisk: 0, kappa: 0 });
    expect(computeMetrics(normalizeGraph(new Map([['a', []]])))).toMatchObject({ nodes: 1, partitionRisk: 0, connected: true });
  });

  it('K2: κ = 1 without an articulation point', () => {
    expect(computeMetrics(complete(2))).toMatchObject({ kappa: 1, articulationPoints: [], partitionRisk: 0.5 });
  });

  it('two cliques joined by two links through different nodes: κ = 2', () => {
    const links: Array<[string, string]> = [];
    for (const side of ['a', 'b']) for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) links.push([`${side}${i}`, `${side}${j}`]);
    links.push(['a0', 'b0'], ['a1', 'b1']);
    const c = vertexConnectivity(graphFromLinks(links));
    expect(c.kappa).toBe(2);
    expect(c.minCut).toHaveLength(2);
  });

  it('fills the status-record blocks and the UI snapshot', () => {
    const g = graphFromLinks<string>([
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
      ['c', 'd'],
    ]);
    const m = computeMetrics(g);
    expect(networkMetrics(m)).toEqual({ active_connections: 4, average_connectivity: 2, network_diameter: 2, clustering_coefficient: 0.5833 });
    expect(meshTopologyBlock(m)).toEqual({
      total_active_nodes: 4,
      network_metrics: networkMetrics(m),
      fault_tolerance: {
        max_failures_tolerated: 0,
        graph_failures_tolerated: 0,
        consensus_failures_tolerated: null,
        network_partition_risk: 0.6667,
        redundancy_level: 'low',
      },
    });
    const snap = snapshotTopology(g, m, (a, b) => (a === 'a' && b === 'b' ? 12 : null));
    expect(snap).toEqual({
      nodes: ['a', 'b', 'c', 'd'],
      links: [
        ['a', 'b'],
        ['a', 'c'],
        ['b', 'c'],
        ['c', 'd'],
      ],
      diameter: 2,
      avgDegree: 2,
      clustering: 0.5833,
      articulationPoints: ['c'],
      partitionRisk: 0.6667,
      linkRttMs: [12, null, null, null],
    });
  });

  it('normalizeGraph makes one-sided claims symmetric and drops self-loops', () => {
    const g = normalizeGraph(
      new Map([
        ['a', ['b', 'a']],
        ['c', []],
      ]),
    );
    expect([...g.entries()].map(([k, v]) => [k, [...v]])).toEqual([
      ['a', ['b']],
      ['b', ['a']],
      ['c', []],
    ]);
  });
});
