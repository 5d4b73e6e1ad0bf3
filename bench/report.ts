// Output shared by every benchmark: JSON lines on stdout (machine-readable, also appended to
// a results file), a table on stderr (for people), and each target judged as met or missed.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import os from 'node:os';

export type Row = Record<string, string | number | boolean | null>;

export function emitRow(row: Row, outFile?: string): void {
  const line = JSON.stringify(row);
  console.log(line);
  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    appendFileSync(outFile, line + '\n');
  }
}

function formatCell(value: Row[string]): string {
  if (value === null) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return String(value);
}

/** A Markdown table (so docs/benchmarks.md can carry it unchanged), printed on stderr. */
export function printTable(rows: Row[], columns?: string[]): void {
  if (rows.length === 0) return;
  const cols = columns ?? Object.keys(rows[0] as Row);
  const cells = rows.map((r) => cols.map((c) => formatCell(r[c] ?? null)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (parts: string[]) => `| ${parts.map((p, i) => p.padEnd(widths[i] as number)).join(' | ')} |`;
  console.error(line(cols));
  console.error(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of cells) console.error(line(row));
}

export interface Target {
  what: string;
  measured: number | null;
  limit: number;
  /** 'max': measured must be ≤ limit; 'min': measured must be ≥ limit. */
  kind: 'max' | 'min';
}

/** A figure as a reader wants it: at most three significant decimals, no float noise (3.5467077 → 3.547). */
const readable = (n: number): string => String(Number(n.toPrecision(Math.max(4, Math.ceil(Math.log10(Math.abs(n) + 1))))));

/** Prints every target as MET or MISSED (never hidden), and returns how many were missed. */
export function judgeTargets(targets: Target[]): number {
  let missed = 0;
  for (const t of targets) {
    const ok = t.measured !== null && (t.kind === 'max' ? t.measured <= t.limit : t.measured >= t.limit);
    if (!ok) missed++;
    const sign = t.kind === 'max' ? '≤' : '≥';
    console.error(
      `${ok ? 'MET   ' : 'MISSED'} ${t.what}: ${t.measured === null ? 'not measured' : readable(t.measured)} (target ${sign} ${readable(t.limit)})`,
    );
  }
  return missed;
}

export const machine = { cores: os.cpus().length, node: process.version };

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
