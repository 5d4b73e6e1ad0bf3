// Public surface of the compute kernels: the registry, the built-in kinds, the result digest.
export {
  KindRegistry,
  DeadlineExceededError,
  checkDeadline,
  deadlineAfter,
  noDeadline,
  maxTasksPerJob,
  maxChunksPerJob,
  type TaskKind,
  type AnyTaskKind,
  type Deadline,
  type Checked,
  type JobRequest,
  type PreparedJob,
  type TaskOutcome,
  type RegistryRefusal,
} from './registry.ts';
export { createKindRegistry, builtinKindNames } from './builtins.ts';
export { digestResult } from './digest.ts';
export { mandelbrotKind, tilePixels, type MandelbrotImage, type MandelbrotTile, type MandelbrotParams } from './mandelbrot.ts';
export { primesKind, countPrimes, type PrimeCount, type PrimeParams } from './primes.ts';
export { monteCarloPiKind, type PiEstimate, type PiParams } from './monte-carlo-pi.ts';
export { proofOfWorkKind, powDigest, type PowAnswer, type PowParams } from './proof-of-work.ts';
export { sha256, sha256Hex, toHex, leadingZeroBits } from './sha256.ts';
