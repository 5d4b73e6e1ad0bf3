// Checking a value with the app's Standard Schema (valibot, zod, arktype, …), sync or async.
import type { StandardSchemaV1 } from '@standard-schema/spec';

export type { StandardSchemaV1 };

/** The schema's output, or the first issues as one line. */
export async function checkWith<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (!result.issues) return { ok: true, value: result.value };
  const text = result.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path?.map((p) => (typeof p === 'object' && p !== null && 'key' in p ? String(p.key) : String(p))).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return { ok: false, error: text.slice(0, 300) };
}

/** Whether `value` looks like a Standard Schema (for argument checks). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const std = (value as Record<string, unknown>)['~standard'];
  return typeof std === 'object' && std !== null && typeof (std as { validate?: unknown }).validate === 'function';
}
