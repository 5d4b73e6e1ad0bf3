// Average local clustering coefficient (Watts–Strogatz): for each node, the share of pairs of
// its neighbours that are themselves linked; nodes with fewer than two neighbours count as 0
// (the networkx convention), and the mean is over all nodes. 1 for a full mesh; about
// (d−1)/N for a random d-regular graph, which is what a well-spread overlay should approach:
// high clustering means links wasted inside cliques instead of bridging distant parts.
import type { Graph } from './graph.ts';
import { indexGraph, type IndexedGraph } from './indexed.ts';

/** Local coefficient of every node, by index of `g.ids`. O(Σ deg²) with a mark array. */
export function localClustering(g: IndexedGraph<unknown>): Float64Array {
  const n = g.ids.length;
  const out = new Float64Array(n);
  const mark = new Int32Array(n).fill(-1);
  for (let u = 0; u < n; u++) {
    const start = g.offsets[u] as number;
    const end = g.offsets[u + 1] as number;
    const k = end - start;
    if (k < 2) continue;
    for (let e = start; e < end; e++) mark[g.targets[e] as number] = u;
    let linkedPairs = 0;
    for (let e = start; e < end; e++) {
      const v = g.targets[e] as number;
      for (let f = g.offsets[v] as number; f < (g.offsets[v + 1] as number); f++) {
        if (mark[g.targets[f] as number] === u) linkedPairs++;
      }
    }
    // Each linked pair was seen from both ends.
    out[u] = linkedPairs / (k * (k - 1));
  }
  return out;
}

/** Mean local clustering coefficient in [0, 1]; 0 for an empty graph. */
export function averageClustering<Id>(graph: Graph<Id> | IndexedGraph<Id>): number {
  const g = 'offsets' in graph ? graph : indexGraph(graph);
  if (g.ids.length === 0) return 0;
  let sum = 0;
  for (const c of localClustering(g)) sum += c;
  return sum / g.ids.length;
}
