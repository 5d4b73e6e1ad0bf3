// The benchmarks' command-line flags (`--name value`), read one way by every suite. A value that
// is missing or is not what the flag needs stops the run with a message naming the flag, rather
// than running a benchmark on NaN (`--n 1k` would otherwise simulate zero nodes and report it).

/** The value after `name`, or undefined if the flag is absent. */
export function flag(rest: readonly string[], name: string): string | undefined {
  const i = rest.indexOf(name);
  if (i < 0) return undefined;
  const value = rest[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

/** A number flag; `fallback` when absent. Refuses anything that is not a finite number ≥ `min`. */
export function numberFlag(rest: readonly string[], name: string, fallback: number, min = 0): number {
  const raw = flag(rest, name);
  return raw === undefined ? fallback : checkedNumber(name, raw, min);
}

/** A comma-separated list of numbers (`--n 16,64,256`); `fallback` when absent. */
export function numberListFlag(rest: readonly string[], name: string, fallback: readonly number[], min = 0): number[] {
  const raw = flag(rest, name);
  if (raw === undefined) return [...fallback];
  return raw.split(',').map((part) => checkedNumber(name, part, min));
}

function checkedNumber(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min} (got "${raw}")`);
  return value;
}
