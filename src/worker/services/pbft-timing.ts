// Where a commit's time goes, as this node sees it: the stages of its own requests from the
// moment a proposal reaches the worker to the result, and, when it is the primary, the time
// from another client's request arriving to its pre-prepare leaving. Fed by what the service
// really sends and receives (the same points the demo trace records), so it measures the real
// path: signing, IndexedDB writes before each send, verification and the hops between nodes.
// Wall-clock milliseconds (the runtime's clock); the benchmark (bench/peers/consensus-measure.ts)
// reads it from snapshot().consensus.proposals.timing of the client and the primary.
import type { Millis, NodeId } from '../../core/types.ts';
import type { PbftMessage } from '../../core/pbft/index.ts';

/** Samples kept per stage (a ring); the mean and p50 are over these. */
export const timingSamples = 256;
/** Requests of this node followed at once (each packs many proposals; one or two are in flight). */
const maxFollowed = 8;
/** Other clients' requests remembered at the primary until their pre-prepare leaves. */
const maxPrimaryRequests = 512;

/** The stages, in order along one request's path (see docs/benchmarks.md, "where the time goes"). */
export const timingStages = [
  'submitToRequestSent',
  'requestSentToPrePrepareReceived',
  'prePrepareReceivedToPrepareSent',
  'prepareSentToCommitSent',
  'commitSentToQuorum',
  'quorumToResult',
  'primaryRequestToPrePrepareSent',
  'sign',
  'verify',
] as const;
export type TimingStage = (typeof timingStages)[number];

export interface StageFigures {
  n: number;
  meanMs: number | null;
  p50Ms: number | null;
}
export type TimingStats = Record<TimingStage, StageFigures>;

interface Followed {
  ts: number;
  submittedAt: Millis;
  requestSentAt: Millis;
  seq?: number;
  prePrepareAt?: Millis;
  prepareSentAt?: Millis;
  commitSentAt?: Millis;
  commitsAt: Millis[];
}

class Ring {
  private readonly samples: number[] = [];
  private next = 0;

  add(ms: number): void {
    if (this.samples.length < timingSamples) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % timingSamples;
  }

  figures(): StageFigures {
    const n = this.samples.length;
    if (n === 0) return { n, meanMs: null, p50Ms: null };
    const sorted = [...this.samples].sort((a, b) => a - b);
    const mean = sorted.reduce((sum, x) => sum + x, 0) / n;
    return { n, meanMs: Math.round(mean * 100) / 100, p50Ms: sorted[Math.ceil(n / 2) - 1] as number };
  }
}

export class CommitTimeline {
  private readonly rings = new Map<TimingStage, Ring>(timingStages.map((s) => [s, new Ring()]));
  private readonly followed: Followed[] = [];
  private readonly primaryRequests = new Map<string, Millis>();
  /** When the oldest proposal not yet in a sent request reached the worker. */
  private waitingSince: Millis | null = null;

  constructor(private readonly self: NodeId) {}

  /** A proposal of this node reached the worker. */
  submitted(at: Millis): void {
    this.waitingSince ??= at;
  }

  /** A signing or verifying took this long. */
  took(stage: 'sign' | 'verify', ms: number): void {
    this.add(stage, ms);
  }

  sent(msg: PbftMessage, at: Millis): void {
    const body = msg.body;
    if (body.type === 'request' && body.client === this.self) {
      if (this.followed.some((f) => f.ts === body.ts)) return; // a retransmission
      this.followed.push({ ts: body.ts, submittedAt: this.waitingSince ?? at, requestSentAt: at, commitsAt: [] });
      if (this.followed.length > maxFollowed) this.followed.shift();
      this.waitingSince = null;
      this.add('submitToRequestSent', at - (this.followed[this.followed.length - 1] as Followed).submittedAt);
      return;
    }
    if (body.type === 'pre-prepare') {
      for (const r of msg.batch ?? []) {
        const key = `${r.body.client}:${r.body.ts}`;
        const since = this.primaryRequests.get(key);
        if (since === undefined) continue;
        this.primaryRequests.delete(key);
        this.add('primaryRequestToPrePrepareSent', at - since);
      }
      return;
    }
    if (body.type !== 'prepare' && body.type !== 'commit') return;
    const f = this.followed.find((x) => x.seq === body.seq);
    if (!f) return;
    if (body.type === 'prepare') f.prepareSentAt ??= at;
    else f.commitSentAt ??= at;
  }

  received(msg: PbftMessage, at: Millis): void {
    const body = msg.body;
    if (body.type === 'request' && body.client !== this.self) {
      const key = `${body.client}:${body.ts}`;
      if (!this.primaryRequests.has(key)) this.primaryRequests.set(key, at);
      if (this.primaryRequests.size > maxPrimaryRequests) this.primaryRequests.delete(this.primaryRequests.keys().next().value as string);
      return;
    }
    if (body.type === 'pre-prepare') {
      for (const f of this.followed) {
        if (f.seq !== undefined) continue;
        if (msg.batch?.some((r) => r.body.client === this.self && r.body.ts === f.ts)) {
          f.seq = body.seq;
          f.prePrepareAt = at;
        }
      }
      return;
    }
    if (body.type !== 'commit') return;
    const f = this.followed.find((x) => x.seq === body.seq);
    if (f && f.commitsAt.length < 64) f.commitsAt.push(at);
  }

  /** The request `ts` of this node committed; `quorum` commits (its own among them) made it so. */
  result(ts: number, quorum: number, at: Millis): void {
    const i = this.followed.findIndex((f) => f.ts === ts);
    if (i < 0) return;
    const f = this.followed.splice(i, 1)[0] as Followed;
    // The commit that completed the quorum: the (q−1)th from the others, or our own if later.
    const others = [...f.commitsAt].sort((a, b) => a - b);
    const quorumAt = Math.max(others[Math.max(0, quorum - 2)] ?? at, f.commitSentAt ?? 0);
    const points = [f.requestSentAt, f.prePrepareAt, f.prepareSentAt, f.commitSentAt, Math.min(quorumAt, at), at];
    if (points.some((p) => p === undefined)) return; // executed from a proof or a transferred state: not the normal path
    const stages: TimingStage[] = [
      'requestSentToPrePrepareReceived',
      'prePrepareReceivedToPrepareSent',
      'prepareSentToCommitSent',
      'commitSentToQuorum',
      'quorumToResult',
    ];
    stages.forEach((stage, k) => this.add(stage, Math.max(0, (points[k + 1] as number) - (points[k] as number))));
  }

  stats(): TimingStats {
    return Object.fromEntries(timingStages.map((s) => [s, (this.rings.get(s) as Ring).figures()])) as TimingStats;
  }

  private add(stage: TimingStage, ms: number): void {
    (this.rings.get(stage) as Ring).add(ms);
  }
}
