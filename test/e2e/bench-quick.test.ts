// The browser benchmark (bench/browser) is a program, not a test, but its --quick run is
// exercised here so it cannot rot: three real tabs, and the JSON line it prints must carry every
// figure as a finite number or null (never invented, never NaN). Nothing here judges speed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'tabmesh-bench-quick-'));
const outFile = join(outDir, 'browser.jsonl');

/** The figures issue 8 names: each a finite number, or null where it could not be measured. */
const figures = [
  'floor_rtt_ms',
  'floor_mb_per_s',
  'mesh_formed_s',
  'heal_s',
  'gossip_spread_ms',
  'commit_p50_ms',
  'commit_p99_ms',
  'ops_per_s',
  'latency_over_floor',
  'compute_speedup',
  'heap_mb_per_tab',
  'idle_cpu_pct_per_tab',
] as const;

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(repoRoot, 'node_modules/.bin/tsx'),
      ['bench/browser/main.ts', ...args],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 280_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

test('bench:browser --quick with 3 tabs prints one complete JSON line, a table and every target judged', { timeout: 300_000 }, async () => {
  const { code, stdout, stderr } = await runBench(['--tabs', '3', '--quick', '--out', outFile]);
  expect(code, stderr).toBe(0);
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  expect(lines).toHaveLength(1);
  const row = JSON.parse(lines[0] as string) as Record<string, unknown>;
  expect(row['suite']).toBe('browser');
  expect(row['tabs']).toBe(3);
  expect(row['cores']).toBe(cpus().length);
  expect(row['chromium']).toMatch(/^\d+\.\d+/);
  for (const key of figures) {
    expect(key in row, `${key} is present`).toBe(true);
    const value = row[key];
    expect(value === null || (typeof value === 'number' && Number.isFinite(value)), `${key} = ${String(value)}`).toBe(true);
  }
  // Sanity, not speed: figures that were measured are positive where they must be.
  for (const key of ['floor_rtt_ms', 'floor_mb_per_s', 'mesh_formed_s', 'heap_mb_per_tab'] as const) {
    const value = row[key];
    if (value !== null) expect(value as number, key).toBeGreaterThan(0);
  }
  if (row['commit_p50_ms'] !== null && row['commit_p99_ms'] !== null)
    expect(row['commit_p99_ms'] as number).toBeGreaterThanOrEqual(row['commit_p50_ms'] as number);
  // The same line went to the results file; the table and the judged targets went to stderr.
  expect(readFileSync(outFile, 'utf8').trim()).toBe(lines[0]);
  expect(stderr).toContain('| floor_rtt_ms');
  expect(stderr.match(/^(MET|MISSED) /gm)?.length).toBe(5);
});
