// The errors the app API rejects with: one base class with a `code` a program can switch on, and
// a subclass per kind of problem, each message saying what to change. Refusals that come from
// the node (a command's CommandError code, src/worker/command-error.ts) become these classes in
// `fromNodeError`, so an app never parses message text.
export { CapabilityError, capabilityCodes, type CapabilityCode, type MissingCapability } from '../capabilities.ts';

/** Base class of every error the Tabmesh API rejects with; `code` says which kind of problem it is. */
export class TabmeshError extends Error {
  override name = 'TabmeshError';
  /** A stable, kebab-case name of the problem (e.g. 'invalid-argument', 'room-closed'). */
  readonly code: string;

  /**
   * @param code stable name of the problem
   * @param message what went wrong and what to change
   * @param options `cause`: the underlying error, if any
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** An argument of an API call is missing, of the wrong type or out of range; the message names it and says what it must be. */
export class InvalidArgumentError extends TabmeshError {
  override name = 'InvalidArgumentError';
  /** The argument (or option path, e.g. 'options.room') that was refused. */
  readonly argument: string;

  /**
   * @param argument which argument or option path was refused
   * @param message what it must be
   */
  constructor(argument: string, message: string) {
    super('invalid-argument', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/** The room was left (room.leave(), or the page went away): the call cannot run. Join again with joinRoom. */
export class RoomClosedError extends TabmeshError {
  override name = 'RoomClosedError';
  constructor(message = 'this room has been left: call joinRoom() again to rejoin') {
    super('room-closed', message);
  }
}

/**
 * The call was aborted through its AbortSignal. Its `name` is 'AbortError', like the DOMException
 * fetch() rejects with, so code that checks `error.name === 'AbortError'` works unchanged; `reason`
 * is the signal's reason.
 */
export class AbortError extends TabmeshError {
  override name = 'AbortError';
  /** The AbortSignal's reason (undefined when none was given). */
  readonly reason: unknown;
  constructor(reason?: unknown) {
    super(
      'aborted',
      reason instanceof Error ? `aborted: ${reason.message}` : reason !== undefined ? `aborted: ${String(reason)}` : 'the call was aborted by its AbortSignal',
      { cause: reason },
    );
    this.reason = reason;
  }
}

/** The node refused a command (its code and reason come from the node: e.g. an out-of-range setting). */
export class NodeRefusedError extends TabmeshError {
  override name = 'NodeRefusedError';
}

/** The node could not run the call: it failed to start, or its protocol worker was restarted meanwhile (try again). */
export class NodeUnavailableError extends TabmeshError {
  override name = 'NodeUnavailableError';
}

/**
 * A typed error for a rejection from the node (backend.command): a TabmeshError passes as it is,
 * an Error with a `code` becomes a NodeRefusedError with that code, anything else a
 * NodeRefusedError with code 'refused'.
 */
export function fromNodeError(error: unknown): TabmeshError {
  if (error instanceof TabmeshError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const raw = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  const code = typeof raw === 'string' ? raw : null;
  if (code === 'invalid-argument') return new InvalidArgumentError('argument', message);
  if (/protocol worker (restarted|was given up)/.test(message)) return new NodeUnavailableError('node-unavailable', message, { cause: error });
  return new NodeRefusedError(code ?? 'refused', message, { cause: error });
}

/** Rejects with an AbortError at once if `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/**
 * `promise`, or an AbortError as soon as `signal` aborts (the work itself is not undone: callers
 * that can cancel do so in `onAbort`).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(new AbortError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const aborted = () => {
      onAbort?.();
      reject(new AbortError(signal.reason));
    };
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', aborted);
        reject(error);
      },
    );
  });
}
