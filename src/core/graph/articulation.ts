// Articulation points (nodes whose loss splits their component) and bridges (links whose loss
// does), by Tarjan's low-link DFS in O(N + E). The DFS is iterative so a 4,096-node path does
// not blow the call stack. For every articulation point we also keep the sizes of the pieces
// its removal leaves, which the partition-risk score uses (how many nodes a failure strands).
import { compareIds, type Graph } from './graph.ts';
import { indexGraph, type IndexedGraph } from './indexed.ts';

export interface CutStructure<Id> {
  /** Sorted. */
  articulationPoints: Id[];
  /** Each as [smaller, larger], sorted. */
  bridges: Array<[Id, Id]>;
  /**
   * For each articulation point: the sizes of the pieces its component falls into when it is
   * removed (at least two pieces, summing to that component's size minus one).
   */
  pieces: Map<Id, number[]>;
}

export function cutStructure<Id>(graph: Graph<Id> | IndexedGraph<Id>): CutStructure<Id> {
  const g = 'offsets' in graph ? graph : indexGraph(graph);
  const n = g.ids.length;
  const disc = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const parent = new Int32Array(n).fill(-1);
  const cursor = new Int32Array(n);
  const size = new Int32Array(n);
  const stack = new Int32Array(n);
  const piecesByIndex = new Map<number, number[]>();
  const bridges: Array<[Id, Id]> = [];
  let time = 0;

  for (let root = 0; root < n; root++) {
    if (disc[root] !== -1) continue;
    let top = 0;
    stack[top++] = root;
    disc[root] = low[root] = time++;
    size[root] = 1;
    cursor[root] = g.offsets[root] as number;
    const rootPieces: number[] = [];
    while (top > 0) {
      const u = stack[top - 1] as number;
      const e = cursor[u] as number;
      if (e < (g.offsets[u + 1] as number)) {
        cursor[u] = e + 1;
        const v = g.targets[e] as number;
        if (disc[v] === -1) {
          parent[v] = u;
          disc[v] = low[v] = time++;
          size[v] = 1;
          cursor[v] = g.offsets[v] as number;
          stack[top++] = v;
        } else if (v !== parent[u]) {
          low[u] = Math.min(low[u] as number, disc[v] as number);
        }
        continue;
      }
      top--;
      const p = parent[u] as number;
      if (p === -1) continue;
      low[p] = Math.min(low[p] as number, low[u] as number);
      size[p] = (size[p] as number) + (size[u] as number);
      if ((low[u] as number) > (disc[p] as number)) {
        const a = g.ids[p] as Id;
        const b = g.ids[u] as Id;
        bridges.push(compareIds(a, b) < 0 ? [a, b] : [b, a]);
      }
      if (p === root) {
        rootPieces.push(size[u] as number);
      } else if ((low[u] as number) >= (disc[p] as number)) {
        let list = piecesByIndex.get(p);
        if (!list) piecesByIndex.set(p, (list = []));
        list.push(size[u] as number);
      }
    }
    // A root is an articulation point only with two or more DFS children.
    if (rootPieces.length >= 2) piecesByIndex.set(root, rootPieces);
    else piecesByIndex.delete(root);
    // Non-root points: the part above them in the DFS tree is one more piece.
    const componentSize = size[root] as number;
    for (const [p, list] of piecesByIndex) {
      if (p === root || (disc[p] as number) < (disc[root] as number)) continue;
      const below = list.reduce((s, x) => s + x, 0);
      list.push(componentSize - 1 - below);
    }
  }

  const pieces = new Map<Id, number[]>();
  const points = [...piecesByIndex.keys()].sort((a, b) => a - b);
  for (const p of points)
    pieces.set(
      g.ids[p] as Id,
      (piecesByIndex.get(p) as number[]).sort((a, b) => b - a),
    );
  bridges.sort((x, y) => compareIds(x[0], y[0]) || compareIds(x[1], y[1]));
  return { articulationPoints: points.map((p) => g.ids[p] as Id), bridges, pieces };
}

export function articulationPoints<Id>(graph: Graph<Id>): Id[] {
  return cutStructure(graph).articulationPoints;
}

export function bridges<Id>(graph: Graph<Id>): Array<[Id, Id]> {
  return cutStructure(graph).bridges;
}

/**
 * Labels of the 2-edge-connected components (what is left connected after removing every
 * bridge): two nodes with different labels are joined only through some bridge. O(N + E).
 */
export function twoEdgeComponentLabels<Id>(graph: Graph<Id>): Map<Id, number> {
  const cut = new Set(cutStructure(graph).bridges.map(([a, b]) => `${String(a)}\u0000${String(b)}`));
  const isBridge = (a: Id, b: Id): boolean => cut.has(`${String(a)}\u0000${String(b)}`) || cut.has(`${String(b)}\u0000${String(a)}`);
  const label = new Map<Id, number>();
  let next = 0;
  for (const start of graph.keys()) {
    if (label.has(start)) continue;
    const queue: Id[] = [start];
    label.set(start, next);
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head] as Id;
      for (const v of graph.get(u) ?? []) {
        if (label.has(v) || isBridge(u, v)) continue;
        label.set(v, next);
        queue.push(v);
      }
    }
    next++;
  }
  return label;
}
