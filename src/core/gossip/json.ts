// Memory values are plain JSON. Checked strictly wherever one enters (a user's setMemory, a
// peer's message, a value read back from storage): anything JSON cannot carry exactly — NaN,
// Infinity, undefined, functions, class instances, cycles — would read back differently on
// another node, and the replicas would no longer agree.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deepest nesting accepted in a value. */
export const maxJsonDepth = 32;

/** null if `value` is plain JSON, else what is wrong with it (for a refusal message). */
export function jsonProblem(value: unknown, depth = 0): string | null {
  if (depth > maxJsonDepth) return `nested deeper than ${maxJsonDepth} levels`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${value} is not a JSON number`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return 'a sparse array is not JSON';
      const problem = jsonProblem(value[i], depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return 'only plain objects are JSON';
    for (const key of Object.keys(value)) {
      const problem = jsonProblem((value as Record<string, unknown>)[key], depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  return `a ${typeof value} is not JSON`;
}

/** Length of the JSON text of a value already known to be plain JSON. */
export const jsonLength = (value: JsonValue): number => (JSON.stringify(value) as string).length;
