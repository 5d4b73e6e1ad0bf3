// The chaos run's flags (`npm run chaos -- …`), checked: a bad flag is refused with what to change.
import { maxChaosTabs, minChaosTabs } from './schedule.ts';

export interface ChaosArgs {
  seed: number;
  /** True when the seed was drawn at random (it is printed either way). */
  seedDrawn: boolean;
  tabs: number;
  durationMs: number;
  quick: boolean;
  heapBoundMb: number | null;
  help: boolean;
}

export const usage = `npm run chaos -- [--seed N] [--tabs ${minChaosTabs}-${maxChaosTabs}] [--duration SECONDS] [--quick] [--heap-bound-mb MB]

  --seed N            the adversary's schedule (0 to 2^32-1); default: drawn at random and printed
  --tabs N            headless tabs (default 7)
  --duration SECONDS  how long the adversary acts (default 180; 75 with --quick; at most 3600)
  --quick             the short form: the same faults, closer together (what CI runs, with --tabs 6)
  --heap-bound-mb MB  live JS heap per tab (page + protocol worker, after a garbage collection) never to exceed (default 48)

Prints one JSON line per check and a table; exits 0 only if every check passed, 1 otherwise
(with the seed and the command that replays the schedule), 2 on a bad flag.`;

/** Longest adversary phase, seconds. */
const maxDurationS = 3_600;

function whole(flag: string, raw: string | undefined, min: number, max: number): number {
  const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} needs a whole number from ${min} to ${max}, got ${raw ?? 'nothing'}`);
  return n;
}

export function parseChaosArgs(argv: readonly string[], drawSeed: () => number): ChaosArgs {
  let seed: number | null = null;
  let tabs = 7;
  let durationS: number | null = null;
  let quick = false;
  let heapBoundMb: number | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const [name, inline] =
      flag.startsWith('--') && flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--seed':
        seed = whole('--seed', value(), 0, 2 ** 32 - 1);
        break;
      case '--tabs':
        tabs = whole('--tabs', value(), minChaosTabs, maxChaosTabs);
        break;
      case '--duration':
        durationS = whole('--duration', value(), 10, maxDurationS);
        break;
      case '--heap-bound-mb':
        heapBoundMb = whole('--heap-bound-mb', value(), 8, 4_096);
        break;
      case '--quick':
        quick = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  const seedDrawn = seed === null;
  return { seed: seed ?? drawSeed(), seedDrawn, tabs, durationMs: (durationS ?? (quick ? 75 : 180)) * 1000, quick, heapBoundMb, help };
}
