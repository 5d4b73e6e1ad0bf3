/* eslint-disable svelte/prefer-svelte-reactivity -- the Maps and Sets here are private buffers that nothing renders, or built afresh and handed whole to a $state.raw field (never changed in place), as snapshots are. */
// The demo view's state: the traces and state reports the room's nodes sent this tab (app event
// `demo-trace`, from src/worker/services/demo.ts), the nodes to draw, and the replay of one
// sampled request (or view change) at a time, stretched so people can follow it.
import { decodeWith } from '../../core/decode.ts';
import type { TraceRecord } from '../../core/pbft/trace.ts';
import type { NodeSnapshot } from '../../mesh-node.ts';
import type { NodeBackend } from '../../api/backend.ts';
import { demoTraceEventSchema, type DemoNodeState, type DemoTraceEvent } from '../../worker/services/demo-messages.ts';
import { roomPalette } from '../mesh.svelte.ts';
import { autoFactor, layOut, recordsOfSeq, recordsOfViewChange, stretch, type ScreenFlight } from './replay.ts';

/** Records kept per node (the newest); a replay needs only the last few seconds. */
export const recordsKeptPerNode = 2_000;
/** A sample is replayed once its first record is this old here: every node's trace is in by then. */
export const settleMs = 1_500;
/** A node that has not answered for this long is drawn as silent (asleep, crashed or cut off). */
export const silentAfterMs = 2_500;
/** Drawn messages kept in the message log (for screen readers and tests). */
export const logKept = 200;
/** Pause between two replays, so one ends before the next begins. */
export const pauseBetweenReplaysMs = 900;
/** A flight stays drawn at its destination this long after arriving. */
export const lingerMs = 350;

export type NodeHealth = 'healthy' | 'suspect' | 'silent' | 'dead';

export interface DemoNode {
  id: string;
  role: 'primary' | 'replica' | 'observer';
  health: NodeHealth;
  /** Its latest report (null until one came). */
  state: DemoNodeState | null;
  /** What is wrong with it now, in a few words (null: nothing known). */
  fault: string | null;
}

/** A hand-over of work drawn as it is reported: a grant or shed carries tasks, a result goes home. */
export interface StealMark {
  key: string;
  kind: 'steal-grant' | 'shed' | 'result';
  from: string;
  to: string;
  tasks: number;
  /** When it was drawn (this page's clock). */
  at: number;
}

/** A hand-over of work stays drawn this long (it moves once, sender to receiver). */
export const stealMarkMs = 1_600;
/** Hand-overs drawn at once at most (a busy job reports many; the newest are drawn). */
export const maxStealMarks = 24;

export interface LoggedFlight {
  n: number;
  kind: string;
  from: string;
  to: string;
  seq: number | null;
  view: number | null;
  sample: string;
}

export interface Replay {
  /** What is replayed: `seq 12` or `view change to 1`. */
  label: string;
  sample: string;
  factor: number;
  flights: ScreenFlight[];
  startedAt: number;
  /** Screen time at which the last flight has arrived. */
  endsAt: number;
}

interface Report {
  state: DemoNodeState;
  at: number;
}

export class DemoState {
  /** The demo tab's own snapshot (members, topology, status record). */
  snapshot = $state.raw<NodeSnapshot | null>(null);
  reports = $state.raw<ReadonlyMap<string, Report>>(new Map());
  replay = $state.raw<Replay | null>(null);
  /** Milliseconds since the replay started, advanced by animation frames while one runs. */
  clock = $state(0);
  log = $state.raw<LoggedFlight[]>([]);
  /** 'auto' fits each sample to a few seconds; a number is a fixed stretch. */
  factorChoice = $state<'auto' | number>('auto');
  showViewChanges = $state(true);
  showCheckpoints = $state(false);
  /** Draw work stealing's hand-overs (grants, sheds, results) as they are reported. */
  showSteals = $state(true);
  steals = $state.raw<StealMark[]>([]);
  /** Tasks handed over, per kind, since this view opened. */
  stealCounts = $state.raw<Record<StealMark['kind'], number>>({ 'steal-grant': 0, shed: 0, result: 0 });
  paused = $state(false);
  /** Trace records received, in all (for the status line). */
  recordsSeen = $state(0);

  private readonly traces = new Map<string, TraceRecord[]>();
  /** When each sample (seq or view) was first seen here. */
  private readonly firstSeen = new Map<string, number>();
  private readonly replayed = new Set<string>();
  private lastSeqReplayed = 0;
  private lastViewReplayed = 0;
  private logCounter = 0;
  private frame: number | null = null;
  private nextReplayAt = 0;
  private readonly stops: Array<() => void> = [];

  constructor(
    readonly node: NodeBackend,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.stops.push(
      node.subscribe((snapshot) => {
        roomPalette.update(snapshot);
        this.snapshot = snapshot;
      }),
    );
    this.stops.push(node.onEvent('demo-trace', (payload) => this.arrived(payload)));
    const timer = setInterval(() => {
      this.pick();
      const now = this.now();
      if (this.steals.length > 0 && this.steals.some((m) => now - m.at >= stealMarkMs)) this.steals = this.steals.filter((m) => now - m.at < stealMarkMs);
    }, 250);
    this.stops.push(() => clearInterval(timer));
  }

  close(): void {
    for (const stop of this.stops) stop();
    if (this.frame !== null) cancelAnimationFrame(this.frame);
  }

  /** The consensus the reports agree on most: view, primary, replicas, f. */
  get consensus(): { view: number; primary: string | null; replicas: string[]; f: number; n: number; mode: 'normal' | 'view-change' } {
    const votes = new Map<string, { count: number; state: DemoNodeState }>();
    for (const { state } of this.reports.values()) {
      if (state.role !== 'replica') continue;
      const key = `${state.view}|${state.primary}|${state.replicas.join(',')}`;
      const entry = votes.get(key);
      if (entry) entry.count++;
      else votes.set(key, { count: 1, state });
    }
    let best: { count: number; state: DemoNodeState } | null = null;
    for (const entry of votes.values())
      if (!best || entry.count > best.count || (entry.count === best.count && entry.state.view > best.state.view)) best = entry;
    if (!best) return { view: 0, primary: null, replicas: [], f: 0, n: 0, mode: 'normal' };
    const changing = [...this.reports.values()].some((r) => r.state.role === 'replica' && r.state.mode === 'view-change');
    return {
      view: best.state.view,
      primary: best.state.primary,
      replicas: best.state.replicas,
      f: best.state.f,
      n: best.state.n,
      mode: changing ? 'view-change' : 'normal',
    };
  }

  /** The nodes to draw: the replicas in order, then the other live members; never this tab. */
  get nodes(): DemoNode[] {
    const self = this.snapshot?.id;
    const { replicas, primary } = this.consensus;
    const members = new Map((this.snapshot?.members ?? []).map((m) => [m.id as string, m.status]));
    const ids = [...replicas];
    const observers = [...members]
      .filter(([id, status]) => !replicas.includes(id) && id !== self && (status === 'alive' || status === 'suspect'))
      .map(([id]) => id);
    ids.push(...observers.sort());
    const now = this.now();
    return ids
      .filter((id) => id !== self)
      .map((id) => {
        const report = this.reports.get(id) ?? null;
        const status = members.get(id);
        let health: NodeHealth = status === 'dead' || status === 'left' ? 'dead' : status === 'suspect' ? 'suspect' : 'healthy';
        if (health === 'healthy' && (!report || now - report.at > silentAfterMs)) health = 'silent';
        const state = report?.state ?? null;
        const fault = state?.byzantine
          ? `Byzantine: ${state.byzantine}`
          : state && state.isolatedForMs > 0
            ? 'links cut'
            : health === 'silent'
              ? 'not answering'
              : health === 'dead'
                ? 'gone'
                : health === 'suspect'
                  ? 'suspected'
                  : null;
        return { id, role: id === primary ? 'primary' : replicas.includes(id) ? 'replica' : 'observer', health, state, fault } satisfies DemoNode;
      });
  }

  /** Replicas faulty now (Byzantine, cut off, asleep, crashed or gone), against f. */
  get faultyReplicas(): DemoNode[] {
    return this.nodes.filter((n) => n.role !== 'observer' && n.fault !== null);
  }

  /**
   * Whether the honest replicas' logs agree: of those whose newest operation has the same
   * sequence number, all name the same batch. Null before two honest replicas reported one.
   */
  get logsAgree(): { agree: boolean; seq: number; replicas: number } | null {
    const honest = this.nodes.filter((n) => n.role !== 'observer' && n.fault === null && n.state?.head);
    const bySeq = new Map<number, Set<string>>();
    const count = new Map<number, number>();
    for (const n of honest) {
      const head = n.state!.head!;
      bySeq.set(head.seq, (bySeq.get(head.seq) ?? new Set()).add(head.digest));
      count.set(head.seq, (count.get(head.seq) ?? 0) + 1);
    }
    let best: { agree: boolean; seq: number; replicas: number } | null = null;
    for (const [seq, digests] of bySeq) {
      const replicas = count.get(seq) ?? 0;
      if (replicas < 2) continue;
      if (digests.size > 1) return { agree: false, seq, replicas };
      if (!best || seq > best.seq) best = { agree: true, seq, replicas };
    }
    return best;
  }

  /** Highest sequence number committed by any replica that reported. */
  get committed(): number {
    let best = 0;
    for (const { state } of this.reports.values()) if (state.role === 'replica') best = Math.max(best, state.lastCommitted);
    return best;
  }

  /** View changes: the most any replica has completed. */
  get viewChanges(): number {
    let best = 0;
    for (const { state } of this.reports.values()) best = Math.max(best, state.viewChanges);
    return best;
  }

  /** Flights on screen at the current clock. */
  get flightsNow(): ScreenFlight[] {
    const replay = this.replay;
    if (!replay) return [];
    return replay.flights.filter((f) => f.showAt <= this.clock && this.clock < f.arriveAt + lingerMs);
  }

  // ── traces in ──

  private arrived(payload: unknown): void {
    const decoded = decodeWith(demoTraceEventSchema, payload);
    if (!decoded.ok) return console.warn('tabmesh demo: a trace the page cannot read:', decoded.error);
    const event = decoded.value;
    const reports = new Map(this.reports);
    reports.set(event.node, { state: event.state, at: this.now() });
    this.reports = reports;
    if (event.steals.length > 0) this.stealsArrived(event.steals);
    if (event.records.length === 0) return;
    this.recordsSeen += event.records.length;
    const list = this.traces.get(event.node) ?? [];
    list.push(...event.records);
    if (list.length > recordsKeptPerNode) list.splice(0, list.length - recordsKeptPerNode);
    this.traces.set(event.node, list);
    const now = this.now();
    for (const r of event.records) {
      const key = this.sampleKeyOf(r);
      if (key && !this.firstSeen.has(key)) this.firstSeen.set(key, now);
    }
    if (this.firstSeen.size > 4 * logKept) {
      for (const key of [...this.firstSeen.keys()].slice(0, this.firstSeen.size - 2 * logKept)) this.firstSeen.delete(key);
    }
  }

  private stealsArrived(records: DemoTraceEvent['steals']): void {
    const counts = { ...this.stealCounts };
    for (const r of records) counts[r.kind] += r.tasks;
    this.stealCounts = counts;
    if (!this.showSteals) return;
    const now = this.now();
    const fresh = records.map((r) => ({ key: `${r.from}|${r.n}`, kind: r.kind, from: r.from, to: r.to, tasks: r.tasks, at: now }));
    this.steals = [...this.steals, ...fresh].slice(-maxStealMarks);
  }

  private sampleKeyOf(r: TraceRecord): string | null {
    if ((r.kind === 'commit' || r.kind === 'reply') && r.seq !== null) return `seq:${r.seq}`;
    if ((r.kind === 'view-change' || r.kind === 'new-view') && r.view !== null) return `view:${r.view}`;
    if (r.kind === 'checkpoint' && r.seq !== null) return `checkpoint:${r.seq}`;
    return null;
  }

  // ── replay ──

  /** Starts the next settled sample when nothing is being replayed: view changes first, then the newest request. */
  private pick(): void {
    const now = this.now();
    if (this.paused || this.replay || now < this.nextReplayAt) return;
    const settled = [...this.firstSeen].filter(([key, at]) => now - at >= settleMs && !this.replayed.has(key)).map(([key]) => key);
    const views = settled
      .filter((k) => k.startsWith('view:'))
      .map((k) => Number(k.slice(5)))
      .filter((v) => v > this.lastViewReplayed);
    const seqs = settled
      .filter((k) => k.startsWith('seq:'))
      .map((k) => Number(k.slice(4)))
      .filter((s) => s > this.lastSeqReplayed);
    if (this.showViewChanges && views.length > 0) {
      const view = Math.min(...views);
      this.lastViewReplayed = view;
      return this.start(`view:${view}`, `view change to view ${view}`, recordsOfViewChange(this.traces, view));
    }
    if (seqs.length > 0) {
      // Sampled: the newest committed request (a busy room commits faster than people can watch).
      const seq = Math.max(...seqs);
      this.lastSeqReplayed = seq;
      let records = recordsOfSeq(this.traces, seq);
      if (this.showCheckpoints) records = records.concat(this.checkpointsOf(seq));
      return this.start(`seq:${seq}`, `request committed at ${seq}`, records);
    }
  }

  private checkpointsOf(seq: number): TraceRecord[] {
    const out: TraceRecord[] = [];
    for (const records of this.traces.values()) for (const r of records) if (r.kind === 'checkpoint' && r.seq === seq) out.push(r);
    return out;
  }

  private start(sample: string, label: string, records: TraceRecord[]): void {
    this.replayed.add(sample);
    const flights = layOut(records);
    if (flights.length === 0) return;
    const span = Math.max(...flights.map((f) => f.end));
    const factor = this.factorChoice === 'auto' ? autoFactor(span) : this.factorChoice;
    const screen = stretch(flights, factor);
    this.replay = { label, sample, factor, flights: screen, startedAt: this.now(), endsAt: Math.max(...screen.map((f) => f.arriveAt)) };
    this.clock = 0;
    this.logged = 0;
    this.animate();
  }

  private logged = 0;

  private animate(): void {
    const step = (): void => {
      const replay = this.replay;
      if (!replay) return;
      this.clock = this.now() - replay.startedAt;
      // Every flight that has left goes into the log, in the order it left.
      while (this.logged < replay.flights.length && (replay.flights[this.logged] as ScreenFlight).showAt <= this.clock) {
        const f = replay.flights[this.logged++] as ScreenFlight;
        this.log = [
          ...this.log.slice(-(logKept - 1)),
          { n: ++this.logCounter, kind: f.kind, from: f.from, to: f.to, seq: f.seq, view: f.view, sample: replay.sample },
        ];
      }
      if (this.clock > replay.endsAt + lingerMs) {
        this.replay = null;
        this.frame = null;
        this.nextReplayAt = this.now() + pauseBetweenReplaysMs;
        return;
      }
      this.frame = requestAnimationFrame(step);
    };
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(step);
  }
}
