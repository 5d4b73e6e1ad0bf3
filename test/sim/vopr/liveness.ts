// After the heal: the room must be whole and working again within a budget, every honest node
// included. Each virtual second this lists what is still pending; the run passes once nothing is.
// A replica left alone in another view, or halted, or a node that never rejoined, is a failure
// once the budget is spent, and the report says what was pending and where.
import { stableJson } from '../checkers.ts';
import type { Rng } from '../../../src/core/rng.ts';
import type { RealCluster, SimNode } from '../real-node/real-cluster.ts';
import { consensusOf, type SafetyObserver } from './observer.ts';
import { epochMs } from '../real-node/real-cluster.ts';
import type { Workload } from './workload.ts';
import { tickMs } from './plan.ts';

export interface LivenessOutcome {
  ok: boolean;
  summary: string;
  /** Virtual ms from the heal until nothing was pending (or the budget). */
  waitedMs: number;
  /** What was still pending when the budget ran out (empty when ok). */
  pending: string[];
  /** Each node's state then (empty when ok). */
  nodes: string[];
  /** The genesis the honest nodes ended on (null when they did not agree), and its founder. */
  genesis: string | null;
  founder: { founder: string; foundedAt: number } | null;
}

const stepMs = 1_000;
/** Before a probe proposal is made: the restarted nodes rejoin first. */
const probeAfterMs = 3_000;
const probeKey = 'vopr-heal';

export async function checkLiveness(
  cluster: RealCluster,
  workload: Workload,
  observer: SafetyObserver,
  honest: (node: SimNode) => boolean,
  budgetMs: number,
  rng: Rng,
  setByzantine: (byzantine: ReadonlyMap<number, string>) => void,
  byzantine: ReadonlyMap<number, string>,
): Promise<LivenessOutcome> {
  const healedAt = cluster.now;
  let probe: { seq: number | null; done: boolean } | null = null;
  let memoryProbeSet = false;
  let pending: string[] = [];
  let genesis: string | null = null;
  while (cluster.now - healedAt <= budgetMs) {
    // Sampled every tick as before the heal: the backlog a heal releases commits in bursts, and
    // a log tail holds 64 operations (seed 16 at 400 ticks lost seqs 88–91 between two samples
    // a second apart, on every honest node).
    for (let ran = 0; ran < stepMs; ran += tickMs) {
      await cluster.runFor(tickMs);
      observer.sample();
    }
    setByzantine(byzantine);
    const honestUp = cluster.up().filter(honest);
    if (!memoryProbeSet && honestUp.length > 0) {
      workload.setMemory(rng.pick(honestUp) as SimNode, probeKey, `healed-${cluster.now}`);
      memoryProbeSet = true;
    }
    if (cluster.now - healedAt >= probeAfterMs && (!probe || (probe.done && probe.seq === null))) {
      const proposer = rng.pick(honestUp.filter((n) => consensusOf(cluster.snapshot(n))?.genesis));
      if (proposer) {
        const p: { seq: number | null; done: boolean } = { seq: null, done: false };
        probe = p;
        void workload.propose(proposer, 'probe').then((seq) => {
          p.seq = seq;
          p.done = true;
        });
      }
    }
    ({ pending, genesis } = whatIsPending(cluster, workload, honest, probe));
    if (pending.length === 0) {
      return {
        ok: true,
        summary: `live again ${((cluster.now - healedAt) / 1000).toFixed(0)} s after the heal`,
        waitedMs: cluster.now - healedAt,
        pending: [],
        nodes: [],
        genesis,
        founder: founderOf(cluster, genesis),
      };
    }
  }
  return {
    ok: false,
    summary: `not live ${(budgetMs / 1000).toFixed(0)} s after the heal (${pending.length} things pending)`,
    waitedMs: budgetMs,
    pending,
    nodes: cluster.nodes.map((n) => describeNode(cluster, n, honest(n))),
    genesis,
    founder: founderOf(cluster, genesis),
  };
}

function founderOf(cluster: RealCluster, genesis: string | null): { founder: string; foundedAt: number } | null {
  for (const node of cluster.up()) {
    const g = consensusOf(cluster.snapshot(node))?.genesis as { id: string; founder: string; foundedAt: number } | null | undefined;
    if (g && g.id === genesis) return { founder: g.founder, foundedAt: g.foundedAt };
  }
  return null;
}

function whatIsPending(
  cluster: RealCluster,
  workload: Workload,
  honest: (node: SimNode) => boolean,
  probe: { seq: number | null; done: boolean } | null,
): { pending: string[]; genesis: string | null } {
  const pending: string[] = [];
  const views = new Map<SimNode, ReturnType<typeof consensusOf>>();
  for (const node of cluster.nodes) {
    if (node.state === 'left') continue;
    if (!node.isUp) {
      pending.push(`${node.label} is not running (${node.state})`);
      continue;
    }
    const snapshot = cluster.snapshot(node);
    if (snapshot?.signaling !== 'joined')
      pending.push(`${node.label} is not in the room at the signaling server (${snapshot?.signaling}: ${snapshot?.signalingDetail})`);
    if (honest(node)) views.set(node, consensusOf(snapshot));
  }
  // One genesis for every honest node.
  const geneses = new Map<string, string[]>();
  for (const [node, c] of views) {
    const id = c?.genesis?.id ?? 'none (bootstrapping)';
    geneses.set(id, [...(geneses.get(id) ?? []), node.label]);
  }
  const [genesis] = [...geneses].sort((a, b) => b[1].length - a[1].length)[0] ?? [null];
  if (geneses.size > 1)
    pending.push(`honest nodes follow ${geneses.size} geneses: ${[...geneses].map(([g, ns]) => `${g.slice(0, 8)} (${ns.join(' ')})`).join(', ')}`);
  // Every honest replica in the same view, working.
  const replicas = [...views].filter(([, c]) => c?.status === 'replica');
  const viewCount = new Map<number, number>();
  for (const [, c] of replicas) viewCount.set(c?.view ?? -1, (viewCount.get(c?.view ?? -1) ?? 0) + 1);
  const commonView = [...viewCount].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const [node, c] of replicas) {
    if (!c) continue;
    if (c.view !== commonView)
      pending.push(
        `${node.label} is a replica in view ${c.view} (${c.mode}) while ${viewCount.get(commonView ?? -1)} others are in view ${commonView}${c.halted ? `; halted: ${c.halted}` : ''}`,
      );
    else if (c.halted) pending.push(`${node.label} is halted in view ${c.view}: ${c.halted}`);
    else if (c.mode !== 'normal') pending.push(`${node.label} is changing view (to ${c.view})`);
  }
  // A proposal made after the heal commits, everywhere.
  if (!probe) pending.push('no probe proposal made yet (no honest node follows a genesis)');
  else if (!probe.done) pending.push('the probe proposal has not committed yet');
  else if (probe.seq === null) pending.push('the probe proposal was refused or failed (a new one follows)');
  else {
    for (const [node, c] of views) {
      if ((c?.lastCommitted ?? 0) < probe.seq)
        pending.push(`${node.label} has committed up to seq ${c?.lastCommitted ?? 0}, not yet the probe's seq ${probe.seq}`);
    }
  }
  // Every honest node has committed the newest operation acknowledged under the room's genesis.
  // A client's f + 1 matching replies can come before the other replicas commit (their commits
  // are in flight), and the run is judged right after this check: without it an operation
  // acknowledged in the last few ms reads as beyond the slower honest logs (seed 38 at 150 ticks).
  const newestAcked = workload.acked.reduce((m, a) => (a.genesis === genesis ? Math.max(m, a.seq) : m), 0);
  for (const [node, c] of views) {
    if ((c?.lastCommitted ?? 0) < newestAcked)
      pending.push(`${node.label} has committed up to seq ${c?.lastCommitted ?? 0}, not yet the newest acknowledged seq ${newestAcked}`);
  }
  // Memory converges: every honest node holds the same entries, the heal's probe key among them.
  const memories = new Map<string, string[]>();
  for (const node of views.keys()) {
    const memory = (cluster.snapshot(node)?.memory ?? {}) as Record<string, unknown>;
    if (!(probeKey in memory)) pending.push(`${node.label}'s memory lacks the heal's probe key`);
    const key = stableJson(memory);
    memories.set(key, [...(memories.get(key) ?? []), node.label]);
  }
  if (memories.size > 1)
    pending.push(`memory has not converged: ${memories.size} different versions (${[...memories.values()].map((ns) => ns.join(' ')).join(' | ')})`);
  // Every job whose home is running finishes.
  for (const job of workload.jobs) {
    const snapshot = cluster.snapshot(job.home);
    if (!snapshot) continue;
    const view = (snapshot.jobs as Array<{ id: string; mine: boolean; status: string; done: number; total: number }> | undefined)?.find(
      (j) => j.id === job.id && j.mine,
    );
    if (!view) pending.push(`job ${job.id.slice(0, 10)} is gone from its home ${job.home.label}`);
    else if (view.status === 'queued' || view.status === 'running')
      pending.push(`job ${job.id.slice(0, 10)} at ${job.home.label} is ${view.status} (${view.done} of ${view.total} tasks)`);
  }
  return { pending, genesis: genesis === 'none (bootstrapping)' ? null : genesis };
}

function describeNode(cluster: RealCluster, node: SimNode, isHonest: boolean): string {
  const snapshot = cluster.snapshot(node);
  if (!snapshot) return `${node.label} ${node.state}${isHonest ? '' : ' (byzantine)'}`;
  const c = consensusOf(snapshot);
  const links = (snapshot.links as Array<{ peer: string }>).map((l) => cluster.nodes.find((n) => n.id === l.peer)?.label ?? l.peer.slice(0, 6));
  const proposals = (c as { proposals?: unknown } | null)?.proposals;
  const who = `${node.label}${isHonest ? '' : ` (byzantine ${c?.byzantine ?? '?'})`}`;
  const where = `consensus ${c?.status ?? '-'} genesis ${c?.genesis?.id.slice(0, 8) ?? '-'} view ${c?.view} ${c?.mode}`;
  const progress = `committed ${c?.lastCommitted} replicas ${c?.replicas.length}${c?.halted ? ` halted: ${c.halted}` : ''}`;
  const line = `${who}: signaling ${snapshot.signaling}, links [${links.join(' ')}], ${where} ${progress}; proposals ${JSON.stringify(proposals)}`;
  // A node that is stuck: its own account of how it got there (the consensus event list).
  if (!c || (!c.halted && c.mode === 'normal')) return line;
  const events = ((c as { events?: Array<{ at: number; kind: string; text: string }> }).events ?? []).slice(-8);
  return [line, ...events.map((e) => `      ${node.label} event at ${((e.at - epochMs) / 1000).toFixed(1)} s: ${e.kind}: ${e.text}`)].join('\n');
}
