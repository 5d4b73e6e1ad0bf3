// A bound on the shape of relayed `data`. The server never interprets it, but parsing and
// re-serialising it costs CPU per key, and JSON.stringify recurses once per level (a deep
// enough value throws RangeError instead of relaying). A signed signal is a handful of keys a
// few levels deep (src/net/signed-signal.ts); the bounds in protocol.ts leave wide room for it.

/**
 * True when `value` holds at most `maxKeys` object keys and array items in all, nested at most
 * `maxDepth` levels (the top object is level 1). Iterative, and it stops at the first excess,
 * so checking a hostile value costs at most maxKeys steps.
 */
export function withinDataBounds(value: unknown, maxKeys: number, maxDepth: number): boolean {
  const stack: Array<{ item: unknown; depth: number }> = [{ item: value, depth: 1 }];
  let keys = 0;
  while (stack.length > 0) {
    const { item, depth } = stack.pop() as { item: unknown; depth: number };
    if (item === null || typeof item !== 'object') continue;
    if (depth > maxDepth) return false;
    if (Array.isArray(item)) {
      keys += item.length;
      if (keys > maxKeys) return false;
      for (const child of item) if (child !== null && typeof child === 'object') stack.push({ item: child, depth: depth + 1 });
      continue;
    }
    // for…in rather than Object.values: a 5,000-key object is given up on at key maxKeys + 1.
    for (const key in item as Record<string, unknown>) {
      if (++keys > maxKeys) return false;
      const child = (item as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push({ item: child, depth: depth + 1 });
    }
  }
  return true;
}
