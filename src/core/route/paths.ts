// Shortest-path trees over the known mesh, by hop count (BFS) or by round-trip time (Dijkstra),
// optionally avoiding some nodes. The router keeps one tree per topology version and falls back
// to a tree that avoids a message's path only when the cached route would revisit it.
import type { Graph } from '../graph/graph.ts';
import type { NodeId } from '../types.ts';

/** Each reached node → its parent on a shortest path from the source (the source maps to itself). */
export type PathTree = Map<NodeId, NodeId>;

/** Link cost for the RTT metric: `rttMs` when known, else this; plus a per-hop cost. */
export const unknownRttMs = 50;
export const perHopCostMs = 5;

export function hopTree(graph: Graph<NodeId>, source: NodeId, avoid?: ReadonlySet<NodeId>): PathTree {
  const parent: PathTree = new Map([[source, source]]);
  const queue: NodeId[] = [source];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as NodeId;
    for (const v of graph.get(u) ?? []) {
      if (parent.has(v) || avoid?.has(v)) continue;
      parent.set(v, u);
      queue.push(v);
    }
  }
  return parent;
}

/** Dijkstra with a binary heap: O((N + E) log N). */
export function rttTree(graph: Graph<NodeId>, source: NodeId, rttMs: (a: NodeId, b: NodeId) => number | undefined, avoid?: ReadonlySet<NodeId>): PathTree {
  const parent: PathTree = new Map([[source, source]]);
  const dist = new Map<NodeId, number>([[source, 0]]);
  const done = new Set<NodeId>();
  const heap: Array<[number, NodeId]> = [[0, source]];
  const push = (item: [number, NodeId]): void => {
    heap.push(item);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if ((heap[p] as [number, NodeId])[0] <= item[0]) break;
      heap[i] = heap[p] as [number, NodeId];
      heap[p] = item;
      i = p;
    }
  };
  const pop = (): [number, NodeId] | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && (heap[l] as [number, NodeId])[0] < (heap[m] as [number, NodeId])[0]) m = l;
        if (r < heap.length && (heap[r] as [number, NodeId])[0] < (heap[m] as [number, NodeId])[0]) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as [number, NodeId], heap[i] as [number, NodeId]];
        i = m;
      }
    }
    return top;
  };
  for (let item = pop(); item; item = pop()) {
    const [d, u] = item;
    if (done.has(u)) continue;
    done.add(u);
    for (const v of graph.get(u) ?? []) {
      if (done.has(v) || avoid?.has(v)) continue;
      const cost = d + (rttMs(u, v) ?? rttMs(v, u) ?? unknownRttMs) + perHopCostMs;
      if (cost < (dist.get(v) ?? Infinity)) {
        dist.set(v, cost);
        parent.set(v, u);
        push([cost, v]);
      }
    }
  }
  return parent;
}

/** The path source → dest from a tree (source first), or null if dest was not reached. */
export function pathTo(tree: PathTree, dest: NodeId): NodeId[] | null {
  if (!tree.has(dest)) return null;
  const path: NodeId[] = [dest];
  for (let u = dest; tree.get(u) !== u;) {
    u = tree.get(u) as NodeId;
    path.push(u);
  }
  return path.reverse();
}
