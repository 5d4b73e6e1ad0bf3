// `npm run bench -- <suite> [--quick] [--out FILE] [...suite flags]`
// Each suite is a program in bench/suites/<name>.ts exporting `run(args)`; it prints one JSON
// object per line on stdout and a readable table on stderr (bench/report.ts). Benchmarks are
// programs, not tests: nothing here asserts on wall-clock time.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface BenchArgs {
  quick: boolean;
  out: string | undefined;
  /** Everything after the suite name, for suite-specific flags. */
  rest: string[];
}

interface Suite {
  run(args: BenchArgs): Promise<void>;
}

const suitesDir = join(dirname(fileURLToPath(import.meta.url)), 'suites');
const available = readdirSync(suitesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <suite> [--quick] [--out FILE]\nsuites: ${available.join(', ') || '(none yet)'}`);
  process.exit(name ? 2 : 0);
}
const outIndex = rest.indexOf('--out');
const args: BenchArgs = {
  quick: rest.includes('--quick'),
  out: outIndex >= 0 ? rest[outIndex + 1] : undefined,
  rest,
};
const suite = (await import(join(suitesDir, `${name}.ts`))) as Suite;
await suite.run(args);
