// Which task kinds a node runs, and who in the mesh runs a kind. Kinds are names of kernels the
// app registered on its own nodes (plus the built-ins); no code ever travels. A node tells its
// peers the kinds it runs in its load advert, and stealing, shedding and retries only ever place
// a task on a node that advertises its kind: a thief lists its kinds in its request (the victim
// gives it only those), a shed goes only to targets whose advert names the kind, and a home
// accepts a job only when it or a peer it hears from runs the kind.
import { maxKindsListed, type LoadAdvert } from './messages.ts';

/** Same shape as kinds on the wire (messages.ts). */
const kindPattern = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The kinds a node advertises: well-formed names, each once, sorted (so an unchanged set gives
 * an unchanged advert), at most as many as a message may list. Throws on a malformed name: the
 * runtime checks names before they get here, so one reaching the core is a bug.
 */
export function normaliseKinds(kinds: readonly string[]): string[] {
  for (const kind of kinds) if (!kindPattern.test(kind)) throw new Error(`task kind "${String(kind).slice(0, 40)}" must match ${kindPattern}`);
  const sorted = [...new Set(kinds)].sort();
  if (sorted.length > maxKindsListed) throw new Error(`a node runs at most ${maxKindsListed} task kinds, got ${sorted.length}`);
  return sorted;
}

/** Whether a peer's advert says it runs `kind` (an advert without a list runs nothing we know of). */
export function advertRuns(advert: LoadAdvert, kind: string): boolean {
  return advert.kinds?.includes(kind) ?? false;
}
