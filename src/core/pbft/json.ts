// Canonical JSON: the one text every node computes for the same value, so a signature made on
// one node verifies on every other and a digest names the same content everywhere. Object keys
// are sorted (by UTF-16 code units, as Array.prototype.sort does on every engine), undefined
// properties are left out, and nothing but plain JSON is allowed in.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Nesting deeper than this is refused at the boundary: no operation needs it, and it bounds recursion. */
export const maxJsonDepth = 16;

/**
 * Deterministic JSON with sorted keys. This is the exact text a runtime signs and verifies
 * (`canonicalBytes(body)`), and the text the injected digest function hashes.
 */
export function canonicalBytes(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify gives undefined for undefined/functions; in arrays JSON uses null there.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalBytes(value[i]);
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out += ',';
    out += JSON.stringify(key) + ':' + canonicalBytes(record[key]);
  }
  return out + '}';
}

/**
 * Checks that `value` is plain JSON within `maxChars` characters of JSON text and
 * `maxJsonDepth` levels; returns null when it is, else a reason a person can act on.
 */
export function checkJson(value: unknown, maxChars: number): string | null {
  let chars = 0;
  let error: string | null = null;
  const visit = (node: unknown, depth: number): boolean => {
    if (depth > maxJsonDepth) {
      error = `nested deeper than ${maxJsonDepth} levels`;
      return false;
    }
    if (node === null) chars += 4;
    else if (typeof node === 'boolean') chars += 5;
    else if (typeof node === 'number') {
      if (!Number.isFinite(node)) {
        error = 'a number is not finite';
        return false;
      }
      chars += String(node).length;
    } else if (typeof node === 'string') chars += node.length + 2;
    else if (Array.isArray(node)) {
      chars += 1 + node.length;
      for (const item of node) if (!visit(item, depth + 1)) return false;
    } else if (typeof node === 'object') {
      const proto = Object.getPrototypeOf(node) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        error = 'an object is not plain JSON';
        return false;
      }
      const entries = Object.entries(node as Record<string, unknown>);
      chars += 1 + entries.length;
      for (const [key, item] of entries) {
        chars += key.length + 3;
        if (!visit(item, depth + 1)) return false;
      }
    } else {
      error = `a ${typeof node} is not JSON`;
      return false;
    }
    if (chars > maxChars) {
      error = `larger than ${maxChars} characters of JSON`;
      return false;
    }
    return true;
  };
  return visit(value, 0) ? null : error;
}
