// The one way input is checked at a boundary: a valibot schema, and on failure a short reason
// that names the offending field, fit for an error frame and a rejection counter.
import * as v from 'valibot';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export function decodeWith<T>(schema: v.GenericSchema<unknown, T>, raw: unknown): Decoded<T> {
  const result = v.safeParse(schema, raw);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
  return { ok: false, error: path ? `${path}: ${issue.message}` : issue.message };
}

/** JSON.parse that reports instead of throwing. */
export function parseJson(text: string): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
}
