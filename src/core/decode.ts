// The one way input is checked at a boundary: a valibot schema, and on failure a short reason
// that names the offending field, fit for an error frame and a rejection counter.
import * as v from 'valibot';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * The longest piece of the input (a key name, a received value) quoted in a reason. Reasons go
 * back to whoever sent the input: quoting it whole would let a 60 KB key come back as 120 KB.
 */
export const maxEchoChars = 64;

export function decodeWith<T>(schema: v.GenericSchema<unknown, T>, raw: unknown): Decoded<T> {
  const result = v.safeParse(schema, raw);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = issue.path?.map((p) => clipEcho(String(p.key))).join('.') ?? '';
  const received = issue.received;
  const message = received.length > maxEchoChars ? issue.message.split(received).join(clipEcho(received)) : issue.message;
  return { ok: false, error: path ? `${path}: ${message}` : message };
}

/** `text` cut to maxEchoChars, saying how long it was. */
export function clipEcho(text: string): string {
  return text.length <= maxEchoChars ? text : `${text.slice(0, maxEchoChars)}… (${text.length} characters)`;
}

/** JSON.parse that reports instead of throwing. */
export function parseJson(text: string): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
}
