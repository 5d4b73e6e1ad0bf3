// npm run vopr -- --seed N [--ticks T] [--nodes K] [--ed25519]   one run, replayable
// npm run vopr -- --minutes M [--seed N]                           seeds N, N+1, … for M wall minutes
// npm run vopr -- --bench [--nodes 256,512] [--virtual-seconds S]  the whole runtime at scale
//                 [--max-wall-s W] [--snapshots] [--by-type]       (bench.ts)
// Prints the seed, the fault plan, the verdict and the trace hash (the same seed, the same hash).
// A failing seed ends with the command that replays it. docs/simulation.md.
import { runVopr, type VoprResult } from './run.ts';
import { runBench } from './bench.ts';

interface Args {
  seed: number | null;
  ticks: number | undefined;
  nodes: number[] | undefined;
  minutes: number | null;
  bench: boolean;
  ed25519: boolean;
  virtualSeconds: number | undefined;
  maxWallSeconds: number | undefined;
  snapshots: boolean;
  byType: boolean;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    seed: null,
    ticks: undefined,
    nodes: undefined,
    minutes: null,
    bench: false,
    ed25519: false,
    virtualSeconds: undefined,
    maxWallSeconds: undefined,
    snapshots: false,
    byType: false,
    verbose: false,
  };
  const whole = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} takes a whole number ≥ ${min} (got ${value ?? 'nothing'})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--seed':
        args.seed = whole(flag, argv[++i], 0);
        break;
      case '--ticks':
        args.ticks = whole(flag, argv[++i], 1);
        break;
      case '--nodes':
        args.nodes = (argv[++i] ?? '').split(',').map((n) => whole(flag, n, 1));
        break;
      case '--minutes':
        args.minutes = Number(argv[++i]);
        if (!(args.minutes > 0)) throw new Error('--minutes takes a positive number');
        break;
      case '--virtual-seconds':
        args.virtualSeconds = whole(flag, argv[++i], 1);
        break;
      case '--bench':
        args.bench = true;
        break;
      case '--max-wall-s':
        args.maxWallSeconds = whole(flag, argv[++i], 1);
        break;
      case '--snapshots':
        args.snapshots = true;
        break;
      case '--by-type':
        args.byType = true;
        break;
      case '--ed25519':
        args.ed25519 = true;
        break;
      case '--verbose':
        args.verbose = true;
        break;
      default:
        throw new Error(
          `unknown option ${flag}; options: --seed N, --ticks T, --nodes K, --minutes M, --bench, --virtual-seconds S, --max-wall-s W, --snapshots, --by-type, --ed25519, --verbose`,
        );
    }
  }
  return args;
}

function report(result: VoprResult, args: Args): void {
  const f = result.figures;
  console.log(`seed ${result.seed}: ${result.ok ? 'PASS' : 'FAIL'} — ${result.liveness.summary}`);
  const run = `${f.virtualSeconds} virtual s in ${f.wallSeconds} wall s (×${f.virtualPerWall}); ${f.nodes} nodes, ${f.frames} frames`;
  const work = `${f.acked}/${f.proposals} proposals acknowledged, ${f.jobs} jobs, ${f.floodFrames} flood frames`;
  const crashes = `${f.crashes} crashes (${f.tornCrashes} torn), ${f.partitions} partitions, ${f.signalingOutages} server outages`;
  const more = `${f.sleeps} sleeps, ${f.clockJumps} clock jumps, ${f.joins} joins, ${f.leaves} leaves`;
  console.log(`  ${run}, ${work}, ${crashes}, ${more}`);
  for (const failure of result.failures.slice(0, 60)) console.log(`  ✗ ${failure}`);
  if (result.failures.length > 60) console.log(`  … and ${result.failures.length - 60} more`);
  console.log(`  trace ${result.traceHash}`);
  if (!result.ok)
    console.log(
      `  replay: npm run vopr -- --seed ${result.seed}${args.ticks ? ` --ticks ${args.ticks}` : ''}${args.nodes ? ` --nodes ${args.nodes[0]}` : ''}${args.ed25519 ? ' --ed25519' : ''}`,
    );
  if (args.verbose) console.log(JSON.stringify({ seed: result.seed, ok: result.ok, trace: result.traceHash, ...result.figures }));
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.bench) {
    await runBench({
      nodes: args.nodes ?? [64, 128, 256],
      virtualSeconds: args.virtualSeconds ?? 30,
      signatures: args.ed25519 ? 'ed25519' : 'fast',
      ...(args.maxWallSeconds !== undefined ? { maxWallSeconds: args.maxWallSeconds } : {}),
      snapshots: args.snapshots,
      byType: args.byType,
    });
    return 0;
  }
  const options = (seed: number) => ({
    seed,
    ...(args.ticks !== undefined ? { ticks: args.ticks } : {}),
    ...(args.nodes !== undefined ? { nodes: args.nodes[0] as number } : {}),
    signatures: args.ed25519 ? ('ed25519' as const) : ('fast' as const),
    log: (line: string) => console.log(line),
  });
  if (args.minutes === null) {
    const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
    console.log(`seed ${seed}`);
    const result = await runVopr(options(seed));
    report(result, args);
    return result.ok ? 0 : 1;
  }
  // Long mode: seed after seed until the time is up; every failing seed is listed at the end.
  const deadline = Date.now() + args.minutes * 60_000;
  let seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
  const failed: number[] = [];
  let runs = 0;
  while (Date.now() < deadline) {
    console.log(`seed ${seed}`);
    const result = await runVopr(options(seed));
    report(result, args);
    runs++;
    if (!result.ok) failed.push(seed);
    seed++;
  }
  console.log(`${runs} seeds run, ${failed.length} failed${failed.length > 0 ? `: ${failed.join(', ')}` : ''}`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
