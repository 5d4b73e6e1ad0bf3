// One VOPR run: a room of real nodes (test/sim/real-node/) under the faults its seed draws
// (plan.ts), with users proposing, writing memory and submitting jobs (workload.ts), safety
// checked every second (observer.ts); then every fault heals and liveness is checked within a
// budget (liveness.ts), and the whole history is judged (chaos/checks.ts, as the chaos run does).
// The same seed gives the same run and the same trace hash. docs/simulation.md.
import { checkConsensus, checkJobs, jobOutcomeFromView, type JobOutcome, type JobView } from '../../../chaos/checks.ts';
import { createRng, type Rng } from '../../../src/core/rng.ts';
import type { NodeId } from '../../../src/core/types.ts';
import { epochMs, RealCluster, type SimNode } from '../real-node/real-cluster.ts';
import type { SignatureMode } from '../real-node/sim-crypto.ts';
import { badFrame, FrameStash } from './flood.ts';
import { checkLiveness, type LivenessOutcome } from './liveness.ts';
import { SafetyObserver } from './observer.ts';
import { describePlan, drawPlan, tickMs, type FaultPlan } from './plan.ts';
import { Workload } from './workload.ts';

export interface VoprOptions {
  seed: number;
  /** Ticks (100 virtual ms each) of faults before the heal. Default 600 (one virtual minute). */
  ticks?: number;
  /** Nodes at the start (default: drawn from the seed, 4–9). */
  nodes?: number;
  /** Virtual ms after the heal within which the room must be live again. */
  healBudgetMs?: number;
  signatures?: SignatureMode;
  /** Progress lines (the CLI prints them; tests pass nothing). */
  log?: (line: string) => void;
}

export interface VoprResult {
  seed: number;
  ok: boolean;
  traceHash: string;
  plan: string[];
  failures: string[];
  liveness: LivenessOutcome;
  figures: Record<string, number | string>;
}

export const defaultTicks = 600;
export const defaultHealBudgetMs = 120_000;

const between = (rng: Rng, min: number, max: number): number => min + rng.int(Math.max(1, max - min + 1));

export async function runVopr(options: VoprOptions): Promise<VoprResult> {
  const log = options.log ?? (() => {});
  const wallStart = performance.now();
  const rng = createRng(options.seed);
  const plan = drawPlan(rng.fork('plan'), options.nodes);
  const ticks = options.ticks ?? defaultTicks;
  const cluster = new RealCluster({ seed: options.seed, signatures: options.signatures ?? 'fast' });
  cluster.network.faults = plan.links;
  for (const line of describePlan(plan)) log(`  ${line}`);

  const byzantine = new Map(plan.byzantine.map((b) => [b.node, b.mode]));
  const honest = (node: SimNode) => !byzantine.has(node.index);
  const observer = new SafetyObserver(cluster, honest);
  const workload = new Workload(cluster, rng.fork('workload'));
  const faults = new FaultDriver(cluster, plan, rng.fork('faults'), honest);
  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown) =>
    unhandled.push(`unhandled rejection at ${cluster.now} ms: ${reason instanceof Error ? reason.stack : String(reason)}`);
  process.on('unhandledRejection', onUnhandled);
  try {
    for (let i = 0; i < plan.nodes; i++) cluster.add();
    const workRng = rng.fork('workload choices');
    for (let tick = 0; tick < ticks; tick++) {
      await cluster.runFor(tickMs);
      faults.setByzantine(byzantine);
      faults.tick(tick);
      const users = cluster.up().filter((n) => honest(n) && !n.asleep);
      if (users.length > 0) {
        if (workRng.next() < plan.workload.proposePerTick) void workload.propose(workRng.pick(users) as SimNode);
        if (workRng.next() < plan.workload.memoryPerTick) workload.setMemory(workRng.pick(users) as SimNode);
        if (workRng.next() < plan.workload.jobPerTick) workload.submitJob(workRng.pick(users) as SimNode);
      }
      // Every tick: a log tail holds 64 operations, and after a backlog a few large batches
      // push a sequence number out of it within a second (seed 16 at 400 ticks).
      observer.sample();
    }
    log(`  faults healed at ${(cluster.now / 1000).toFixed(1)} s (virtual); checking liveness`);
    faults.heal();
    const liveness = await checkLiveness(
      cluster,
      workload,
      observer,
      honest,
      options.healBudgetMs ?? defaultHealBudgetMs,
      rng.fork('probe'),
      (byzantine) => faults.setByzantine(byzantine),
      byzantine,
    );
    observer.sample();

    const failures = [...observer.failures, ...cluster.errors.map((e) => `exception escaped a node: ${e}`), ...unhandled];
    if (!liveness.ok) failures.push(`liveness: ${liveness.summary}`, ...liveness.pending.map((p) => `  pending: ${p}`), ...liveness.nodes.map((n) => `  ${n}`));
    // The whole history, judged as the chaos run judges it.
    const finalGenesis = liveness.genesis;
    const histories = [...observer.histories.values()].filter(
      (h) => h.genesis === finalGenesis && cluster.nodes.some((n) => n.id === h.node && n.isUp && honest(n)),
    );
    // An operation acknowledged under a genesis the room later abandoned is lost: a failure like
    // any other lost acknowledgement, reported with who founded which genesis and when, since
    // that is what decides which one a room keeps (src/core/pbft-room/genesis.ts).
    const underFinal = workload.acked.filter((a) => a.genesis === finalGenesis);
    const abandoned = workload.acked.filter((a) => a.genesis !== finalGenesis);
    const consensus = checkConsensus({ histories, acked: underFinal, failedProposals: workload.failedProposals });
    if (!consensus.ok) failures.push(...consensus.failures.map((f) => `consensus: ${f}`));
    if (abandoned.length > 0) {
      const by = new Map<string, number[]>();
      for (const a of abandoned) by.set(a.genesis ?? 'none', [...(by.get(a.genesis ?? 'none') ?? []), a.seq]);
      for (const [g, seqs] of by) {
        const which = `${seqs.length} acknowledged operations (seqs ${seqs.slice(0, 12).join(', ')}${seqs.length > 12 ? ', …' : ''})`;
        const under = `genesis ${g.slice(0, 8)} (founded by ${founderLabel(cluster, workload, g)})`;
        const final = `${finalGenesis?.slice(0, 8) ?? 'none'} (founded by ${finalGenesis ? founderLabel(cluster, workload, finalGenesis, liveness.founder) : '?'})`;
        failures.push(`consensus: ${which} were committed under ${under}, which the room abandoned for ${final}: they are lost`);
      }
    }
    const jobOutcomes = await judgeJobs(cluster, workload);
    if (jobOutcomes.length > 0) {
      const jobs = checkJobs(jobOutcomes);
      // A room where every job's home left or crashed has no finished job to judge: not a failure.
      const onlyNothingToCheck = jobs.failures.length === 1 && jobs.failures[0]?.startsWith('no job finished');
      if (!jobs.ok && !(onlyNothingToCheck && jobOutcomes.every((j) => !j.homeOpen))) failures.push(...jobs.failures.map((f) => `jobs: ${f}`));
    }
    if (failures.length > 0) failures.push('faults, in order:', ...faults.timeline.map((t) => `  ${t}`));
    const wallMs = performance.now() - wallStart;
    const stats = cluster.network.stats;
    const nodeSeconds = cluster.nodes.reduce((s, n) => s + (n.lives > 0 ? 1 : 0), 0) * (cluster.now / 1000);
    return {
      seed: options.seed,
      ok: failures.length === 0,
      traceHash: cluster.trace.digest(),
      plan: describePlan(plan),
      failures,
      liveness,
      figures: {
        virtualSeconds: round(cluster.now / 1000),
        wallSeconds: round(wallMs / 1000),
        virtualPerWall: round(cluster.now / wallMs),
        nodes: cluster.nodes.length,
        events: cluster.scheduler.eventsRun,
        frames: stats.frames,
        framesPerNodePerSecond: round(stats.frames / Math.max(1, nodeSeconds)),
        lost: stats.lost,
        duplicated: stats.duplicated,
        partitionedFrames: stats.partitioned,
        linksUp: stats.linksUp,
        signaturesMade: cluster.crypto.counts.signed,
        signaturesRefused: cluster.crypto.counts.refused,
        proposals: workload.proposals,
        acked: workload.acked.length,
        ackedUnderAbandonedGenesis: abandoned.length,
        jobs: workload.jobs.length,
        memoryWrites: workload.memoryWrites,
        ...faults.counts,
        floodFrames: faults.floodFrames,
        badFramesRefused: refusedTotal(cluster),
        logSamples: observer.samples,
        healedAfterMs: liveness.waitedMs,
      },
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

function founderLabel(cluster: RealCluster, workload: Workload, genesis: string, known?: { founder: string; foundedAt: number } | null): string {
  const info = workload.geneses.get(genesis) ?? known ?? undefined;
  if (!info) return '?';
  const node = cluster.nodes.find((n) => n.id === info.founder);
  return `${node?.label ?? info.founder.slice(0, 8)}, foundedAt ${((info.foundedAt - epochMs) / 1000).toFixed(1)} s on its clock`;
}

const round = (x: number): number => Math.round(x * 100) / 100;

function refusedTotal(cluster: RealCluster): number {
  let total = 0;
  for (const node of cluster.up()) for (const n of Object.values(cluster.snapshot(node)?.rejected ?? {})) total += n;
  return total;
}

/** Each job as its home sees it now, with its accepted results read page by page (as debug.acceptedTasks does). */
async function judgeJobs(cluster: RealCluster, workload: Workload): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const job of workload.jobs) {
    const home = job.home;
    const snapshot = cluster.snapshot(home);
    const view = (snapshot?.jobs as Array<JobView & { id: string; mine: boolean }> | undefined)?.find((j) => j.id === job.id && j.mine);
    const outcome = jobOutcomeFromView({ id: job.id, home: home.id }, view, snapshot !== null, snapshot ? 'missing at its home' : 'unknown');
    if (snapshot && view?.status === 'done') {
      const accepted: Array<{ index: number; nodes: string[] }> = [];
      let after = 0;
      for (let page = 0; page < 512; page++) {
        const reply = cluster.command(home, 'jobTiles', job.id, after);
        if (!reply?.ok) break;
        const tiles = reply.value as { tiles: Array<{ index: number; nodes: string[] }>; next: number };
        accepted.push(...tiles.tiles.map((t) => ({ index: t.index, nodes: [...t.nodes] })));
        if (tiles.tiles.length === 0 || tiles.next <= after) break;
        after = tiles.next;
      }
      outcome.accepted = accepted;
      const result = cluster.command(home, 'jobResult', job.id);
      const count = result?.ok ? (result.value as { count?: unknown }).count : undefined;
      outcome.count = typeof count === 'number' ? count : null;
      outcome.expectedCount = countPrimesBelow(job.to);
    }
    out.push(outcome);
  }
  return out;
}

function countPrimesBelow(to: number): number {
  const sieve = new Uint8Array(to);
  let count = 0;
  for (let i = 2; i < to; i++) {
    if (sieve[i]) continue;
    count++;
    for (let j = i * i; j < to; j += i) sieve[j] = 1;
  }
  return count;
}

/** Applies the plan's faults tick by tick, and undoes them all at the heal. */
class FaultDriver {
  readonly counts = { partitions: 0, signalingOutages: 0, crashes: 0, tornCrashes: 0, restarts: 0, clockJumps: 0, sleeps: 0, joins: 0, leaves: 0 };
  floodFrames = 0;
  /** Every fault, at its virtual time, for the report of a failing run. */
  readonly timeline: string[] = [];
  private partitionUntil = -1;
  private outageUntil = -1;
  private readonly restartAt = new Map<SimNode, number>();
  /** The life in which each Byzantine node was last told its mode. */
  private readonly byzantineLife = new Map<SimNode, number>();
  private readonly stashes = new Map<NodeId, FrameStash>();
  private readonly initialNodes: number;
  private healed = false;

  constructor(
    private readonly cluster: RealCluster,
    private readonly plan: FaultPlan,
    private readonly rng: Rng,
    private readonly honest: (node: SimNode) => boolean,
  ) {
    this.initialNodes = plan.nodes;
    cluster.network.tap = (_from, to, bytes) => this.stashes.get(to)?.keep(bytes);
  }

  private label(id: NodeId): string {
    return this.cluster.nodes.find((n) => n.id === id)?.label ?? id.slice(0, 8);
  }

  /**
   * Tells each running Byzantine node its mode (again after each restart: a mode is not stored),
   * once the replica set it sees can tolerate them all: 3b + 1 replicas for b Byzantine nodes.
   * A room grows its replica set from one founder, one join at a time; a node Byzantine from
   * the start is one of the first two replicas in some seeds, where f = 0 and the pair halts
   * for ever (seeds 25 and 40 at 150 ticks). That is more faults than pBFT tolerates, not a bug.
   */
  setByzantine(byzantine: ReadonlyMap<number, string>): void {
    for (const node of this.cluster.up()) {
      const mode = byzantine.get(node.index);
      if (mode === undefined || this.byzantineLife.get(node) === node.lives) continue;
      if (!this.tolerates(node)) continue;
      const reply = this.cluster.command(node, 'setByzantine', mode);
      if (reply?.ok) this.byzantineLife.set(node, node.lives);
    }
  }

  /**
   * Whether the replica set `node` sees can tolerate every planned Byzantine node (3b + 1
   * replicas for b). Flooders wait for it too: the node the flood comes from is cut off by its
   * peers' guards, which is one more fault for the replica set to bear (seed 51 at 150 ticks).
   */
  private tolerates(node: SimNode): boolean {
    const replicas = (this.cluster.snapshot(node)?.consensus as { replicas?: unknown[] } | undefined)?.replicas?.length ?? 0;
    return replicas >= 3 * this.plan.byzantine.length + 1;
  }

  private note(text: string): void {
    if (this.timeline.length < 400) this.timeline.push(`${(this.cluster.now / 1000).toFixed(1)} s ${text}`);
  }

  tick(tick: number): void {
    const { cluster, plan, rng } = this;
    const live = () => cluster.up().filter((n) => !n.asleep);
    if (this.partitionUntil >= 0 && tick >= this.partitionUntil) {
      cluster.network.heal();
      this.partitionUntil = -1;
      this.note('partition healed');
    } else if (this.partitionUntil < 0 && rng.next() < plan.partition.perTick) {
      const ids = rng.shuffle(cluster.nodes.map((n) => n.id));
      const cut = 1 + rng.int(Math.max(1, ids.length - 1));
      cluster.network.partition([ids.slice(0, cut), ids.slice(cut)]);
      cluster.trace.note(`partition ${cut}`);
      this.note(
        `partition: ${ids
          .slice(0, cut)
          .map((id) => this.label(id))
          .join(' ')} | ${ids
          .slice(cut)
          .map((id) => this.label(id))
          .join(' ')}`,
      );
      this.partitionUntil = tick + between(rng, plan.partition.ticks.min, plan.partition.ticks.max);
      this.counts.partitions++;
    }
    if (this.outageUntil >= 0 && tick >= this.outageUntil) {
      cluster.signaling.restore();
      this.outageUntil = -1;
      this.note('signaling server back');
    } else if (this.outageUntil < 0 && rng.next() < plan.signalingOutage.perTick) {
      cluster.signaling.takeDown();
      cluster.trace.note('signaling down');
      this.note('signaling server down');
      this.outageUntil = tick + between(rng, plan.signalingOutage.ticks.min, plan.signalingOutage.ticks.max);
      this.counts.signalingOutages++;
    }
    for (const [node, at] of this.restartAt) {
      if (tick < at) continue;
      this.restartAt.delete(node);
      if (node.state === 'crashed') {
        cluster.start(node);
        this.counts.restarts++;
        this.note(`${node.label} restarted`);
      }
    }
    if (rng.next() < plan.crash.perTick) {
      const victim = rng.pick(cluster.nodes.filter((n) => n.state === 'up' || n.state === 'starting'));
      if (victim) {
        const torn = rng.next() < plan.crash.torn;
        cluster.crash(victim, torn);
        this.counts.crashes++;
        if (torn) this.counts.tornCrashes++;
        this.note(`${victim.label} crashed${torn ? ' (torn writes)' : ''}`);
        this.restartAt.set(victim, tick + between(rng, plan.crash.restartTicks.min, plan.crash.restartTicks.max));
      }
    }
    if (rng.next() < plan.clockJump.perTick) {
      const node = rng.pick(live());
      if (node) {
        const ms = Math.round((rng.next() * 2 - 1) * plan.clockJump.maxMs);
        cluster.jumpClock(node, ms);
        this.counts.clockJumps++;
        this.note(`${node.label}'s wall clock jumped ${ms > 0 ? '+' : ''}${ms} ms`);
      }
    }
    if (rng.next() < plan.sleep.perTick) {
      const node = rng.pick(live());
      if (node) {
        const ms = between(rng, plan.sleep.ticks.min, plan.sleep.ticks.max) * tickMs;
        cluster.sleep(node, ms);
        this.counts.sleeps++;
        this.note(`${node.label} sleeps ${ms} ms`);
      }
    }
    if (rng.next() < plan.join.perTick) {
      const node = cluster.add();
      this.counts.joins++;
      this.note(`${node.label} joined`);
    }
    if (rng.next() < plan.leave.perTick && cluster.nodes.filter((n) => n.state !== 'left').length > this.initialNodes) {
      const node = rng.pick(live().filter((n) => this.honest(n)));
      if (node) {
        cluster.leave(node);
        this.counts.leaves++;
        this.note(`${node.label} left`);
      }
    }
    this.flood();
  }

  private flood(): void {
    if (this.healed) return;
    for (const flooder of this.plan.flooders) {
      const node = this.cluster.nodes[flooder.node];
      if (!node?.isUp || node.asleep || !node.host || !this.tolerates(node)) continue;
      let stash = this.stashes.get(node.id);
      if (!stash) {
        stash = new FrameStash();
        this.stashes.set(node.id, stash);
      }
      if (this.rng.next() >= flooder.perTick) continue;
      const target = this.rng.pick(node.host.upPeers());
      if (!target) continue;
      for (let i = 0; i < flooder.burst; i++) {
        const kind = this.rng.pick(flooder.kinds) ?? 'malformed';
        if (node.host.sendRaw(target, badFrame(kind, this.rng, stash))) this.floodFrames++;
      }
    }
  }

  /** Every fault ends: the network is whole and calm, the server up, sleepers awake, the crashed restarted. */
  heal(): void {
    const { cluster } = this;
    this.healed = true;
    cluster.trace.note('heal');
    cluster.network.heal();
    cluster.network.faults = { ...cluster.network.faults, loss: 0, duplicate: 0, reorder: 0 };
    cluster.signaling.restore();
    for (const node of cluster.nodes) {
      if (node.asleep) cluster.wake(node);
      if (node.state === 'crashed') {
        cluster.start(node);
        this.counts.restarts++;
      }
    }
    this.restartAt.clear();
  }
}
