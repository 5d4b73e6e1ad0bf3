// `npm run bench:peers -- [--tabs 4,8,16] [--rounds 3] [--baseline DIR] [--systems LIST] [--out FILE]`
// Tabmesh against y-webrtc (Yjs's WebRTC provider: the closest peer, a replicated map over a
// browser mesh) in one headless Chromium, each tab in a browser context of its own (so y-webrtc
// uses WebRTC, not BroadcastChannel). Rounds are interleaved, the order rotated each round. With
// --baseline, another checkout of Tabmesh (e.g. /work/main) is built and run as a third system,
// for before/after figures from the same run. Prints a JSON line per round (also appended to the
// results file), then per tab count a table of medians [ranges] and issue 16's targets judged
// MET or MISSED, with the load average.
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createTabmeshServer, type TabmeshServer } from '../../signaling/server.ts';
import { chromiumArgs, findChromium } from '../../test/e2e/find-chromium.ts';
import { emitRow, judgeTargets, type Target } from '../report.ts';
import { buildCheckout, buildForBench, withRunDir } from '../browser/builds.ts';
import { burstWrites, formTimeoutMs, runRound, type RoundFigures } from './measure.ts';
import { tabmeshSystem, yjsSystem, type System } from './systems.ts';
import { buildYjsPage } from './yjs-build.ts';
import { startYjsSignaling } from './yjs-signaling.ts';

const defaultOut = fileURLToPath(new URL('../results/peers.jsonl', import.meta.url));
const maxTabs = 16;

interface Options {
  tabs: number[];
  rounds: number;
  baseline: string | null;
  /** Which systems run (names as in the table); all of them by default. */
  systems: string[] | null;
  out: string;
}

const systemNames = ['tabmesh', 'y-webrtc', 'tabmesh-baseline'];

export function parseArgs(argv: readonly string[]): Options | string {
  const options: Options = { tabs: [4, 8], rounds: 3, baseline: null, systems: null, out: defaultOut };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    if (arg === '--tabs') {
      const list = (next() ?? '').split(',').map(Number);
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 2 || n > maxTabs))
        return `--tabs needs whole numbers from 2 to ${maxTabs}, comma-separated (e.g. 4,8)`;
      options.tabs = list;
    } else if (arg === '--rounds') {
      const n = Number(next());
      if (!Number.isInteger(n) || n < 1 || n > 10) return '--rounds needs a whole number from 1 to 10';
      options.rounds = n;
    } else if (arg === '--baseline') {
      const dir = next();
      if (!dir) return '--baseline needs the directory of another Tabmesh checkout (with node_modules)';
      options.baseline = dir;
    } else if (arg === '--systems') {
      const list = (next() ?? '').split(',');
      if (list.some((name) => !systemNames.includes(name))) return `--systems takes a comma-separated list of ${systemNames.join(', ')}`;
      options.systems = list;
    } else if (arg === '--out') {
      const out = next();
      if (!out) return '--out needs a file name';
      options.out = out;
    } else return `unknown option ${arg}`;
  }
  return options;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

interface Result {
  system: string;
  tabs: number;
  round: number;
  load1: number;
  figures: RoundFigures;
}

type FigureKey = keyof RoundFigures;
const figureRows: Array<{ label: string; key: FigureKey; digits: number }> = [
  { label: 'mesh formed, s', key: 'formedS', digits: 2 },
  { label: 'one write visible in every tab, p50 ms', key: 'writeP50Ms', digits: 0 },
  { label: 'one write visible in every tab, p95 ms', key: 'writeP95Ms', digits: 0 },
  { label: `${burstWrites} writes visible everywhere, s`, key: 'burstS', digits: 2 },
  { label: `the writer's ${burstWrites} calls return, ms`, key: 'burstCallsMs', digits: 0 },
  { label: 'idle CPU per tab, empty room, %', key: 'idleEmptyPct', digits: 2 },
  { label: 'idle CPU per tab, 20 s after the burst, %', key: 'idleAfterPct', digits: 2 },
  { label: 'JS heap per tab after GC, MB', key: 'heapMb', digits: 1 },
  { label: 'consensus commit p50, ms', key: 'commitP50Ms', digits: 1 },
  { label: 'consensus commit p95, ms', key: 'commitP95Ms', digits: 1 },
  { label: 'consensus committed ops/s, every tab 256 open', key: 'commitOpsPerS', digits: 0 },
];

function summary(results: Result[], system: string, tabs: number, key: FigureKey): { median: number | null; min: number | null; max: number | null } {
  const xs = results
    .filter((r) => r.system === system && r.tabs === tabs)
    .map((r) => r.figures[key])
    .filter((x): x is number => x !== null);
  return { median: median(xs), min: xs.length ? Math.min(...xs) : null, max: xs.length ? Math.max(...xs) : null };
}

function printTables(results: Result[], systems: string[], tabsList: number[]): void {
  for (const tabs of tabsList) {
    const loads = results.filter((r) => r.tabs === tabs).map((r) => r.load1);
    const rounds = Math.max(...systems.map((s) => results.filter((r) => r.system === s && r.tabs === tabs).length));
    const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
    console.error(`\n${tabs} tabs — medians [range] over ${rounds} rounds; load average (1 min) ${load} on ${os.cpus().length} cores`);
    console.error(`| figure | ${systems.join(' | ')} |`);
    console.error(`|---|${systems.map(() => '---').join('|')}|`);
    for (const row of figureRows) {
      const cells = systems.map((system) => {
        const { median: m, min, max } = summary(results, system, tabs, row.key);
        if (m === null) return '—';
        return min !== max ? `${m.toFixed(row.digits)} [${(min as number).toFixed(row.digits)}–${(max as number).toFixed(row.digits)}]` : m.toFixed(row.digits);
      });
      console.error(`| ${row.label} | ${cells.join(' | ')} |`);
    }
    const tm = (key: FigureKey) => summary(results, 'tabmesh', tabs, key).median;
    const y = (key: FigureKey) => summary(results, 'y-webrtc', tabs, key).median;
    const yp95 = y('writeP95Ms');
    const targets: Target[] = [
      { what: `${tabs} tabs: one write p50 ≤ y-webrtc's (ms)`, measured: tm('writeP50Ms'), limit: y('writeP50Ms') ?? 0, kind: 'max' },
      { what: `${tabs} tabs: one write p95 ≤ 2× y-webrtc's (ms)`, measured: tm('writeP95Ms'), limit: yp95 === null ? 0 : 2 * yp95, kind: 'max' },
      { what: `${tabs} tabs: ${burstWrites} writes everywhere ≤ y-webrtc's (s)`, measured: tm('burstS'), limit: y('burstS') ?? 0, kind: 'max' },
      { what: `${tabs} tabs: idle CPU per tab, empty room (%)`, measured: tm('idleEmptyPct'), limit: 1, kind: 'max' },
      { what: `${tabs} tabs: idle CPU per tab, 20 s after the burst (%)`, measured: tm('idleAfterPct'), limit: 1, kind: 'max' },
      { what: `${tabs} tabs: JS heap per tab after the burst (MB)`, measured: tm('heapMb'), limit: 16, kind: 'max' },
      { what: `${tabs} tabs: mesh formed ≤ y-webrtc's (s)`, measured: tm('formedS'), limit: y('formedS') ?? 0, kind: 'max' },
    ];
    if (tabs === 4)
      targets.push({ what: '4 tabs: consensus commit p50 (ms; the target is for a quiet machine)', measured: tm('commitP50Ms'), limit: 5, kind: 'max' });
    if (tabs === 8) targets.push({ what: '8 tabs: consensus commit p50 (ms)', measured: tm('commitP50Ms'), limit: 10, kind: 'max' });
    if (tabs === 4) targets.push({ what: '4 tabs: consensus throughput (committed ops/s)', measured: tm('commitOpsPerS'), limit: 20_000, kind: 'min' });
    const p50 = tm('commitP50Ms');
    const p95 = tm('commitP95Ms');
    targets.push({ what: `${tabs} tabs: consensus p95 ÷ p50 after the burst`, measured: p50 && p95 !== null ? p95 / p50 : null, limit: 10, kind: 'max' });
    // Issue 16: "16 tabs on this machine form a mesh and stay under 1 % idle CPU each" (the idle rows above).
    if (tabs === 16)
      targets.push({ what: "16 tabs: form a mesh (s; within the round's timeout)", measured: tm('formedS'), limit: formTimeoutMs(16) / 1000, kind: 'max' });
    judgeTargets(targets);
  }
}

const log = (line: string) => console.error(`bench:peers: ${line}`);

/** Builds every system into a directory of this run's own (removed at the end), then runs the rounds. */
function main(options: Options): Promise<void> {
  return withRunDir('bench-peers', async (dir) => {
    log('building Tabmesh (Vite) and the y-webrtc page (esbuild)…');
    const builds = {
      tabmesh: await buildForBench(join(dir, 'tabmesh')),
      yjs: await buildYjsPage(join(dir, 'y-webrtc')),
      baseline: options.baseline ? await buildCheckout(options.baseline, join(dir, 'baseline')) : null,
    };
    await runRounds(options, builds);
  });
}

async function runRounds(options: Options, builds: { tabmesh: string; yjs: string; baseline: string | null }): Promise<void> {
  const servers: TabmeshServer[] = [];
  const { tabmesh: tabmeshDist, yjs: yjsDist, baseline: baselineDist } = builds;
  const yjsSignaling = await startYjsSignaling();
  const browser = await chromium.launch({ executablePath: findChromium((line) => console.error(line)), headless: true, args: chromiumArgs });
  try {
    const serve = async (dir: string) => {
      const server = createTabmeshServer({ port: 0, host: '127.0.0.1', staticDir: dir });
      servers.push(server);
      return (await server.listen()).url;
    };
    const systems: System[] = [tabmeshSystem('tabmesh', await serve(tabmeshDist)), yjsSystem((await serve(yjsDist)).replace(/\/$/, ''), yjsSignaling.url)];
    if (baselineDist) systems.push(tabmeshSystem('tabmesh-baseline', await serve(baselineDist)));
    if (options.systems) {
      const chosen = options.systems;
      systems.splice(0, systems.length, ...systems.filter((s) => chosen.includes(s.name)));
    }
    log(`Chromium ${browser.version()}, ${os.cpus().length} cores; systems: ${systems.map((s) => s.name).join(', ')}`);
    const results: Result[] = [];
    for (const tabs of options.tabs) {
      for (let round = 0; round < options.rounds; round++) {
        const order = systems.map((_, i) => systems[(i + round) % systems.length] as System);
        for (const system of order) {
          const load1 = os.loadavg()[0] ?? 0;
          const room = `peers-${process.pid}-${tabs}-${round}-${system.name}`;
          log(`round ${round + 1}/${options.rounds}, ${tabs} tabs: ${system.name} (load ${load1.toFixed(1)})`);
          const figures = await runRound(browser, system, tabs, room, log);
          const result: Result = { system: system.name, tabs, round, load1, figures };
          results.push(result);
          emitRow(
            {
              bench: 'peers',
              system: system.name,
              tabs,
              round,
              load1: Number(load1.toFixed(2)),
              loadEnd: Number((os.loadavg()[0] ?? 0).toFixed(2)),
              ...roundNumbers(figures),
              at: new Date().toISOString(),
            },
            options.out,
          );
        }
      }
    }
    printTables(
      results,
      systems.map((s) => s.name),
      options.tabs,
    );
  } finally {
    await browser.close().catch(() => {});
    yjsSignaling.stop();
    await Promise.all(servers.map((s) => s.close().catch(() => {})));
  }
}

function roundNumbers(figures: RoundFigures): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [key, value] of Object.entries(figures)) out[key] = value === null ? null : Number(value.toFixed(3));
  return out;
}

const parsed = parseArgs(process.argv.slice(2));
if (typeof parsed === 'string') {
  console.error(`bench:peers: ${parsed}`);
  process.exit(2);
}
main(parsed).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:peers: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
