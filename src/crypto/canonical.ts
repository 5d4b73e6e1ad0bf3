// Deterministic JSON (object keys sorted, no whitespace) so that a signer and a verifier on
// different machines hash and sign exactly the same bytes for the same value. The strict form,
// for what is signed at the edges (signals, routed messages): a value with no JSON form throws
// here, where src/core/canonical-json.ts (the cores' form, fed only decoded values) writes null.

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    if (value === undefined) throw new Error('canonicalJson: undefined has no JSON form');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
  return `{${parts.join(',')}}`;
}
