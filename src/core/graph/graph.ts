// The one graph shape every metric takes: an undirected adjacency map. Ids are generic so the
// same code measures NodeId meshes in a tab and integer graphs in property tests.
//
// A Graph is expected to be symmetric (b ∈ adj(a) ⇔ a ∈ adj(b)) and free of self-loops;
// `normalizeGraph` makes one so from anything adjacency-shaped (a one-sided claim becomes a
// link, which is what you want for a transport's view; the overlay does its own two-way check
// before it builds a Graph, see src/core/overlay/view.ts).

export type Graph<Id = string> = ReadonlyMap<Id, ReadonlySet<Id>>;

/** A mutable copy that is symmetric and has no self-loops; every endpoint becomes a node. */
export function normalizeGraph<Id>(adjacency: ReadonlyMap<Id, Iterable<Id>>): Map<Id, Set<Id>> {
  const out = new Map<Id, Set<Id>>();
  const ensure = (id: Id): Set<Id> => {
    let set = out.get(id);
    if (!set) out.set(id, (set = new Set()));
    return set;
  };
  for (const [a, peers] of adjacency) {
    ensure(a);
    for (const b of peers) {
      if (b === a) continue;
      ensure(a).add(b);
      ensure(b).add(a);
    }
  }
  return out;
}

/** A graph from a node list and an edge list (nodes may be omitted if they have a link). */
export function graphFromLinks<Id>(links: Iterable<readonly [Id, Id]>, nodes: Iterable<Id> = []): Map<Id, Set<Id>> {
  const adjacency = new Map<Id, Set<Id>>();
  for (const id of nodes) adjacency.set(id, new Set());
  for (const [a, b] of links) {
    if (!adjacency.has(a)) adjacency.set(a, new Set());
    adjacency.get(a)?.add(b);
  }
  return normalizeGraph(adjacency);
}

/** Total order used wherever output must not depend on Map insertion order. */
export function compareIds<Id>(a: Id, b: Id): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Every undirected link once, as [smaller, larger], sorted. O(E log E). */
export function linkList<Id>(graph: Graph<Id>): Array<[Id, Id]> {
  const links: Array<[Id, Id]> = [];
  for (const [a, peers] of graph) {
    for (const b of peers) if (compareIds(a, b) < 0) links.push([a, b]);
  }
  links.sort((x, y) => compareIds(x[0], y[0]) || compareIds(x[1], y[1]));
  return links;
}

export function linkCount<Id>(graph: Graph<Id>): number {
  let ends = 0;
  for (const peers of graph.values()) ends += peers.size;
  return ends / 2;
}

export interface DegreeStats {
  min: number;
  max: number;
  average: number;
}

/** Degree range and mean; all zero for an empty graph. */
export function degreeStats<Id>(graph: Graph<Id>): DegreeStats {
  if (graph.size === 0) return { min: 0, max: 0, average: 0 };
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (const peers of graph.values()) {
    min = Math.min(min, peers.size);
    max = Math.max(max, peers.size);
    sum += peers.size;
  }
  return { min, max, average: sum / graph.size };
}

/** The graph without some nodes (and their links). */
export function withoutNodes<Id>(graph: Graph<Id>, removed: ReadonlySet<Id>): Map<Id, Set<Id>> {
  const out = new Map<Id, Set<Id>>();
  for (const [a, peers] of graph) {
    if (removed.has(a)) continue;
    const kept = new Set<Id>();
    for (const b of peers) if (!removed.has(b)) kept.add(b);
    out.set(a, kept);
  }
  return out;
}
