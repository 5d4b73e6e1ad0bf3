// A compact array form of a Graph (compressed sparse rows) so that the O(N·E) metrics walk
// typed arrays instead of Maps and Sets: several times faster on the 1,024-node benchmark.
import { compareIds, type Graph } from './graph.ts';

export interface IndexedGraph<Id> {
  /** Node ids in a deterministic order (sorted); position = index. */
  ids: Id[];
  index: Map<Id, number>;
  /** Neighbours of node i are targets[offsets[i] .. offsets[i+1]). */
  offsets: Int32Array;
  targets: Int32Array;
}

/** O(N log N + E). Links to ids that are not keys of the map are ignored. */
export function indexGraph<Id>(graph: Graph<Id>): IndexedGraph<Id> {
  const ids = [...graph.keys()].sort(compareIds);
  const index = new Map<Id, number>();
  ids.forEach((id, i) => index.set(id, i));
  const offsets = new Int32Array(ids.length + 1);
  const list: number[] = [];
  ids.forEach((id, i) => {
    offsets[i] = list.length;
    const peers: number[] = [];
    for (const peer of graph.get(id) ?? []) {
      const j = index.get(peer);
      if (j !== undefined && j !== i) peers.push(j);
    }
    peers.sort((a, b) => a - b);
    list.push(...peers);
  });
  offsets[ids.length] = list.length;
  return { ids, index, offsets, targets: Int32Array.from(list) };
}

/** Hop distances from one node; -1 where unreachable. O(N + E). */
export function bfsDistances(g: IndexedGraph<unknown>, source: number, dist = new Int32Array(g.ids.length), queue = new Int32Array(g.ids.length)): Int32Array {
  dist.fill(-1);
  dist[source] = 0;
  let head = 0;
  let tail = 0;
  queue[tail++] = source;
  while (head < tail) {
    const u = queue[head++] as number;
    const du = dist[u] as number;
    for (let e = g.offsets[u] as number; e < (g.offsets[u + 1] as number); e++) {
      const v = g.targets[e] as number;
      if (dist[v] === -1) {
        dist[v] = du + 1;
        queue[tail++] = v;
      }
    }
  }
  return dist;
}
