// Checks for simulated runs, in the two kinds every scenario needs: safety (an invariant that
// must hold at every check while faults are on) and liveness (a condition that must come true
// within a budget of virtual time once faults are healed). Failures say what and when.
import type { Millis, NodeId } from '../../src/core/types.ts';
import { hashString } from '../../src/core/rng.ts';
import type { SimCluster, SimNode } from './cluster.ts';

/** A condition is met (true) or says what is still wrong (a string, or false). */
export type Condition = () => true | false | string;

/**
 * Runs the cluster until `condition` holds, for at most `withinMs` of virtual time; throws
 * with the last reason it gave if it never does. Returns the virtual time it took.
 */
export function eventually<Msg, N extends SimNode<Msg>>(
  cluster: SimCluster<Msg, N>,
  what: string,
  condition: Condition,
  options: { withinMs: Millis; checkEveryMs?: Millis },
): Millis {
  const started = cluster.now;
  let reason: string | false = false;
  const held = cluster.runUntil(
    () => {
      const result = condition();
      if (result === true) return true;
      reason = result;
      return false;
    },
    { timeoutMs: options.withinMs, checkEveryMs: options.checkEveryMs ?? 10 },
  );
  if (!held) {
    throw new Error(`${what}: not reached within ${options.withinMs} ms (t=${cluster.now})${reason ? `: ${reason}` : ''}`);
  }
  return cluster.now - started;
}

/**
 * Checks `invariant` every `everyMs` of virtual time from now on, throwing (which ends the run)
 * the first time it is broken. Returns a function that stops the checks.
 */
export function always<Msg, N extends SimNode<Msg>>(cluster: SimCluster<Msg, N>, what: string, invariant: Condition, options: { everyMs: Millis }): () => void {
  let active = true;
  const check = (): void => {
    if (!active) return;
    const result = invariant();
    if (result !== true) throw new Error(`${what}: broken at t=${cluster.now}${result ? `: ${result}` : ''}`);
    cluster.at(cluster.now + options.everyMs, `check ${what}`, check);
  };
  cluster.at(cluster.now + options.everyMs, `check ${what}`, check);
  return () => {
    active = false;
  };
}

/**
 * True when every value is the same (compared by stable JSON), else a description of the
 * groups that differ (at most a few ids each), for failure messages.
 */
export function allAgree(values: ReadonlyMap<NodeId, unknown>): true | string {
  const groups = new Map<string, NodeId[]>();
  for (const [id, value] of values) {
    const key = stableJson(value);
    const list = groups.get(key);
    if (list) list.push(id);
    else groups.set(key, [id]);
  }
  if (groups.size <= 1) return true;
  const parts = [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .slice(0, 4)
    .map(
      ([key, ids]) =>
        `${ids.length} node(s) [${ids.slice(0, 5).join(',')}${ids.length > 5 ? ',…' : ''}] see ${key.length > 120 ? key.slice(0, 120) + '…' : key}`,
    );
  return `${groups.size} different values: ${parts.join('; ')}`;
}

/** JSON with object keys sorted, so equal data gives equal text whatever the insertion order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A short fingerprint of a value (stable JSON, FNV-1a), for comparing states across nodes or runs. */
export function fingerprint(value: unknown): string {
  return hashString(stableJson(value) ?? 'undefined')
    .toString(16)
    .padStart(8, '0');
}

/** The p-th percentile (nearest rank) of some numbers, or undefined for none. */
export function percentileOf(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}
