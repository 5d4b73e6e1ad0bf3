// `npm run chaos -- [flags]`: builds the app, runs the chaos run (run.ts) and prints its report.
// See cli.ts for the flags and docs/chaos.md for what it checks.
import { randomInt } from 'node:crypto';
import { findChromium } from '../test/e2e/find-chromium.ts';
import { parseChaosArgs, usage } from './cli.ts';
import { printReport } from './report.ts';
import { buildForChaos } from './rig.ts';
import { runChaos } from './run.ts';

async function main(): Promise<number> {
  let args;
  try {
    args = parseChaosArgs(process.argv.slice(2), () => randomInt(2 ** 32 - 1));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  console.error(`chaos: SEED=${args.seed}${args.seedDrawn ? ' (drawn at random)' : ''}`);
  const chromePath = findChromium((line) => console.error(line));
  console.error('chaos: building the app…');
  const staticDir = await buildForChaos();
  try {
    const report = await runChaos({
      seed: args.seed,
      tabs: args.tabs,
      durationMs: args.durationMs,
      quick: args.quick,
      staticDir,
      chromePath,
      ...(args.heapBoundMb === null ? {} : { heapBoundBytes: args.heapBoundMb * 1e6 }),
    });
    printReport(report);
    return report.ok ? 0 : 1;
  } catch (error) {
    console.error(`chaos: the run broke off: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    console.error(`chaos: FAILED; seed ${args.seed}`);
    return 1;
  }
}

process.exitCode = await main();
