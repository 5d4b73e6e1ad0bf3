// The last minutes of this node's figures, for the dashboard's time-series plots: sampled from
// the worker's snapshots at most once per sampleIntervalMs, kept in a bounded ring. Only the
// arrays the charts ask for are built, and only when a sample was added (`version` changes).
import type { NodeSnapshot } from '../mesh-node.ts';

/** Least time between two samples: one per second is plenty for a plot of minutes. */
export const sampleIntervalMs = 1_000;
/**
 * Slack on sampleIntervalMs: samples follow the snapshots the dashboard renders, about one a
 * second by another clock; without it one arriving a few ms early would wait a whole second more.
 */
export const sampleSlackMs = 100;
/** Samples kept (5 minutes at one per second); the oldest goes when full. */
export const maxHistorySamples = 300;
/** Nodes drawn in the load plot (the most recently seen first); more would be unreadable. */
export const maxLoadSeries = 8;

export interface MetricsSample {
  /** Seconds since the epoch (uPlot's time unit). */
  t: number;
  /** Consensus: median time from request to execution here (ms), null before any commit. */
  commitLatencyMs: number | null;
  /** Consensus operations executed per second (10 s average). */
  throughputOpsPerSec: number;
  /** Share of peers agreeing with our gossip memory, as a percentage; null before any sync. */
  convergencePct: number | null;
  /** Health score as a percentage. */
  healthPct: number | null;
  /** Protocol messages sent and received per second since the previous sample. */
  msgsPerSec: number | null;
  /** Work per worker (running + queued) by node: this node's and its peers' as advertised. */
  load: Record<string, number>;
}

/** Every message this node sent or received, over all protocols that count them. */
function messageTotal(s: NodeSnapshot): number {
  const g = s.gossip;
  const c = s.consensus?.traffic;
  const r = s.routing;
  return (g ? g.msgsSent + g.msgsReceived : 0) + (c ? c.direct + c.routed + c.received : 0) + (r ? r.originated + r.forwarded + r.delivered : 0);
}

function loadByNode(s: NodeSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  const compute = s.compute;
  if (!compute) return out;
  const queued = Object.values(compute.queued ?? {}).reduce((a, b) => a + b, 0);
  out[s.id] = (compute.busyWorkers + queued) / Math.max(1, compute.workers);
  for (const peer of compute.peers ?? []) out[peer.node] = (peer.running + peer.queued) / Math.max(1, peer.workers);
  return out;
}

export class MetricsHistory {
  /** Bumps when a sample is added; charts redraw on it. */
  version = $state(0);
  private readonly samples: MetricsSample[] = [];
  private lastAt = -Infinity;
  private lastMessages: { at: number; total: number } | null = null;
  private quietSamples = 0;

  /**
   * Takes a sample of `snapshot` if the last one is at least sampleIntervalMs old. `redraw: false`
   * (a hidden tab) keeps the sample without waking the charts; `touch()` wakes them later.
   */
  record(snapshot: NodeSnapshot, nowMs: number, { redraw = true }: { redraw?: boolean } = {}): boolean {
    if (!Number.isFinite(nowMs) || nowMs - this.lastAt < sampleIntervalMs - sampleSlackMs) return false;
    this.lastAt = nowMs;
    const total = messageTotal(snapshot);
    const previous = this.lastMessages;
    const msgsPerSec = previous && nowMs > previous.at && total >= previous.total ? ((total - previous.total) * 1000) / (nowMs - previous.at) : null;
    this.lastMessages = { at: nowMs, total };
    this.samples.push({
      t: nowMs / 1000,
      commitLatencyMs: snapshot.consensus?.latencyMs.p50 ?? null,
      throughputOpsPerSec: snapshot.consensus?.throughputOpsPerSec ?? 0,
      convergencePct: snapshot.gossip?.peerAgreement == null ? null : snapshot.gossip.peerAgreement * 100,
      healthPct: snapshot.health ? snapshot.health.score * 100 : null,
      msgsPerSec,
      load: loadByNode(snapshot),
    });
    if (this.samples.length > maxHistorySamples) this.samples.splice(0, this.samples.length - maxHistorySamples);
    if (redraw) this.version++;
    else this.quietSamples++;
    return true;
  }

  /** The charts catch up with samples kept quietly (the tab is shown again). */
  touch(): void {
    if (this.quietSamples === 0) return;
    this.quietSamples = 0;
    this.version++;
  }

  /** When the newest sample was taken (ms, the clock given to record), -Infinity before any. */
  get lastSampleAt(): number {
    return this.lastAt;
  }

  get size(): number {
    return this.samples.length;
  }

  /** [times, values] for one figure, as uPlot wants its data. */
  series(pick: (s: MetricsSample) => number | null): [number[], Array<number | null>] {
    return [this.samples.map((s) => s.t), this.samples.map(pick)];
  }

  /** The nodes of the load plot: those seen most recently, at most maxLoadSeries. */
  loadNodes(): string[] {
    const seen: string[] = [];
    for (let i = this.samples.length - 1; i >= 0 && seen.length < maxLoadSeries; i--) {
      for (const node of Object.keys((this.samples[i] as MetricsSample).load)) {
        if (!seen.includes(node)) seen.push(node);
        if (seen.length >= maxLoadSeries) break;
      }
    }
    return seen.sort();
  }

  /** [times, load of node 1, load of node 2, …] for `nodes`. */
  loadSeries(nodes: readonly string[]): Array<Array<number | null>> {
    return [this.samples.map((s) => s.t), ...nodes.map((node) => this.samples.map((s) => s.load[node] ?? null))];
  }
}
