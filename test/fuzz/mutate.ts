// Mutations of valid input for the fuzzers: take a real message (captured from running nodes,
// or a hand-made valid one) and break it in the ways a buggy or hostile peer would — a field
// replaced by something random, removed, retyped or pushed to an edge value, an extra field,
// a wrapped value — so the decoders see input that is almost right, where bugs hide. Plain
// random input (fc.anything) alone rarely gets past the first `type` check.
import fc from 'fast-check';

type Path = Array<string | number>;

const edgeValues: unknown[] = [
  null,
  -1,
  0,
  0.5,
  -0,
  2 ** 53 + 1,
  1e308,
  '',
  'x'.repeat(5_000),
  '__proto__',
  'constructor',
  true,
  [],
  {},
  [[[[[]]]]],
  { __proto__: { polluted: true } },
];

const mutationArb = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'add-key', 'edge', 'retype', 'wrap', 'duplicate-into'),
  random: fc.oneof(fc.anything({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })),
  edge: fc.constantFrom(...edgeValues),
  key: fc.oneof(fc.constantFrom('type', 'sig', 'from', 'to', 'seq', 'id', 'm', 'g', '__proto__', 'extra'), fc.string({ maxLength: 8 })),
});

/** A seed value broken by one to three mutations (or, now and then, left intact). */
export function mutant(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  if (seeds.length === 0) throw new Error('mutant() needs at least one valid seed');
  return fc.record({ seed: fc.nat({ max: seeds.length - 1 }), mutations: fc.array(mutationArb, { minLength: 0, maxLength: 3 }) }).map(({ seed, mutations }) => {
    let value = structuredClone(seeds[seed]);
    for (const m of mutations) value = mutate(value, m);
    return value;
  });
}

function mutate(root: unknown, m: { at: number; op: string; random: unknown; edge: unknown; key: string }): unknown {
  const paths = pathsOf(root);
  const path = paths[m.at % paths.length] as Path;
  const current = get(root, path);
  let next: unknown;
  switch (m.op) {
    case 'replace':
      next = m.random;
      break;
    case 'edge':
      next = structuredClone(m.edge);
      break;
    case 'retype':
      next =
        typeof current === 'string'
          ? Number(current.length)
          : typeof current === 'number'
            ? String(current)
            : current === null
              ? 'null'
              : JSON.stringify(current);
      break;
    case 'wrap':
      next = [current];
      break;
    case 'add-key':
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return root;
      next = { ...current, [m.key]: m.random };
      break;
    case 'duplicate-into':
      // A value from elsewhere in the message, where a field of another type is expected.
      next = structuredClone(get(root, paths[(m.at * 7 + 3) % paths.length] as Path));
      break;
    case 'delete':
      if (path.length === 0) return undefined;
      return remove(root, path);
    default:
      return root;
  }
  return set(root, path, next);
}

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = [], depth = 0): Path[] {
  out.push(prefix);
  if (depth > 6 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) value.slice(0, 8).forEach((item, i) => pathsOf(item, [...prefix, i], out, depth + 1));
  else for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out, depth + 1);
  return out;
}

function get(value: unknown, path: Path): unknown {
  let cur = value;
  for (const key of path) cur = (cur as Record<string | number, unknown>)[key];
  return cur;
}

function set(root: unknown, path: Path, next: unknown): unknown {
  if (path.length === 0) return next;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, unknown>;
  Object.defineProperty(parent, path[path.length - 1] as string | number, { value: next, enumerable: true, writable: true, configurable: true });
  return root;
}

function remove(root: unknown, path: Path): unknown {
  const parent = get(root, path.slice(0, -1));
  const key = path[path.length - 1] as string | number;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete (parent as Record<string | number, unknown>)[key];
  return root;
}

/** Byte-level damage to an encoded frame: flipped bytes, a cut, a splice of garbage. */
export const damagedBytes = (bytes: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const copy = bytes.slice();
      for (const [at, byte] of flips) if (copy.length > 0) copy[at % copy.length] = byte;
      return copy;
    }),
    fc.nat().map((cut) => bytes.slice(0, bytes.length === 0 ? 0 : cut % bytes.length)),
    fc.uint8Array({ maxLength: 64 }).map((junk) => {
      const out = new Uint8Array(bytes.length + junk.length);
      out.set(bytes.slice(0, bytes.length >> 1));
      out.set(junk, bytes.length >> 1);
      out.set(bytes.slice(bytes.length >> 1), (bytes.length >> 1) + junk.length);
      return out;
    }),
  );
