// The kinds shipped with the app, and a registry that holds them. Every node builds its
// registry the same way, so a kind named in a task is one every node knows.
import { mandelbrotKind } from './mandelbrot.ts';
import { monteCarloPiKind } from './monte-carlo-pi.ts';
import { primesKind } from './primes.ts';
import { proofOfWorkKind } from './proof-of-work.ts';
import { KindRegistry } from './registry.ts';

export { builtinKindNames } from './builtin-names.ts';

/** A registry with the four built-in kinds; call `registerKind` on it to add the app's own. */
export function createKindRegistry(): KindRegistry {
  const registry = new KindRegistry();
  registry.registerKind(mandelbrotKind);
  registry.registerKind(primesKind);
  registry.registerKind(monteCarloPiKind);
  registry.registerKind(proofOfWorkKind);
  return registry;
}
