// Property tests: every fast algorithm agrees with a slow, obviously-right one on small random
// graphs. fast-check prints the seed and the shrunk counterexample on failure.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  averageClustering,
  components,
  computeMetrics,
  cutStructure,
  diameter,
  graphFromLinks,
  vertexConnectivity,
  withoutNodes,
  type Graph,
} from '../../../src/core/graph/index.ts';

const runs = process.env.LONG ? 2_000 : 200;

/** A random simple graph on 1..9 nodes (ids 0..n−1), each pair linked with some density. */
const arbGraph = fc
  .record({
    n: fc.integer({ min: 1, max: 9 }),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })),
  })
  .map(({ n, density, seed }) => {
    const links: Array<[number, number]> = [];
    const it = seed[Symbol.iterator]();
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if ((it.next().value as number) < density) links.push([a, b]);
    return graphFromLinks(
      links,
      Array.from({ length: n }, (_, i) => i),
    );
  });

const componentCount = (g: Graph<number>) => components(g).length;

function allPairsDistances(g: Graph<number>): number[][] {
  const n = g.size;
  const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)));
  for (const [a, peers] of g) for (const b of peers) (d[a] as number[])[b] = 1;
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const via = (d[i] as number[])[k]! + (d[k] as number[])[j]!;
        if (via < (d[i] as number[])[j]!) (d[i] as number[])[j] = via;
      }
  return d;
}

function bruteKappa(g: Graph<number>): number {
  const n = g.size;
  if (n <= 1 || componentCount(g) > 1) return 0;
  const ids = [...g.keys()];
  let best = n - 1;
  for (let mask = 1; mask < 1 << n; mask++) {
    const removed = new Set(ids.filter((_, i) => mask & (1 << i)));
    if (removed.size >= best || removed.size > n - 2) continue;
    if (componentCount(withoutNodes(g, removed)) > 1) best = removed.size;
  }
  return best;
}

describe('graph metrics agree with brute force', () => {
  it('articulation points are exactly the nodes whose removal adds a component', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        const base = componentCount(g);
        const brute = [...g.keys()].filter((u) => componentCount(withoutNodes(g, new Set([u]))) > base - (g.get(u)!.size === 0 ? 1 : 0));
        expect(cutStructure(g).articulationPoints).toEqual(brute.sort((a, b) => a - b));
      }),
      { numRuns: runs },
    );
  });

  it('the pieces left by an articulation point are the component sizes after removing it', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        for (const [p, pieces] of cutStructure(g).pieces) {
          const inComponent = components(g).find((c) => c.includes(p))!;
          const rest = withoutNodes(new Map([...g].filter(([k]) => inComponent.includes(k))), new Set([p]));
          expect(pieces).toEqual(components(rest).map((c) => c.length));
        }
      }),
      { numRuns: runs },
    );
  });

  it('bridges are exactly the links whose removal adds a component', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        const base = componentCount(g);
        const brute: Array<[number, number]> = [];
        for (const [a, peers] of g)
          for (const b of peers) {
            if (a > b) continue;
            const cut = new Map([...g].map(([k, v]) => [k, new Set([...v].filter((x) => !((k === a && x === b) || (k === b && x === a))))]));
            if (componentCount(cut) > base) brute.push([a, b]);
          }
        expect(cutStructure(g).bridges).toEqual(brute.sort((x, y) => x[0] - y[0] || x[1] - y[1]));
      }),
      { numRuns: runs },
    );
  });

  it('diameter equals the largest finite all-pairs distance', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        const d = allPairsDistances(g).flat();
        const finite = d.filter((x) => Number.isFinite(x));
        expect(diameter(g)).toEqual({ diameter: Math.max(0, ...finite), connected: finite.length === d.length });
      }),
      { numRuns: runs },
    );
  });

  it('clustering equals the mean share of linked neighbour pairs', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        let sum = 0;
        for (const peers of g.values()) {
          const list = [...peers];
          const k = list.length;
          if (k < 2) continue;
          let linked = 0;
          for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) if (g.get(list[i]!)!.has(list[j]!)) linked++;
          sum += linked / ((k * (k - 1)) / 2);
        }
        expect(averageClustering(g)).toBeCloseTo(sum / g.size, 10);
      }),
      { numRuns: runs },
    );
  });

  it('κ equals the smallest disconnecting node set, and the reported cut disconnects', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        const c = vertexConnectivity(g);
        expect(c.kappa).toBe(bruteKappa(g));
        expect(c.exact).toBe(true);
        if (c.minCut.length > 0) {
          expect(c.minCut).toHaveLength(c.kappa);
          expect(componentCount(withoutNodes(g, new Set(c.minCut)))).toBeGreaterThan(1);
        }
      }),
      { numRuns: runs },
    );
  });

  it('partition risk is in [0, 1], 1 exactly when disconnected (n ≥ 2), and falls as κ rises', () => {
    fc.assert(
      fc.property(arbGraph, (g) => {
        const m = computeMetrics(g);
        expect(m.partitionRisk).toBeGreaterThanOrEqual(0);
        expect(m.partitionRisk).toBeLessThanOrEqual(1);
        if (m.nodes >= 2 && !m.connected) expect(m.partitionRisk).toBe(1);
        if (m.connected && m.nodes >= 2) expect(m.partitionRisk).toBeLessThanOrEqual((1 / 2 ** m.kappa) * 2);
        if (m.kappa >= 2) expect(m.partitionRisk).toBeLessThanOrEqual(0.25);
      }),
      { numRuns: runs },
    );
  });
});
