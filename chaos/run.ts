// The chaos run: N headless tabs in one room while the seeded adversary of schedule.ts kills,
// crashes and reloads tabs, restarts the signaling server, turns tabs Byzantine and floods links,
// and a client keeps proposing operations and submitting jobs from honest tabs. Then the mesh is
// left to settle and checks.ts judges what was collected. Everything random comes from the seed;
// what the machine's speed changes (how long an action takes) is waited for, never assumed.
import { countPrimes } from '../src/compute/kernels/primes.ts';
import { noDeadline } from '../src/compute/kernels/registry.ts';
import {
  checkConsensus,
  checkFlood,
  checkJobs,
  checkLiveness,
  checkMemory,
  checkMesh,
  type AckedOp,
  type CheckResult,
  type FloodOutcome,
  type HeapSample,
  jobOutcomeFromView,
  type JobOutcome,
  type TabFinal,
} from './checks.ts';
import { LivenessTracker } from './liveness.ts';
import { mergeSample, newHistory, type LogHistory } from './logs.ts';
import { heapOfTab, probe, type Probe } from './probe.ts';
import { startChaosRig, type ChaosRig } from './rig.ts';
import { describeAction, faultsTolerated, makeSchedule, type ChaosAction, type ChaosSchedule } from './schedule.ts';
import { apiReady, TabPool, type Tab } from './tabs.ts';
import type { FloodKind, FloodReport } from '../src/debug-api.ts';

/**
 * Bound on the live JS heap per tab (page + protocol worker, measured after a garbage
 * collection), bytes. Chaos runs measured 15–22 MB per tab; the bound allows twice that and
 * more, for jobs, floods and full queues, but not a leak that grows with the run.
 */
export const defaultHeapBoundBytes = 48e6;
/** Period of the log/state sampler: a tab's 64-entry log tail must be read before it scrolls past. */
const sampleIntervalMs = 1_000;
/** Period of the heap sampler. */
const heapIntervalMs = 10_000;
/** Heap samples kept (an hour of 8 tabs is under 3,000); later ones are not taken. */
const maxHeapSamples = 20_000;
/** Distinct proposal errors counted; further reasons are only in `failedProposals`. */
const maxErrorReasons = 32;
/** Longest wait for the mesh and consensus to form at the start. */
const formTimeoutMs = 240_000;
/** Longest wait, before a destructive action, for the previous one to heal (replica set = open tabs). */
const steadyTimeoutMs = 90_000;
/** A tab this many sequence numbers behind the newest is still catching up (not steady). */
const caughtUpSeqs = 8;
/** With proposals open, a commit within this long means consensus is flowing. */
const flowingWithinMs = 5_000;
/** Longest wait at the end for the mesh to settle (every check's precondition) before judging anyway. */
const settleTimeoutMs = 180_000;
/** Longest wait for proposals still open at the end (propose() gives up after 30 s by itself). */
const proposalDrainMs = 60_000;
/** Proposals in flight at once; a step beyond this is skipped (counted) rather than queued. */
const maxOpenProposals = 8;
/** Longest wait for the flooder to have a link to flood (it may have just joined). */
const floodLinkTimeoutMs = 30_000;
/** Flood rounds at most while the receiver has not cut the flooder off. */
const floodRounds = 3;
/** Tries at a flood when the link picked goes down before the flood starts. */
const floodAttempts = 5;
/** A wait for a commit this long (with proposals open) is noted in the log and the report. */
const stallNoteMs = 20_000;
/** Stall notes kept. */
const maxStallNotes = 20;
/** Longest wait for a flooded receiver to cut the flooder off. */
const floodVerdictTimeoutMs = 20_000;
/** Chromium processes the tabs are spread over (each tab still has its own renderer). */
const browserProcesses = 2;
/** Refusal reasons of the runtime that a flood causes at its receiver (runtime.ts, links.ts). */
const floodReasons = /^(peer over its|peer cut off|frame from a peer that is kept out|bad frame|malformed link message|data on a link that is not up)/;

export interface ChaosRunOptions {
  seed: number;
  tabs: number;
  durationMs: number;
  quick: boolean;
  staticDir: string;
  chromePath: string;
  heapBoundBytes?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface ActionRecord {
  kind: ChaosAction['kind'];
  plannedMs: number;
  startedMs: number;
  tookMs: number;
  action: string;
  outcome: 'done' | 'skipped' | 'failed';
  note: string;
}

export interface ChaosReport {
  seed: number;
  tabs: number;
  durationMs: number;
  quick: boolean;
  ok: boolean;
  checks: CheckResult[];
  actions: ActionRecord[];
  figures: Record<string, number | string | null>;
  pageErrors: string[];
  /** The command that replays this run's schedule. */
  replay: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const short = (id: string) => id.slice(0, 8);

export function replayCommand(o: { seed: number; tabs: number; durationMs: number; quick: boolean }): string {
  return `npm run chaos -- --seed ${o.seed} --tabs ${o.tabs} --duration ${Math.round(o.durationMs / 1000)}${o.quick ? ' --quick' : ''}`;
}

export async function runChaos(options: ChaosRunOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.error(line));
  const schedule = makeSchedule({ seed: options.seed, tabs: options.tabs, durationMs: options.durationMs, quick: options.quick });
  const replay = replayCommand(options);
  log(`chaos: seed ${options.seed}, ${options.tabs} tabs, ${options.durationMs / 1000} s of adversary (replay: ${replay})`);
  for (const a of schedule.actions) log(`  plan ${describeAction(a)}`);
  const rig = await startChaosRig({ staticDir: options.staticDir, chromePath: options.chromePath, browsers: browserProcesses });
  const run = new ChaosRun(rig, schedule, options, log);
  try {
    return await run.execute(replay);
  } finally {
    await run.stop();
    await rig.close();
  }
}

class ChaosRun {
  private readonly started = Date.now();
  private readonly pool: TabPool;
  private readonly latest = new Map<number, Probe>();
  private readonly histories = new Map<string, LogHistory>();
  private readonly everByzantine = new Set<string>();
  private readonly acked: AckedOp[] = [];
  private readonly proposalErrors = new Map<string, number>();
  private failedProposals = 0;
  private skippedProposals = 0;
  private readonly openProposals = new Set<Promise<void>>();
  private proposalCounter = 0;
  private readonly jobs: Array<{ id: string; home: string; to: number }> = [];
  /** Jobs that ended while their home was open, as read from it then (judged even if the home closes later). */
  private readonly endedJobs = new Map<string, JobOutcome>();
  /** Primes counted by the runner, per range end (the right answers). */
  private readonly primeCounts = new Map<number, number>();
  /** The last status each job's home showed (for jobs whose home closed before they ended). */
  private readonly lastJobStatus = new Map<string, string>();
  /** Honest replicas out of step with the group, and for how long (liveness.ts). */
  private readonly liveness = new LivenessTracker();
  private jobErrors = 0;
  private readonly heap: HeapSample[] = [];
  private readonly floods: FloodOutcome[] = [];
  private readonly actions: ActionRecord[] = [];
  private sampling = false;
  private clientRunning = false;
  private loops: Promise<void>[] = [];
  private sampleRounds = 0;
  /** Liveness, reported (not judged): the newest commit any tab shows, when it last moved, and the longest wait for it with proposals open. */
  private newestCommit = 0;
  private newestCommitAt = Date.now();
  private longestStallMs = 0;
  private readonly stalls: string[] = [];
  private stallLogged = false;
  /** The tabs as they were when the mesh was last seen settled (what the mesh check judges). */
  private settledFinals: TabFinal[] | null = null;

  constructor(
    private readonly rig: ChaosRig,
    private readonly schedule: ChaosSchedule,
    private readonly options: ChaosRunOptions,
    private readonly log: (line: string) => void,
  ) {
    this.pool = new TabPool(rig, `${rig.url}?room=${encodeURIComponent(`chaos-${schedule.seed}`)}`, schedule.tabs, () => this.elapsed());
  }

  private elapsed(): number {
    return Date.now() - this.started;
  }

  async execute(replay: string): Promise<ChaosReport> {
    const t0 = this.elapsed();
    for (let i = 0; i < this.schedule.tabs; i++) {
      const tab = await this.pool.openAt(i);
      this.log(`  tab ${i} joined as ${short(tab.id)}`);
    }
    this.sampling = true;
    this.loops.push(this.sampleLoop(), this.heapLoop());
    const formed = await this.waitFor(() => this.steady(), formTimeoutMs);
    const formMs = this.elapsed() - t0;
    if (!formed) {
      this.log(`chaos: the mesh and consensus did not form within ${formTimeoutMs / 1000} s`);
      return this.report(replay, [this.notFormed()], { formMs: null });
    }
    this.log(`  mesh and consensus formed in ${(formMs / 1000).toFixed(1)} s: ${this.schedule.tabs} replicas`);

    const adversaryStart = Date.now();
    this.clientRunning = true;
    const client = [this.proposalLoop(adversaryStart), this.jobLoop(adversaryStart)];
    for (const action of this.schedule.actions) {
      const wait = adversaryStart + action.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      await this.perform(action, adversaryStart);
    }
    const remaining = adversaryStart + this.schedule.durationMs - Date.now();
    if (remaining > 0) await sleep(remaining);
    const adversaryMs = Date.now() - adversaryStart;
    this.clientRunning = false;
    await Promise.all(client);
    await Promise.race([Promise.allSettled([...this.openProposals]), sleep(proposalDrainMs)]);

    this.log('  adversary done; letting the mesh settle');
    const settleStart = Date.now();
    for (const tab of this.pool.open()) if (this.latest.get(tab.position)?.byzantine) await this.setByzantine(tab, null);
    const settled = await this.waitFor(() => this.settled(), settleTimeoutMs);
    const settleMs = Date.now() - settleStart;
    this.log(`  ${settled ? 'settled' : 'did NOT settle'} after ${(settleMs / 1000).toFixed(1)} s`);
    // The mesh is judged on the probes that showed it whole (one consistent moment: a suspicion
    // raised and refuted a second later is gossip at work, not a tab out of the mesh); if it never
    // got there, on the latest probes.
    const checks = await this.judge(this.settledFinals ?? this.finals());
    return this.report(replay, checks, { formMs, adversaryMs, settleMs, settled: settled ? 'yes' : 'no' });
  }

  async stop(): Promise<void> {
    this.sampling = false;
    this.clientRunning = false;
    await Promise.allSettled(this.loops);
    await this.pool.closeAll();
  }

  // ── sampling ──

  private async sampleLoop(): Promise<void> {
    while (this.sampling) {
      await this.sampleAll();
      await sleep(sampleIntervalMs);
    }
  }

  private async sampleAll(): Promise<void> {
    this.sampleRounds++;
    for (const tab of this.pool.open()) {
      const p = await probe(tab.page);
      if (!p || this.pool.tab(tab.position) !== tab) continue;
      this.latest.set(tab.position, p);
      if (p.byzantine) this.everByzantine.add(p.id);
      if (!p.genesis) continue;
      const key = `${p.id}|${p.genesis}`;
      let history = this.histories.get(key);
      if (!history) this.histories.set(key, (history = newHistory(p.id, p.genesis)));
      mergeSample(history, p.log);
    }
    // Probes of positions whose tab is gone are stale.
    for (const position of [...this.latest.keys()]) if (!this.pool.tab(position)) this.latest.delete(position);
    this.watchLiveness();
    this.trackReplicas();
    await this.recordEndedJobs();
  }

  /** Feeds the liveness tracker: every open tab's consensus state, and whether faults are within f now. */
  private trackReplicas(): void {
    const budget = this.faultBudget();
    const samples = this.probes().map(({ p }) => ({
      id: p.id,
      status: p.status,
      view: p.view,
      mode: p.mode,
      replicas: p.replicas,
      halted: p.halted,
      byzantine: p.byzantine,
    }));
    const openIds = new Set(this.pool.open().map((t) => t.id));
    this.liveness.observe(this.elapsed(), samples, openIds, budget.byzantine + budget.down <= budget.f);
  }

  /** Reads a job's outcome from its home as soon as it ends there, so that closing the home later does not leave it unjudged. */
  private async recordEndedJobs(): Promise<void> {
    for (const job of this.jobs) {
      if (this.endedJobs.has(job.id)) continue;
      const home = this.probes().find(({ p }) => p.id === job.home);
      const view = home?.p.jobs.find((j) => j.id === job.id && j.mine);
      if (!home || !view) continue;
      this.lastJobStatus.set(job.id, view.status);
      if (view.status === 'queued' || view.status === 'running') continue;
      const outcome = await this.readOutcome(job, home.tab, view);
      // The tab may have closed while we read: only what it answered in full counts.
      if (view.status !== 'done' || outcome.accepted !== null) this.endedJobs.set(job.id, { ...outcome, recorded: true });
    }
  }

  /** Tracks how long commits stood still while proposals waited (a liveness figure, and a note with the state when it is long). */
  private watchLiveness(): void {
    const newest = Math.max(0, ...this.probes().map(({ p }) => p.lastCommitted));
    const now = Date.now();
    if (newest > this.newestCommit || this.openProposals.size === 0) {
      this.stallLogged = false;
      const stalled = now - this.newestCommitAt;
      if (stalled >= stallNoteMs && this.stalls.length < maxStallNotes)
        this.stalls.push(`${(stalled / 1000).toFixed(0)} s without a commit, ending at ${((now - this.started) / 1000).toFixed(0)} s of the run`);
      this.newestCommit = Math.max(this.newestCommit, newest);
      this.newestCommitAt = now;
      return;
    }
    const stalled = now - this.newestCommitAt;
    if (stalled > this.longestStallMs) this.longestStallMs = stalled;
    if (stalled >= stallNoteMs && !this.stallLogged) {
      this.stallLogged = true;
      this.log(`  no commit for ${(stalled / 1000).toFixed(0)} s with proposals open: ${this.stateLine()}`);
    }
  }

  /** Every open tab in a few words: id, consensus role, view and mode, replica count, last commit, why halted. */
  private stateLine(): string {
    return this.probes()
      .map(
        ({ tab, p }) =>
          `${tab.position}:${short(p.id)} ${p.status} v${p.view}${p.mode === 'normal' ? '' : ` ${p.mode}`} n=${p.replicas.length} @${p.lastCommitted}${p.byzantine ? ` byz=${p.byzantine}` : ''}${p.halted ? ` halted: ${p.halted.slice(0, 60)}` : ''}`,
      )
      .join('; ');
  }

  private async heapLoop(): Promise<void> {
    while (this.sampling) {
      for (const tab of this.pool.open()) {
        const bytes = await heapOfTab(tab.page);
        if (bytes !== null && tab.id && this.heap.length < maxHeapSamples) this.heap.push({ tab: tab.id, atMs: this.elapsed(), bytes });
      }
      await sleep(heapIntervalMs);
    }
  }

  // ── the state of the mesh, from the latest probes ──

  private probes(): Array<{ tab: Tab; p: Probe }> {
    return this.pool.open().flatMap((tab) => {
      const p = this.latest.get(tab.position);
      return p && p.id === tab.id ? [{ tab, p }] : [];
    });
  }

  /** The replica set as the most advanced tab sees it. */
  private replicaSet(): string[] {
    let best: Probe | null = null;
    for (const { p } of this.probes()) if (p.status === 'replica' && (!best || p.lastCommitted > best.lastCommitted)) best = p;
    return best?.replicas ?? [];
  }

  /**
   * The last fault has healed: every open tab is a replica of one genesis in a normal view (no
   * view change under way, nothing halted), the replica set is exactly the open tabs, every tab
   * has caught up, and commits are flowing if anyone waits for one. Only then may the adversary
   * take another replica down: a set still shrinking or a view change still running can turn one
   * more fault into more than f.
   */
  private steady(): boolean {
    const probes = this.probes();
    if (probes.length !== this.pool.open().length || probes.length === 0) return false;
    const open = new Set(probes.map(({ p }) => p.id));
    const genesis = probes[0]?.p.genesis;
    const whole = probes.every(
      ({ p }) =>
        p.status === 'replica' &&
        p.mode === 'normal' &&
        !p.halted &&
        p.genesis === genesis &&
        p.replicas.length === open.size &&
        p.replicas.every((r) => open.has(r)),
    );
    const commits = probes.map(({ p }) => p.lastCommitted);
    const caughtUp = Math.max(...commits) - Math.min(...commits) <= caughtUpSeqs;
    const flowing = this.openProposals.size === 0 || Date.now() - this.newestCommitAt < flowingWithinMs;
    return whole && caughtUp && flowing;
  }

  /** Faulty replicas now (Byzantine, or not among the open tabs) and the f of the set. */
  private faultBudget(): { replicas: number; byzantine: number; down: number; f: number } {
    const replicas = this.replicaSet();
    const byId = new Map(this.probes().map(({ p }) => [p.id, p]));
    const byzantine = replicas.filter((r) => byId.get(r)?.byzantine).length;
    const down = replicas.filter((r) => !byId.has(r)).length;
    return { replicas: replicas.length, byzantine, down, f: faultsTolerated(replicas.length) };
  }

  private async waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (condition()) return true;
      await sleep(sampleIntervalMs / 2);
    }
    return condition();
  }

  // ── the adversary ──

  private async perform(action: ChaosAction, adversaryStart: number): Promise<void> {
    const startedMs = Date.now() - adversaryStart;
    const record = (outcome: ActionRecord['outcome'], note: string) => {
      const entry: ActionRecord = {
        kind: action.kind,
        plannedMs: action.atMs,
        startedMs,
        tookMs: Date.now() - adversaryStart - startedMs,
        action: describeAction(action),
        outcome,
        note,
      };
      this.actions.push(entry);
      this.log(`  ${outcome} ${entry.action}${note ? ` — ${note}` : ''} (at ${(startedMs / 1000).toFixed(1)} s, took ${(entry.tookMs / 1000).toFixed(1)} s)`);
    };
    try {
      const note = await this.act(action);
      if (note.startsWith('skipped: ')) record('skipped', note.slice('skipped: '.length));
      else record('done', note);
    } catch (error) {
      record('failed', error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error));
    }
  }

  /** Carries out one action; returns a note ('skipped: why' when a rule forbade it now). */
  private async act(action: ChaosAction): Promise<string> {
    switch (action.kind) {
      case 'server-restart': {
        await this.rig.stopServer();
        // The outage itself: the schedule says how long the server stays down.
        await sleep(action.downMs);
        await this.rig.startServer();
        return '';
      }
      case 'flood':
        return this.flood(action.tab, action.frames, action.flood);
      case 'honest': {
        const tab = this.pool.tab(action.tab);
        if (!tab) return 'skipped: no tab there';
        await this.setByzantine(tab, null);
        return short(tab.id);
      }
      default:
        break;
    }
    // Byzantine, kill, crash, reload: let the previous fault heal first, then keep faulty ≤ f.
    const steadyBefore = await this.waitFor(() => this.steady(), steadyTimeoutMs);
    const budget = this.faultBudget();
    const healNote = steadyBefore
      ? ''
      : ` (the mesh was not steady after ${steadyTimeoutMs / 1000} s: ${budget.replicas} replicas, ${budget.down} down; ${this.stateLine()})`;
    if (budget.byzantine + budget.down + 1 > budget.f) {
      return `skipped: ${budget.byzantine} Byzantine + ${budget.down} down of ${budget.replicas} replicas leaves no room under f = ${budget.f}${healNote}`;
    }
    const tab = this.pool.tab(action.tab);
    if (!tab) return `skipped: no tab at position ${action.tab}${healNote}`;
    switch (action.kind) {
      case 'byzantine': {
        if (!this.replicaSet().includes(tab.id)) return `skipped: ${short(tab.id)} is not a replica${healNote}`;
        this.everByzantine.add(tab.id);
        await this.setByzantine(tab, action.mode);
        return `${short(tab.id)}${healNote}`;
      }
      case 'reload': {
        await this.pool.reload(action.tab);
        return `${short(tab.id)} back${healNote}`;
      }
      case 'kill':
      case 'crash': {
        const gone = await this.pool.kill(action.tab, action.kind === 'kill' ? 'close' : 'crash');
        const next = await this.pool.openAt(action.tab, action.replacement);
        return `${short(gone ?? '')} gone, ${short(next.id)} in its place${next.id === gone ? ' (same identity)' : ''}${healNote}`;
      }
    }
  }

  private async setByzantine(tab: Tab, mode: string | null): Promise<void> {
    await tab.page.evaluate((m) => window.tabmesh.setByzantine(m as Parameters<typeof window.tabmesh.setByzantine>[0]), mode);
    const p = this.latest.get(tab.position);
    if (p) this.latest.set(tab.position, { ...p, byzantine: mode });
  }

  private async flood(position: number, frames: number, kind: string): Promise<string> {
    const from = this.pool.tab(position);
    const outcome: FloodOutcome = { from: from?.id ?? '', to: null, kind, sent: null, refused: 0, cutOff: false, error: null };
    this.floods.push(outcome);
    if (!from) {
      outcome.error = 'no tab there';
      return `skipped: ${outcome.error}`;
    }
    let receiver: Tab | undefined;
    let before: Record<string, number> = {};
    let rounds = 0;
    // A flooder keeps at it: on a loaded machine a round can end early (the flooded link falls
    // silent and is dropped before the garbage arrives); it floods again while it can reach the
    // receiver and is not cut off, up to floodRounds rounds.
    for (let attempt = 1; rounds < floodRounds && !outcome.cutOff; attempt++) {
      const target = await this.floodReceiver(from, receiver);
      if (!target) {
        if (rounds > 0) break;
        outcome.error = `the flooder had no link to an open tab within ${floodLinkTimeoutMs / 1000} s`;
        return `skipped: ${outcome.error}`;
      }
      if (!receiver) {
        receiver = target;
        outcome.to = receiver.id;
        before = (await probe(receiver.page))?.rejected ?? {};
      }
      let report: FloodReport;
      try {
        report = await from.page.evaluate(([peer, n, k]) => window.tabmesh.debug.flood(peer, n, k as FloodKind), [target.id, frames, kind] as const);
      } catch (error) {
        // The link we saw a moment ago may have gone down (the mesh is being churned): look again.
        if (attempt < floodAttempts && /no direct link/.test(String(error))) {
          await sleep(500);
          continue;
        }
        throw error;
      }
      rounds++;
      outcome.sent = (outcome.sent ?? 0) + report.sent.rapid + report.sent.large + report.sent.garbage;
      const deadline = Date.now() + floodVerdictTimeoutMs;
      for (;;) {
        const after = await probe(target.page);
        if (after) {
          outcome.refused = Object.entries(after.rejected)
            .filter(([reason]) => floodReasons.test(reason))
            .reduce((sum, [reason, n]) => sum + n - (before[reason] ?? 0), 0);
          outcome.cutOff = after.keptOut.includes(from.id);
        }
        if (outcome.cutOff || Date.now() > deadline) break;
        await sleep(250);
      }
    }
    const to = receiver ? short(receiver.id) : '?';
    return `${short(from.id)} → ${to}: ${outcome.sent ?? 0} frames sent in ${rounds} round(s), ${outcome.refused} refused, ${outcome.cutOff ? 'cut off' : 'NOT cut off'}`;
  }

  /** An open tab the flooder has a link up to (`only`, if given); a tab that has just (re)joined may need a moment to get one. */
  private async floodReceiver(from: Tab, only?: Tab): Promise<Tab | undefined> {
    const deadline = Date.now() + floodLinkTimeoutMs;
    for (;;) {
      const openById = new Map(this.pool.open().map((t) => [t.id, t]));
      const links = (await probe(from.page))?.links ?? [];
      const receiverId = only ? links.find((peer) => peer === only.id && openById.get(peer) === only) : [...links].sort().find((peer) => openById.has(peer));
      if (receiverId) return openById.get(receiverId);
      if (Date.now() > deadline) return undefined;
      await sleep(250);
    }
  }

  // ── the client ──

  /** Honest open tabs (never made Byzantine), by position. */
  private honestTabs(): Tab[] {
    return this.probes()
      .filter(({ p }) => !p.byzantine && !this.everByzantine.has(p.id))
      .map(({ tab }) => tab)
      .sort((a, b) => a.position - b.position);
  }

  private async proposalLoop(adversaryStart: number): Promise<void> {
    for (const step of this.schedule.proposals) {
      const wait = adversaryStart + step.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (!this.clientRunning) return;
      const tabs = this.honestTabs();
      const tab = tabs[Math.floor(step.pick * tabs.length)];
      if (!tab || this.openProposals.size >= maxOpenProposals) {
        this.skippedProposals++;
        continue;
      }
      const text = `chaos ${this.schedule.seed} #${++this.proposalCounter}`;
      const by = tab.id;
      const done = apiReady(tab.page)
        .then(() => tab.page.evaluate((t) => window.tabmesh.propose(t), text))
        .then(
          (seq) => void this.acked.push({ op: { kind: 'decision', value: text }, seq, by }),
          (error: unknown) => {
            this.failedProposals++;
            const reason =
              (error instanceof Error ? error.message : String(error))
                .split('\n')[0]
                ?.replace(/^page\.evaluate: (Error: )?/, '')
                .slice(0, 120) ?? '';
            if (this.proposalErrors.has(reason) || this.proposalErrors.size < maxErrorReasons)
              this.proposalErrors.set(reason, (this.proposalErrors.get(reason) ?? 0) + 1);
          },
        );
      this.openProposals.add(done);
      void done.finally(() => this.openProposals.delete(done));
    }
  }

  private async jobLoop(adversaryStart: number): Promise<void> {
    for (const step of this.schedule.jobs) {
      const wait = adversaryStart + step.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (!this.clientRunning) return;
      const tabs = this.honestTabs();
      const tab = tabs[Math.floor(step.pick * tabs.length)];
      if (!tab) continue;
      try {
        await apiReady(tab.page);
        const id = await tab.page.evaluate(([to, chunks]) => window.tabmesh.submitJob({ kind: 'primes', params: { from: 0, to }, chunks }), [
          step.to,
          step.chunks,
        ] as const);
        this.jobs.push({ id, home: tab.id, to: step.to });
      } catch {
        this.jobErrors++;
      }
    }
  }

  // ── the end ──

  private finals(): TabFinal[] {
    return this.probes().map(({ p }) => ({ id: p.id, links: p.links, members: p.members }));
  }

  /** What every check needs before it is fair to judge: a quiet, whole mesh with consensus caught up and jobs ended. */
  private settled(): boolean {
    this.settledFinals = null;
    if (this.probes().length !== this.pool.open().length) return false;
    const finals = this.finals();
    if (!checkMesh(finals).ok) return false;
    const newest = this.acked.reduce((m, a) => Math.max(m, a.seq), 0);
    const honest = this.probes().filter(({ p }) => !this.everByzantine.has(p.id));
    if (!honest.every(({ p }) => p.lastCommitted >= newest)) return false;
    const openIds = new Set(this.pool.open().map((t) => t.id));
    const jobsEnded = this.jobs.every((job) => {
      if (!openIds.has(job.home)) return true;
      const home = this.probes().find(({ p }) => p.id === job.home)?.p;
      const status = home?.jobs.find((j) => j.id === job.id && j.mine)?.status;
      return status !== undefined && status !== 'queued' && status !== 'running';
    });
    if (jobsEnded) this.settledFinals = finals;
    return jobsEnded;
  }

  private async judge(finals: TabFinal[]): Promise<CheckResult[]> {
    const honest = this.probes().filter(({ p }) => !this.everByzantine.has(p.id));
    const geneses = new Map<string, number>();
    for (const { p } of honest) if (p.genesis) geneses.set(p.genesis, (geneses.get(p.genesis) ?? 0) + 1);
    const histories = honest.flatMap(({ p }) => {
      const h = p.genesis ? this.histories.get(`${p.id}|${p.genesis}`) : undefined;
      return h ? [h] : [];
    });
    const consensus = checkConsensus({ histories, acked: this.acked, failedProposals: this.failedProposals });
    consensus.figures['skippedProposals'] = this.skippedProposals;
    consensus.figures['proposalErrors'] = [...this.proposalErrors].map(([r, n]) => `${n}× ${r}`).join('; ') || null;
    const jobs = checkJobs(await this.jobOutcomes());
    jobs.figures['submitErrors'] = this.jobErrors;
    const liveness = checkLiveness(this.liveness.finish(this.elapsed()));
    return [
      consensus,
      jobs,
      checkMesh(finals),
      checkMemory(this.heap, this.options.heapBoundBytes ?? defaultHeapBoundBytes),
      checkFlood(this.floods),
      liveness,
    ];
  }

  private async jobOutcomes(): Promise<JobOutcome[]> {
    const out: JobOutcome[] = [];
    for (const job of this.jobs) {
      const home = this.pool.open().find((t) => t.id === job.home);
      const view = home ? this.latest.get(home.position)?.jobs.find((j) => j.id === job.id && j.mine) : undefined;
      if (!home) {
        // Closed for good: judged on what it showed when the job ended there, if it ended while open.
        const ended = this.endedJobs.get(job.id);
        out.push(ended ? { ...ended, homeOpen: false } : jobOutcomeFromView(job, undefined, false, this.lastJobStatus.get(job.id)));
        continue;
      }
      const outcome = await this.readOutcome(job, home, view);
      // An open home that no longer lists its job lost it (jobs are stored before submitJob resolves).
      if (!view) outcome.status = 'missing at its home';
      out.push(outcome);
    }
    // The right answers, counted here once per range (at the end: counting is CPU the tabs need during the run).
    for (const [i, outcome] of out.entries()) {
      const to = (this.jobs[i] as { to: number }).to;
      if (outcome.status !== 'done') continue;
      if (!this.primeCounts.has(to)) this.primeCounts.set(to, countPrimes(0, to, noDeadline));
      outcome.expectedCount = this.primeCounts.get(to) ?? null;
    }
    return out;
  }

  /** A job's outcome as its (open) home shows it; for a done job, with its accepted results and count. */
  private async readOutcome(job: { id: string; home: string; to: number }, home: Tab, view: Probe['jobs'][number] | undefined): Promise<JobOutcome> {
    const outcome = jobOutcomeFromView(job, view, true);
    if (view?.status !== 'done') return outcome;
    outcome.accepted = await home.page.evaluate((id) => window.tabmesh.debug.acceptedTasks(id), job.id).catch(() => null);
    const result = await home.page.evaluate((id) => window.tabmesh.jobResult(id), job.id).catch(() => null);
    const count = (result as { count?: unknown } | null)?.count;
    outcome.count = typeof count === 'number' ? count : null;
    return outcome;
  }

  private notFormed(): CheckResult {
    const probes = this.probes().map(({ p }) => `${short(p.id)}: ${p.status}, ${p.replicas.length} replicas, ${p.links.length} links`);
    return {
      name: 'mesh',
      ok: false,
      summary: 'the mesh and consensus formed',
      failures: [`not formed within ${formTimeoutMs / 1000} s: ${probes.join('; ')}`],
      figures: {},
    };
  }

  private report(replay: string, checks: CheckResult[], figures: Record<string, number | string | null>): ChaosReport {
    const counts: Record<string, number> = {};
    for (const a of this.actions) counts[a.outcome] = (counts[a.outcome] ?? 0) + 1;
    return {
      seed: this.schedule.seed,
      tabs: this.schedule.tabs,
      durationMs: this.schedule.durationMs,
      quick: this.options.quick,
      // An action the adversary could not carry out (a replacement that never joined) fails the run too.
      ok: checks.length > 0 && checks.every((c) => c.ok) && (counts['failed'] ?? 0) === 0,
      checks,
      actions: [...this.actions],
      figures: {
        ...figures,
        actionsDone: counts['done'] ?? 0,
        actionsSkipped: counts['skipped'] ?? 0,
        actionsFailed: counts['failed'] ?? 0,
        proposalsAcked: this.acked.length,
        jobsSubmitted: this.jobs.length,
        sampleRounds: this.sampleRounds,
        pageErrors: this.pool.pageErrorCount,
        longestStallS: Math.round(this.longestStallMs / 100) / 10,
        stalls: this.stalls.join('; ') || null,
        totalMs: this.elapsed(),
      },
      pageErrors: [...this.pool.pageErrors],
      replay,
    };
  }
}
