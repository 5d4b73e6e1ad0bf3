// `npm run bench -- stealing [--quick] [--seeds N] [--workers W] [--tasks-per-worker K] [--no-hints] [--p 4,16]`
//
// The work-stealing core in the simulator (test/sim, 10–50 ms links): P nodes with W worker
// slots each; one job of K·P·W tasks is submitted at one node (the hardest start: all work in
// one place) and the others must steal it. Workloads: `uniform` (every task 500 ms) and
// `skewed` (bimodal: one task in ten is 16× longer than the others, same 500 ms mean, placed at
// random). Churn: each non-home node crashes on average once per 20 s (a random one every
// 20 s ÷ P), losing its queue and running tasks; failure detection declares it dead 3 s later;
// it restarts after 4 s. Tasks carry the cost estimate a kernel would give (their size) unless
// --no-hints.
//
// Per case (averaged over seeds) one JSON line:
//   makespan_ratio = makespan ÷ max(total work ÷ total workers, longest task)  (target ≤ 1.10 without churn)
//   steals_per_task = successful steals ÷ tasks;  load_variance = variance of node utilisation
import type { BenchArgs } from '../main.ts';
import { emitRow, judgeTargets, machine, printTable, type Row, type Target } from '../report.ts';
import { createRng } from '../../src/core/rng.ts';
import type { JobId } from '../../src/core/steal/messages.ts';
import type { StealEvent } from '../../src/core/steal/types.ts';
import type { NodeId } from '../../src/core/types.ts';
import { SimCluster } from '../../test/sim/cluster.ts';
import { StealSimNode, simKind, simTasks } from '../../test/core/steal/sim-node.ts';
import { numberFlag, numberListFlag } from '../flags.ts';

/** The target for runs without churn. */
const targetRatio = 1.1;
const uniformTaskMs = 500;
/** Skewed sizes: this share of tasks is `longFactor` times longer than the rest (mean kept at uniformTaskMs). */
const longShare = 0.1;
const longFactor = 16;
/** Each node crashes about once per this long, in ms (so a random one every churnPeriodMs ÷ P). */
const churnPeriodMs = 20_000;
const churnDetectMs = 3_000;
const churnDownMs = 4_000;
/** A run that has not finished by then is reported unfinished. */
const runBudgetMs = 10 * 60_000;

interface CaseResult {
  makespanMs: number | null;
  lowerBoundMs: number;
  steals: number;
  stealRequests: number;
  migrations: number;
  tasks: number;
  utilisationVariance: number;
  retries: number;
  exactlyOnce: boolean;
}

function durationsFor(workload: 'uniform' | 'skewed', count: number, seed: number): number[] {
  if (workload === 'uniform') return Array.from({ length: count }, () => uniformTaskMs);
  const rng = createRng(`skew/${seed}`);
  const shortMs = Math.round(uniformTaskMs / (1 - longShare + longShare * longFactor));
  const longCount = Math.round(count * longShare);
  const sizes = Array.from({ length: count }, (_, i) => (i < longCount ? shortMs * longFactor : shortMs));
  return rng.shuffle(sizes);
}

function runCase(p: number, workers: number, tasksPerWorker: number, workload: 'uniform' | 'skewed', churn: boolean, hints: boolean, seed: number): CaseResult {
  let ids: NodeId[] = [];
  const cluster = new SimCluster<unknown, StealSimNode>({
    seed,
    wire: 'reference',
    create: (ctx) => new StealSimNode(ctx, { peers: () => ids, workers }),
  });
  ids = cluster.addMany(p);
  const home = ids[0] as NodeId;
  const accepted = new Map<number, number>();
  cluster.onEvent(({ event }) => {
    const e = event as StealEvent;
    if (e.kind === 'task-accepted') accepted.set(e.index, (accepted.get(e.index) ?? 0) + 1);
  });
  cluster.runFor(2_500); // adverts settle (they refresh every 2 s)
  const durations = durationsFor(workload, tasksPerWorker * p * workers, seed);
  const { tasks, costs } = simTasks(durations);
  const start = cluster.now;
  cluster.act(home, (node, now) => node.input(now, { type: 'submit', job: { kind: simKind, tasks, ...(hints ? { costs } : {}) } }));
  const jobId = cluster.node(home).core.view().jobs[0]?.id as JobId;

  // Churn: crash a random non-home node now and then; it is declared dead later and comes back.
  const churnRng = createRng(`churn/${seed}`);
  const churnEveryMs = churnPeriodMs / p;
  let nextChurn = start + churnEveryMs;
  // What crashed lives did, added up (a restarted node starts its counters from zero).
  const busyOfDead = new Map<NodeId, number>();
  const earlier = { steals: 0, stealRequests: 0, migrations: 0, retries: 0 };
  const addCounters = (id: NodeId) => {
    const c = cluster.node(id).core.view().counters;
    earlier.steals += c.stealsSucceeded;
    earlier.stealRequests += c.stealRequestsSent;
    earlier.migrations += c.migrationsIn;
    earlier.retries += c.retries;
  };
  const done = () =>
    cluster
      .node(home)
      .core.view()
      .jobs.find((j) => j.id === jobId)?.status === 'done';
  while (!done() && cluster.now - start < runBudgetMs) {
    cluster.runFor(50);
    if (!churn || cluster.now < nextChurn || p < 3) continue;
    nextChurn += churnEveryMs;
    const candidates = cluster.upIds().filter((id) => id !== home);
    const victim = churnRng.pick(candidates);
    if (!victim) continue;
    busyOfDead.set(victim, (busyOfDead.get(victim) ?? 0) + cluster.node(victim).busyMs);
    addCounters(victim);
    cluster.crash(victim);
    const crashedAt = cluster.now;
    cluster.at(crashedAt + churnDetectMs, `declare ${victim} dead`, () => {
      for (const id of cluster.upIds()) if (id !== victim) cluster.act(id, (n, now) => n.input(now, { type: 'member-dead', node: victim }));
    });
    cluster.at(crashedAt + churnDownMs, `restart ${victim}`, () => {
      cluster.restart(victim);
      for (const id of cluster.upIds()) if (id !== victim) cluster.act(id, (n, now) => n.input(now, { type: 'member-alive', node: victim }));
    });
  }
  const view = cluster.node(home).core.view();
  const job = view.jobs.find((j) => j.id === jobId);
  const makespanMs = job?.status === 'done' && job.finishedAt !== null ? job.finishedAt - start : null;
  const totalWork = durations.reduce((a, b) => a + b, 0);
  const lowerBoundMs = Math.max(totalWork / (p * workers), Math.max(...durations));
  let { steals, stealRequests, migrations, retries } = earlier;
  const utilisation: number[] = [];
  for (const id of ids) {
    const busy = (busyOfDead.get(id) ?? 0) + (cluster.isUp(id) ? cluster.node(id).busyMs : 0);
    if (makespanMs) utilisation.push(busy / (workers * makespanMs));
    if (!cluster.isUp(id)) continue;
    const c = cluster.node(id).core.view().counters;
    steals += c.stealsSucceeded;
    stealRequests += c.stealRequestsSent;
    migrations += c.migrationsIn;
    retries += c.retries;
  }
  const mean = utilisation.reduce((a, b) => a + b, 0) / Math.max(1, utilisation.length);
  return {
    makespanMs,
    lowerBoundMs,
    steals,
    stealRequests,
    migrations,
    tasks: durations.length,
    utilisationVariance: utilisation.reduce((s, u) => s + (u - mean) ** 2, 0) / Math.max(1, utilisation.length),
    retries,
    exactlyOnce: accepted.size === durations.length && [...accepted.values()].every((n) => n === 1),
  };
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function run(args: BenchArgs): Promise<void> {
  const seeds = numberFlag(args.rest, '--seeds', args.quick ? 1 : 3);
  const workers = numberFlag(args.rest, '--workers', 2);
  const tasksPerWorker = numberFlag(args.rest, '--tasks-per-worker', 16);
  const hints = !args.rest.includes('--no-hints');
  const ps = numberListFlag(args.rest, '--p', [4, 16, 64]);
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const p of ps) {
    for (const workload of ['uniform', 'skewed'] as const) {
      for (const churn of [false, true]) {
        const results: CaseResult[] = [];
        const startedAt = performance.now();
        for (let s = 1; s <= seeds; s++) results.push(runCase(p, workers, tasksPerWorker, workload, churn, hints, s));
        const finished = results.filter((r) => r.makespanMs !== null);
        const ratios = finished.map((r) => (r.makespanMs as number) / r.lowerBoundMs);
        const avg = (f: (r: CaseResult) => number) => results.reduce((a, r) => a + f(r), 0) / results.length;
        const row: Row = {
          suite: 'stealing',
          p,
          workers_per_node: workers,
          tasks: results[0]?.tasks ?? 0,
          workload,
          churn,
          cost_hints: hints,
          seeds,
          makespan_ratio: ratios.length ? round(ratios.reduce((a, b) => a + b, 0) / ratios.length) : null,
          makespan_ratio_max: ratios.length ? round(Math.max(...ratios)) : null,
          steals_per_task: round(avg((r) => r.steals / r.tasks)),
          steal_requests_per_task: round(avg((r) => r.stealRequests / r.tasks)),
          migrations_per_task: round(avg((r) => r.migrations / r.tasks)),
          load_variance: round(
            avg((r) => r.utilisationVariance),
            5,
          ),
          retries_per_task: round(avg((r) => r.retries / r.tasks)),
          unfinished: results.length - finished.length,
          exactly_once: results.every((r) => r.exactlyOnce),
          wall_s: round((performance.now() - startedAt) / 1000, 1),
          cores: machine.cores,
        };
        emitRow(row, args.out);
        rows.push(row);
        if (!churn) {
          targets.push({
            what: `makespan ratio, P=${p} ${workload}, no churn (worst seed)`,
            measured: row.makespan_ratio_max as number | null,
            limit: targetRatio,
            kind: 'max',
          });
        }
        targets.push({
          what: `every task accepted exactly once, P=${p} ${workload}${churn ? ' with churn' : ''}`,
          measured: row.exactly_once ? 1 : 0,
          limit: 1,
          kind: 'min',
        });
      }
    }
  }
  printTable(rows, [
    'p',
    'workload',
    'churn',
    'tasks',
    'makespan_ratio',
    'makespan_ratio_max',
    'steals_per_task',
    'migrations_per_task',
    'load_variance',
    'retries_per_task',
    'exactly_once',
    'wall_s',
  ]);
  const missed = judgeTargets(targets);
  if (missed > 0) process.exitCode = 1;
}
