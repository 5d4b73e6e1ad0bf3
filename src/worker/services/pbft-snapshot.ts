// What a node shows of consensus: `snapshot().consensus` (NodeSnapshot in ../snapshot.ts), the
// UI's Consensus panels and browser tests read it. Plain JSON; names are public API.
import type { ByzantineMode, Op, PbftView } from '../../core/pbft/index.ts';
import type { Millis } from '../../core/types.ts';
import type { AppMachineView } from './pbft-apps.ts';
import type { DurableStats } from '../group-commit.ts';
import type { ProposalStats } from './pbft-proposals.ts';
import type { VerifierStats } from './pbft-verify.ts';

/** Notable events kept for the UI (view changes, epochs, genesis, Byzantine switches); oldest dropped. */
export const eventsKept = 30;
/** Committed operations per second are averaged over this window. */
export const throughputWindowMs: Millis = 10_000;
/** Commit records kept for the throughput window (one per executed batch). */
export const maxThroughputRecords = 1_024;

export interface ConsensusPhaseView {
  seq: number;
  view: number;
  digest: string | null;
  /** Requests in the batch. */
  requests: number;
  /** The primary's pre-prepare arrived (or, at the primary, was sent). */
  prePrepared: boolean;
  /** Replicas whose prepare (or commit) for this number was accepted here. */
  prepares: string[];
  commits: string[];
  prepared: boolean;
  committed: boolean;
  executed: boolean;
}

export interface ConsensusLogEntry {
  seq: number;
  /** Digest of the batch the operation was ordered in. */
  digest: string;
  op: Op;
  /** The node that proposed it, and its request number. */
  client: string;
  ts: number;
}

export interface ConsensusEvent {
  at: number;
  kind: 'genesis' | 'view-change' | 'epoch' | 'byzantine' | 'stalled' | 'diverged' | 'state-transfer' | 'membership';
  text: string;
}

export interface ConsensusView {
  /** 'bootstrapping' until this node follows the room's genesis; then its role. */
  status: 'bootstrapping' | 'replica' | 'observer';
  /** The genesis this node follows (see src/core/pbft-room/genesis.ts), and how often it had to start over. */
  genesis: {
    id: string;
    founder: string;
    foundedAt: number;
    /** Proposals are held until it has settled. */
    settled: boolean;
    /** Times this node dropped its consensus state to adopt the room's genesis. */
    resets: number;
    /** Commits this node had executed under genesis records it abandoned. */
    discardedCommits: number;
  } | null;
  epoch: number;
  view: number;
  mode: 'normal' | 'view-change';
  primary: string | null;
  /** The replica set, in order (the primary of view v is replicas[v mod n]). */
  replicas: string[];
  n: number;
  f: number;
  /** Matching votes a certificate needs (2f+1 when n = 3f+1). */
  quorum: number;
  lastCommitted: number;
  stableCheckpoint: number;
  /** The last committed operations (at most 64), the same on every replica. */
  log: ConsensusLogEntry[];
  /** View changes completed here. */
  viewChanges: number;
  /** Time from a request reaching this replica to its execution here. */
  latencyMs: { p50: number | null; p99: number | null };
  /** This node's own proposals: counts and time from propose() to the f+1th matching reply. */
  proposals: ProposalStats;
  /** committed / (committed + failed) of this node's proposals; null before any ended. */
  successRate: number | null;
  /** Operations executed per second over the last 10 s. */
  throughputOpsPerSec: number;
  byzantine: ByzantineMode | null;
  /** Refused consensus input by reason: the core's and the runtime's (`runtime: bad-signature`, …). */
  rejected: Record<string, number>;
  /** Phases of the newest sequence numbers (at most 8), replica by replica, as this node saw them. */
  phases: ConsensusPhaseView[];
  /** Why consensus makes no progress (e.g. more than f replicas faulty or cut off), or null. */
  halted: string | null;
  events: ConsensusEvent[];
  signatures: VerifierStats;
  /** Consensus messages sent over a direct link, sent routed over the mesh (no link up), and received. */
  traffic: { direct: number; routed: number; received: number };
  /** Durable writes: transactions, the core's persist requests merged into them, time to disk. */
  storage: DurableStats;
  /** The apps' own state machines this node has seen (pbft-apps.ts). */
  machines: AppMachineView[];
}

export interface ConsensusExtras {
  genesis: ConsensusView['genesis'];
  proposals: ProposalStats;
  throughputOpsPerSec: number;
  rejected: Record<string, number>;
  events: ConsensusEvent[];
  signatures: VerifierStats;
  traffic: ConsensusView['traffic'];
  storage: DurableStats;
  machines: AppMachineView[];
}

/** The snapshot before this node follows any genesis. */
export function bootstrappingView(extras: ConsensusExtras, byzantine: ByzantineMode | null): ConsensusView {
  return {
    status: 'bootstrapping',
    epoch: 0,
    view: 0,
    mode: 'normal',
    primary: null,
    replicas: [],
    n: 0,
    f: 0,
    quorum: 0,
    lastCommitted: 0,
    stableCheckpoint: 0,
    log: [],
    viewChanges: 0,
    latencyMs: { p50: null, p99: null },
    successRate: successRate(extras.proposals),
    // Set before the core exists: it is handed to the core when it starts.
    byzantine,
    phases: [],
    halted: null,
    ...extras,
  };
}

/** `phases`: the newest sequence numbers as this node saw them go through (pbft-phases.ts). */
export function consensusView(core: PbftView, extras: ConsensusExtras, phases: ConsensusPhaseView[]): ConsensusView {
  const rejected = { ...core.rejected };
  for (const [reason, count] of Object.entries(extras.rejected)) rejected[reason] = (rejected[reason] ?? 0) + count;
  return {
    ...extras,
    status: core.role,
    epoch: core.epoch,
    view: core.view,
    mode: core.mode,
    primary: core.primary,
    replicas: [...core.replicas],
    n: core.n,
    f: core.f,
    quorum: core.quorum,
    lastCommitted: core.lastCommitted,
    stableCheckpoint: core.stableCheckpoint,
    log: core.log.map((e) => ({ seq: e.seq, digest: e.digest, op: e.op, client: e.client, ts: e.ts })),
    viewChanges: core.viewChanges,
    latencyMs: core.latencyMs,
    successRate: successRate(extras.proposals),
    byzantine: core.byzantine,
    rejected,
    phases,
    halted: core.stalled,
  };
}

function successRate(p: ProposalStats): number | null {
  const ended = p.committed + p.failed;
  return ended === 0 ? null : p.committed / ended;
}

/** Executed operations over a sliding window, for throughput. */
export class ThroughputWindow {
  private readonly records: Array<{ at: Millis; ops: number }> = [];

  add(at: Millis, ops: number): void {
    this.records.push({ at, ops });
    if (this.records.length > maxThroughputRecords) this.records.shift();
  }

  perSecond(now: Millis): number {
    while (this.records.length > 0 && (this.records[0] as { at: Millis }).at < now - throughputWindowMs) this.records.shift();
    const ops = this.records.reduce((sum, r) => sum + r.ops, 0);
    return Math.round((ops / (throughputWindowMs / 1000)) * 10) / 10;
  }
}

/** The newest notable events, bounded. */
export class EventLog {
  private readonly events: ConsensusEvent[] = [];

  add(at: number, kind: ConsensusEvent['kind'], text: string): void {
    this.events.push({ at, kind, text });
    if (this.events.length > eventsKept) this.events.shift();
  }

  list(): ConsensusEvent[] {
    return [...this.events];
  }
}
