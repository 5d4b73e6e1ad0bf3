// Task parameters and results travel between nodes as plain JSON: no functions, no classes, no
// typed arrays (a kernel that makes bytes encodes them, e.g. as base64). These helpers check
// that a value really is such JSON, with a depth and size budget, so a peer cannot hand the
// core a cyclic, enormous or exotic object.
import { utf8Length } from '../utf8.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Nesting deeper than this is refused: no kernel needs it and it guards the recursion. */
export const maxJsonDepth = 32;

/**
 * The UTF-8 size of `JSON.stringify(value)` when `value` is JSON within `maxBytes` and
 * `maxJsonDepth`; otherwise a reason. Walks the value once and stops early when over budget.
 */
export function measureJson(value: unknown, maxBytes: number): { ok: true; bytes: number } | { ok: false; error: string } {
  let bytes = 0;
  let error = '';
  const visit = (node: unknown, depth: number): boolean => {
    if (depth > maxJsonDepth) {
      error = `nested deeper than ${maxJsonDepth} levels`;
      return false;
    }
    if (node === null) bytes += 4;
    else if (typeof node === 'boolean') bytes += node ? 4 : 5;
    else if (typeof node === 'number') {
      if (!Number.isFinite(node)) {
        error = 'a number is not finite';
        return false;
      }
      bytes += String(node).length;
    } else if (typeof node === 'string') bytes += utf8Length(node) + 2;
    else if (Array.isArray(node)) {
      bytes += 2 + Math.max(0, node.length - 1);
      for (const item of node) if (!visit(item, depth + 1)) return false;
    } else if (typeof node === 'object') {
      const proto = Object.getPrototypeOf(node) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        error = 'an object is not plain JSON';
        return false;
      }
      const entries = Object.entries(node as Record<string, unknown>);
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const [key, item] of entries) {
        bytes += utf8Length(key) + 3;
        if (!visit(item, depth + 1)) return false;
      }
    } else {
      error = `a ${typeof node} is not JSON`;
      return false;
    }
    if (bytes > maxBytes) {
      error = `larger than ${maxBytes} bytes`;
      return false;
    }
    return true;
  };
  return visit(value, 0) ? { ok: true, bytes } : { ok: false, error };
}

/** Digests of results are taken over canonical JSON (sorted keys), the same on every node. */
export { canonicalJson } from '../canonical-json.ts';
