// How an asynchronous answer (a signature, a verification) comes back into a service: through
// the runtime's dispatch (ServiceContext.reenter), so a throw there is caught, counted and
// reported like any other, the node's wake-up is re-armed, and no promise is left to reject
// unhandled. docs/architecture.md, "Effects".
import type { ServiceContext } from './service.ts';

/**
 * Runs `then(value)` through ctx.reenter once `promise` resolves. If it rejects, the failure is
 * counted under `what` (ctx.reject) and `then` never runs.
 */
export function whenResolved<T>(ctx: Pick<ServiceContext, 'reenter' | 'reject'>, promise: Promise<T>, what: string, then: (value: T) => void): void {
  promise.then(
    (value) => ctx.reenter(() => then(value)),
    (error: unknown) => ctx.reenter(() => ctx.reject(`${what} failed: ${(error instanceof Error ? error.message : String(error)).slice(0, 120)}`)),
  );
}
