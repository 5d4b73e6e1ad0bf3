// JSON as pBFT signs and checks it. Canonical JSON (src/core/canonical-json.ts) is the one text
// every node computes for the same value, so a signature made on one node verifies on every
// other and a digest names the same content everywhere; nothing but plain JSON is allowed in.
import { canonicalJson } from '../canonical-json.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Nesting deeper than this is refused at the boundary: no operation needs it, and it bounds recursion. */
export const maxJsonDepth = 16;

/**
 * The exact text a runtime signs and verifies (`canonicalBytes(body)`), and the text the
 * injected digest function hashes.
 */
export const canonicalBytes: (value: unknown) => string = canonicalJson;

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
