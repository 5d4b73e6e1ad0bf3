// The chaos run's verdicts, as pure functions over what the runner collected: committed logs,
// acknowledged proposals, finished jobs, the final mesh, heap samples and flood outcomes. Each
// check says what it looked at and every way it failed; none of them decides anything from time.
import type { OutOfStepEpisode } from './liveness.ts';
import { coveredBatches, covers, entryKey, lastSeq, opKey, type LogHistory } from './logs.ts';

export type CheckName = 'consensus' | 'jobs' | 'mesh' | 'memory' | 'flood' | 'liveness';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  /** One line: what was checked. */
  summary: string;
  /** Every failure found (the first few dozen). */
  failures: string[];
  figures: Record<string, number | string | null>;
}

/** Failures listed per check at most (the count is in the figures). */
const maxFailuresListed = 40;

function result(name: CheckName, summary: string, failures: string[], figures: CheckResult['figures']): CheckResult {
  return { name, ok: failures.length === 0, summary, failures: failures.slice(0, maxFailuresListed), figures: { ...figures, failures: failures.length } };
}

const short = (id: string): string => id.slice(0, 8);

// ── (a) consensus: acknowledged operations, in every honest log, in the same order ──

export interface AckedOp {
  /** The operation as proposed (the decision's value is unique per run). */
  op: unknown;
  /** What propose() resolved with: the committed sequence number. */
  seq: number;
  /** The tab that proposed it. */
  by: string;
}

export interface ConsensusInput {
  /** Histories of the honest tabs still open, under the genesis they ended on. */
  histories: LogHistory[];
  acked: AckedOp[];
  /** Proposals that were refused or timed out (reported, not failures: only acknowledged ones are promised). */
  failedProposals: number;
}

export function checkConsensus(input: ConsensusInput): CheckResult {
  const failures: string[] = [];
  const { histories, acked } = input;
  const geneses = new Set(histories.map((h) => h.genesis));
  if (histories.length === 0) failures.push('no honest tab had a committed log to check');
  if (geneses.size > 1) failures.push(`honest tabs ended under ${geneses.size} different geneses: ${[...geneses].map(short).join(', ')}`);
  for (const h of histories) for (const c of h.conflicts) failures.push(`log of ${short(h.node)} changed between samples: ${c}`);

  // Position by position: every sequence number two honest tabs both cover holds the same batch.
  const batches = histories.map((h) => ({ h, bySeq: coveredBatches(h) }));
  let compared = 0;
  for (let i = 0; i < batches.length; i++) {
    for (let j = i + 1; j < batches.length; j++) {
      const a = batches[i] as (typeof batches)[number];
      const b = batches[j] as (typeof batches)[number];
      for (const [seq, entriesA] of a.bySeq) {
        if (!covers(b.h, seq)) continue;
        const entriesB = b.bySeq.get(seq) ?? [];
        compared++;
        const keysA = entriesA.map(entryKey).join(' ; ');
        const keysB = entriesB.map(entryKey).join(' ; ');
        if (keysA !== keysB)
          failures.push(`seq ${seq}: ${short(a.h.node)} holds [${keysA.slice(0, 160)}], ${short(b.h.node)} holds [${keysB.slice(0, 160) || 'nothing'}]`);
      }
      // A sequence number b covers with entries but a covers without any is a disagreement too.
      for (const [seq] of b.bySeq)
        if (covers(a.h, seq) && !a.bySeq.has(seq)) failures.push(`seq ${seq}: ${short(b.h.node)} holds a batch, ${short(a.h.node)} holds none`);
    }
  }

  // Every acknowledged operation: at its sequence number, exactly once, in every honest log that
  // covers it; and every honest log reaches the newest of them (none lost at the tail).
  let verified = 0;
  const newestAcked = acked.reduce((m, a) => Math.max(m, a.seq), 0);
  for (const h of histories) {
    if (lastSeq(h) < newestAcked) failures.push(`log of ${short(h.node)} ends at seq ${lastSeq(h)}, before acknowledged seq ${newestAcked}`);
  }
  for (const a of acked) {
    const key = opKey(a.op);
    let coveredBy = 0;
    for (const h of histories) {
      const places = h.entries.filter((e) => opKey(e.op) === key);
      if (places.length > 1)
        failures.push(`${key.slice(0, 60)} appears ${places.length} times in the log of ${short(h.node)} (seqs ${places.map((e) => e.seq).join(', ')})`);
      for (const e of places)
        if (e.seq !== a.seq) failures.push(`${key.slice(0, 60)} was acknowledged at seq ${a.seq} but ${short(h.node)} has it at seq ${e.seq}`);
      if (!covers(h, a.seq)) continue;
      coveredBy++;
      if (!places.some((e) => e.seq === a.seq))
        failures.push(`${key.slice(0, 60)} (acknowledged at seq ${a.seq} to ${short(a.by)}) is missing from the log of ${short(h.node)}`);
    }
    if (coveredBy === 0 && histories.length > 0) failures.push(`${key.slice(0, 60)} (seq ${a.seq}) could not be verified: no honest log was sampled there`);
    else if (coveredBy > 0) verified++;
  }
  const gaps = histories.reduce((n, h) => n + h.gaps.length, 0);
  return result('consensus', `${acked.length} acknowledged operations against ${histories.length} honest logs, position by position`, failures, {
    acked: acked.length,
    verified,
    failedProposals: input.failedProposals,
    honestLogs: histories.length,
    batchesCompared: compared,
    samplingGaps: gaps,
    newestSeq: newestAcked,
  });
}

// ── (b) jobs: exactly one accepted result per task ──

export interface JobOutcome {
  id: string;
  home: string;
  /** The home's snapshot().jobs entry. */
  status: string;
  done: number;
  total: number;
  redundancy: number;
  shares: Record<string, number>;
  /** The home's accepted results, in acceptance order (debug.acceptedTasks); null if the home could not be asked. */
  accepted: Array<{ index: number; nodes: string[] }> | null;
  /** Primes jobs: the count the mesh returned, and the count computed by the runner. */
  count: number | null;
  expectedCount: number | null;
  /** Whether the home tab is still open at the end. */
  homeOpen: boolean;
  /**
   * Whether the fields above were read from the home while it was open, when the job ended
   * there (the home closed later). Such a job is judged like one at an open home; a job whose
   * home closed before it ended is reported, not judged.
   */
  recorded?: boolean;
}

/** What a home's snapshot().jobs lists about one job (the fields a JobOutcome starts from). */
export interface JobView {
  status: string;
  done: number;
  total: number;
  redundancy: number;
  shares: Record<string, number>;
}

/**
 * A job's outcome as its home lists it (or an unknown one when the home lists nothing); the
 * accepted results and the counts are filled in by the caller for a done job. The one way both
 * the chaos run and the VOPR start judging a job.
 */
export function jobOutcomeFromView(job: { id: string; home: string }, view: JobView | undefined, homeOpen: boolean, status = 'unknown'): JobOutcome {
  return {
    id: job.id,
    home: job.home,
    status: view?.status ?? status,
    done: view?.done ?? 0,
    total: view?.total ?? 0,
    redundancy: view?.redundancy ?? 1,
    shares: view?.shares ?? {},
    accepted: null,
    count: null,
    expectedCount: null,
    homeOpen,
  };
}

export function checkJobs(jobs: readonly JobOutcome[]): CheckResult {
  const failures: string[] = [];
  const byStatus: Record<string, number> = {};
  let judged = 0;
  let closedHomes = 0;
  for (const job of jobs) {
    const judgeable = job.homeOpen || job.recorded === true;
    const status = judgeable ? job.status : `home closed before it ended (${job.status})`;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (!judgeable) continue;
    if (!job.homeOpen) closedHomes++;
    const name = `job ${job.id.slice(0, 12)} at ${short(job.home)}`;
    if (job.status === 'queued' || job.status === 'running') {
      failures.push(`${name} never finished (${job.done} of ${job.total} tasks) though its home stayed open`);
      continue;
    }
    if (job.status === 'missing at its home') {
      failures.push(`${name} is gone from its home, which stayed open (it was stored before submitJob resolved)`);
      continue;
    }
    if (job.status !== 'done') continue;
    judged++;
    if (job.done !== job.total) failures.push(`${name} is done with ${job.done} of ${job.total} tasks accepted`);
    if (!job.accepted) {
      failures.push(`${name}: its accepted results could not be read`);
      continue;
    }
    const seen = new Map<number, number>();
    for (const t of job.accepted) seen.set(t.index, (seen.get(t.index) ?? 0) + 1);
    for (const [index, times] of seen) {
      if (times > 1) failures.push(`${name}: task ${index} has ${times} accepted results`);
      if (!Number.isInteger(index) || index < 0 || index >= job.total)
        failures.push(`${name}: a result was accepted for task ${index}, which the job does not have`);
    }
    for (let i = 0; i < job.total; i++) if (!seen.has(i)) failures.push(`${name}: task ${i} has no accepted result`);
    for (const t of job.accepted) {
      if (t.nodes.length < job.redundancy || (job.redundancy === 1 && t.nodes.length !== 1)) {
        failures.push(`${name}: task ${t.index} was accepted from ${t.nodes.length} nodes, redundancy ${job.redundancy}`);
      }
    }
    const credited = Object.values(job.shares).reduce((s, n) => s + n, 0);
    const computed = job.accepted.reduce((s, t) => s + t.nodes.length, 0);
    if (credited !== computed) failures.push(`${name}: shares credit ${credited} results, the accepted results name ${computed} (a task counted twice?)`);
    if (job.expectedCount !== null && job.count !== job.expectedCount)
      failures.push(`${name}: the mesh counted ${job.count ?? 'nothing'}, the right answer is ${job.expectedCount}`);
  }
  if (judged === 0) failures.push('no job finished at an open home: nothing to check');
  return result('jobs', `${judged} finished jobs: one accepted result per task, the right answer`, failures, {
    submitted: jobs.length,
    judged,
    judgedAfterHomeClosed: closedHomes,
    statuses: Object.entries(byStatus)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', '),
  });
}

// ── (c) mesh: every open tab alive in everyone's membership, linked, one connected graph ──

export interface TabFinal {
  id: string;
  links: string[];
  members: Array<{ id: string; status: string }>;
}

export function checkMesh(tabs: readonly TabFinal[]): CheckResult {
  const failures: string[] = [];
  const open = new Set(tabs.map((t) => t.id));
  for (const t of tabs) {
    if (t.links.length === 0) failures.push(`${short(t.id)} has no link`);
    const statusOf = new Map(t.members.map((m) => [m.id, m.status]));
    for (const other of open) {
      const status = statusOf.get(other);
      if (status !== 'alive') failures.push(`${short(t.id)} sees ${short(other)} as ${status ?? 'unknown'}, not alive`);
    }
  }
  // One graph over the open tabs (a link counts if either end reports it).
  const adjacent = new Map<string, Set<string>>([...open].map((id) => [id, new Set<string>()]));
  for (const t of tabs) {
    for (const peer of t.links) {
      if (!open.has(peer)) continue;
      adjacent.get(t.id)?.add(peer);
      adjacent.get(peer)?.add(t.id);
    }
  }
  const start = tabs[0]?.id;
  const reached = new Set<string>(start ? [start] : []);
  const queue = start ? [start] : [];
  while (queue.length > 0) {
    const at = queue.pop() as string;
    for (const next of adjacent.get(at) ?? []) {
      if (reached.has(next)) continue;
      reached.add(next);
      queue.push(next);
    }
  }
  if (reached.size < open.size)
    failures.push(
      `the link graph is split: ${reached.size} of ${open.size} tabs reachable from ${short(start ?? '')}; cut off: ${[...open]
        .filter((id) => !reached.has(id))
        .map(short)
        .join(', ')}`,
    );
  const degrees = tabs.map((t) => t.links.filter((p) => open.has(p)).length);
  return result('mesh', `${tabs.length} open tabs: alive to all, linked, connected`, failures, {
    tabs: tabs.length,
    minLinks: degrees.length ? Math.min(...degrees) : null,
    maxLinks: degrees.length ? Math.max(...degrees) : null,
  });
}

// ── (d) memory: JS heap per tab stayed under a stated bound ──

export interface HeapSample {
  tab: string;
  atMs: number;
  /** The page's heap plus its protocol worker's, bytes. */
  bytes: number;
}

export function checkMemory(samples: readonly HeapSample[], boundBytes: number): CheckResult {
  const failures: string[] = [];
  const worst = new Map<string, HeapSample>();
  for (const s of samples) {
    const w = worst.get(s.tab);
    if (!w || s.bytes > w.bytes) worst.set(s.tab, s);
    if (!Number.isFinite(s.bytes) || s.bytes <= 0) failures.push(`tab ${short(s.tab)}: a heap sample of ${s.bytes} bytes is not a measurement`);
  }
  for (const w of worst.values()) {
    if (w.bytes > boundBytes)
      failures.push(
        `tab ${short(w.tab)} used ${(w.bytes / 1e6).toFixed(1)} MB of JS heap at ${(w.atMs / 1000).toFixed(0)} s, over the bound of ${(boundBytes / 1e6).toFixed(0)} MB`,
      );
  }
  if (samples.length === 0) failures.push('no heap sample was taken');
  const peak = Math.max(0, ...[...worst.values()].map((w) => w.bytes));
  return result('memory', `live JS heap (page + protocol worker, after GC) of every tab ≤ ${(boundBytes / 1e6).toFixed(0)} MB in every sample`, failures, {
    samples: samples.length,
    tabsSampled: worst.size,
    peakMb: Math.round(peak / 1e5) / 10,
    boundMb: Math.round(boundBytes / 1e6),
  });
}

// ── flood: the receiver's guard refused the flood and cut the flooder off ──

export interface FloodOutcome {
  from: string;
  to: string | null;
  kind: string;
  /** Frames handed to the link; null when the flood could not be started (the reason is in `error`). */
  sent: number | null;
  /** Frames the receiver refused (throttled, garbage, or from a peer kept out) because of this flood. */
  refused: number;
  /** The receiver keeps the flooder out (cut off). */
  cutOff: boolean;
  error: string | null;
}

export function checkFlood(outcomes: readonly FloodOutcome[]): CheckResult {
  const failures: string[] = [];
  const ran = outcomes.filter((o) => o.sent !== null && o.to !== null);
  for (const o of ran) {
    const name = `flood ${o.kind} from ${short(o.from)} to ${short(o.to ?? '')}`;
    if (o.refused === 0) failures.push(`${name}: the receiver refused none of ${o.sent} frames`);
    if (!o.cutOff) failures.push(`${name}: the receiver did not cut the flooder off`);
  }
  if (outcomes.length > 0 && ran.length === 0) failures.push(`no flood could be started: ${outcomes.map((o) => o.error ?? 'unknown').join('; ')}`);
  return result('flood', `${ran.length} floods: refused and cut off by the receiver's guard`, failures, {
    floods: ran.length,
    notStarted: outcomes.length - ran.length,
    refused: ran.reduce((s, o) => s + o.refused, 0),
    cutOffs: ran.filter((o) => o.cutOff).length,
  });
}

// ── liveness: no honest replica out of step for long while the faults allow progress ──

/**
 * Longest an honest replica may be out of step while a group is in step without it (halted, in
 * a view change or another view by itself), with Byzantine plus missing replicas within f. A
 * reloaded tab catching up by state transfer ends within it; a replica alone in a view nobody
 * else joins does not (issue 18: 270 s, until its tab was killed).
 */
export const defaultOutOfStepBoundMs = 120_000;
/**
 * Longest the whole group may go without two replicas in step (a group-wide view change). The
 * view-change timeout doubles from 1 s to its 32 s ceiling (src/core/pbft/constants.ts), so on
 * a CPU-starved machine a few views that each time out take minutes: the second run of seed
 * 954675951 (load average 17–31) spread over views 9–13 for 175–190 s. Longer than this is a
 * room that no longer settles on a primary, and fails.
 */
export const defaultGroupChurnBoundMs = 300_000;

export function checkLiveness(
  episodes: readonly OutOfStepEpisode[],
  boundMs: number = defaultOutOfStepBoundMs,
  groupBoundMs: number = defaultGroupChurnBoundMs,
): CheckResult {
  const failures: string[] = [];
  let longestAlone: OutOfStepEpisode | null = null;
  let longestGroupMs = 0;
  const span = (e: OutOfStepEpisode) => `from ${(e.fromMs / 1000).toFixed(0)} s to ${(e.toMs / 1000).toFixed(0)} s of the run; ended: ${e.ended}`;
  for (const e of episodes) {
    const ms = e.toMs - e.fromMs;
    if (!longestAlone || e.aloneMs > longestAlone.aloneMs) longestAlone = e;
    longestGroupMs = Math.max(longestGroupMs, ms - e.aloneMs);
    if (e.aloneMs > boundMs) {
      failures.push(`replica ${short(e.replica)} was out of step alone for ${(e.aloneMs / 1000).toFixed(0)} s (${span(e)}): ${e.what.slice(0, 240)}`);
    } else if (ms - e.aloneMs > groupBoundMs) {
      failures.push(
        `replica ${short(e.replica)} was in a group-wide view change for ${((ms - e.aloneMs) / 1000).toFixed(0)} s (${span(e)}): ${e.what.slice(0, 240)}`,
      );
    }
  }
  const summary = `no honest replica out of step alone for more than ${(boundMs / 1000).toFixed(0)} s, nor the group for more than ${(groupBoundMs / 1000).toFixed(0)} s, while faults ≤ f`;
  return result('liveness', summary, failures, {
    episodes: episodes.length,
    longestAloneS: longestAlone ? Math.round(longestAlone.aloneMs / 100) / 10 : 0,
    longestAloneWhat: longestAlone && longestAlone.aloneMs > 0 ? `${short(longestAlone.replica)}: ${longestAlone.what.slice(0, 120)}` : null,
    longestGroupChurnS: Math.round(longestGroupMs / 100) / 10,
    boundS: Math.round(boundMs / 1000),
    groupBoundS: Math.round(groupBoundMs / 1000),
  });
}
