// A command refusal with a machine-readable reason. The worker posts `code` with the message,
// so the app API (src/api) can reject with a typed error that says what to change.
import { appEventNamePattern } from './protocol.ts';

export class CommandError extends Error {
  constructor(
    /** Lower-case, dash-separated (e.g. 'channel-too-large'); same shape as app event names. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The `code` of a thrown value, when it carries a well-formed one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' && appEventNamePattern.test(code) ? code : undefined;
}
