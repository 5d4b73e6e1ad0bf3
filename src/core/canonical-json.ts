// Canonical JSON: the one text every node computes for the same value. Object keys are sorted
// (by UTF-16 code units, as Array.prototype.sort does on every engine) and undefined properties
// are left out, so equal values give equal text whatever order their keys were built in:
// signatures (pBFT) and digests of results (work stealing) are taken over this text.

/** Deterministic JSON with sorted keys. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify gives undefined for undefined/functions; in arrays JSON uses null there.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
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
    out += JSON.stringify(key) + ':' + canonicalJson(record[key]);
  }
  return out + '}';
}
