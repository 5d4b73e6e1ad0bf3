// Why a compute call failed: a TabmeshError with a compute `code`. The node's refusal codes
// (src/worker/services/steal-app-*.ts) are mapped onto these.
import { RoomClosedError, TabmeshError } from './errors.ts';

/**
 * Why a compute call failed, as `ComputeError.code`:
 * - `compute-bad-argument`: a kind name, kernel, job or option is not what the call takes (the message says what to change);
 * - `compute-kind-taken`: the kind is a built-in one, or this app already registered a kernel by that name;
 * - `compute-no-runner`: no node of the room (that this node heard from lately) registered a kernel of that kind;
 * - `compute-bad-input`: a task's input fails the kernel's input schema, or is not JSON within the size limit;
 * - `compute-bad-output`: a task's output fails the output schema (checked again where the job was submitted);
 * - `compute-refused`: the node refused the job (too many jobs or tasks at once: the message says which);
 * - `compute-failed`: a task failed on every attempt its retry budget allows (the message has its last error);
 * - `compute-cancelled`: the job was cancelled (`cancel()`, or its AbortSignal);
 * - `compute-unavailable`: the node cannot run app kernels (nothing listens to its events) or is closed.
 */
export type ComputeErrorCode =
  | 'compute-bad-argument'
  | 'compute-kind-taken'
  | 'compute-no-runner'
  | 'compute-bad-input'
  | 'compute-bad-output'
  | 'compute-refused'
  | 'compute-failed'
  | 'compute-cancelled'
  | 'compute-unavailable';

/** A compute call that failed; `code` says why (ComputeErrorCode), the message what to change. */
export class ComputeError extends TabmeshError {
  override name = 'ComputeError';
  /** Why it failed. */
  declare readonly code: ComputeErrorCode;

  /**
   * @param code why it failed
   * @param message what went wrong and what to change
   */
  constructor(code: ComputeErrorCode, message: string) {
    super(code, message);
  }
}

const fromNode: Record<string, ComputeErrorCode> = {
  'no-runner': 'compute-no-runner',
  'kind-taken': 'compute-kind-taken',
  'bad-input': 'compute-bad-input',
  'bad-job': 'compute-bad-argument',
  'bad-kernel': 'compute-bad-argument',
  'bad-command': 'compute-bad-argument',
  'bad-job-request': 'compute-bad-argument',
  'job-refused': 'compute-refused',
  'no-app-events': 'compute-unavailable',
};

/**
 * A node command's rejection as a ComputeError (its `code`, when the node gave one, decides
 * which); a RoomClosedError (the room was left) stays what it is.
 */
export function computeErrorFrom(error: unknown, otherwise: ComputeErrorCode = 'compute-refused'): ComputeError | RoomClosedError {
  if (error instanceof ComputeError || error instanceof RoomClosedError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new ComputeError((typeof code === 'string' ? fromNode[code] : undefined) ?? otherwise, message);
}
