// A person's proposals (window.tabmesh.propose, the UI): checked, held until the genesis has
// settled, handed to the core's embedded client, and answered with the committed sequence
// number once f+1 replicas replied alike (or with the reason it failed). A proposal handed to a
// core that is then replaced (the node adopted the room's genesis) is handed to the new one:
// it never committed anywhere that counts.
import { decodeOp, type ClientResultEvent, type Op, type OpResult } from '../../core/pbft/index.ts';
import type { Decoded } from '../../core/decode.ts';
import type { Millis } from '../../core/types.ts';
import type { TimingStats } from './pbft-timing.ts';

/**
 * The window: proposals of this node waiting for their result at once; more are refused (with
 * a clear error) until some finish. The core's client packs those that wait behind its
 * outstanding request into the next one (client.ts), so a full window costs a few requests.
 */
export const maxOpenProposals = 256;
/** Client-side latency samples kept for p50/p99. */
export const proposalLatencySamples = 256;
/** Tags of this node's own proposals start with this (membership requests use others). */
export const proposalTagPrefix = 'propose:';

/**
 * What `propose(op)` accepts: `{ kind: 'kv-set', key, value }`, `{ kind: 'kv-del', key }`,
 * `{ kind: 'decision', value }`, or any other text or JSON value, which is a decision.
 * Membership operations are the node's own business (join, leave, remove) and are refused.
 */
export function toOp(raw: unknown): Decoded<Op> {
  if (raw === undefined) return { ok: false, error: 'propose(op): op is missing; pass text, JSON, or { kind: "kv-set", key, value }' };
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'kind' in raw) {
    const kind = (raw as { kind: unknown }).kind;
    if (kind === 'join' || kind === 'leave' || kind === 'remove') {
      return { ok: false, error: `a ${kind} is proposed by the node itself (joins, graceful leaves, removal of dead members), not by hand` };
    }
    if (kind === 'kv-set' || kind === 'kv-del' || kind === 'decision') return decodeOp(raw);
  }
  return decodeOp({ kind: 'decision', value: raw });
}

interface Open {
  tag: string;
  op: Op;
  openedAt: Millis;
  /** The core generation it was handed to, or null while held. */
  handedTo: number | null;
  resolve(committed: CommittedProposal): void;
  reject(error: Error): void;
}

/** Where a proposal committed, and what executing it gave (the same on f+1 replicas). */
export interface CommittedProposal {
  seq: number;
  result: OpResult;
}

export interface ProposalStats {
  submitted: number;
  committed: number;
  failed: number;
  open: number;
  latencyMs: { p50: number | null; p99: number | null };
  /** Where the time of this node's commits goes (pbft-timing.ts). */
  timing?: TimingStats;
}

export class Proposals {
  private readonly open = new Map<string, Open>();
  private counter = 0;
  private readonly counts = { submitted: 0, committed: 0, failed: 0 };
  private readonly latencies: number[] = [];
  private nextSample = 0;

  /** Opens a proposal; the promise settles with its sequence number. Throws when too many are open. */
  add(op: Op, now: Millis): Promise<number> {
    return this.addForResult(op, now).then((c) => c.seq);
  }

  /** As add, but settles with the result too (an app operation's number is in it). */
  addForResult(op: Op, now: Millis): Promise<CommittedProposal> {
    if (this.open.size >= maxOpenProposals) {
      throw new Error(`${maxOpenProposals} proposals are already waiting for consensus; wait for some to finish`);
    }
    const tag = `${proposalTagPrefix}${++this.counter}`;
    this.counts.submitted++;
    return new Promise<CommittedProposal>((resolve, reject) => {
      this.open.set(tag, { tag, op, openedAt: now, handedTo: null, resolve, reject });
    });
  }

  /** Proposals not yet handed to core `generation`, oldest first; they are marked as handed. */
  takeFor(generation: number): Array<{ tag: string; op: Op }> {
    const out: Array<{ tag: string; op: Op }> = [];
    for (const p of this.open.values()) {
      if (p.handedTo === generation) continue;
      p.handedTo = generation;
      out.push({ tag: p.tag, op: p.op });
    }
    return out;
  }

  /** Settles the proposal a client result is for; false if the tag is not one of ours. */
  settle(result: ClientResultEvent, now: Millis): boolean {
    const p = result.tag !== undefined ? this.open.get(result.tag) : undefined;
    if (!p) return false;
    this.open.delete(p.tag);
    if (result.ok) {
      this.counts.committed++;
      this.sample(now - p.openedAt);
      p.resolve({ seq: result.seq, result: result.result });
    } else {
      this.counts.failed++;
      p.reject(new Error(`not committed: ${result.reason}`));
    }
    return true;
  }

  /** Fails every open proposal (the node is shutting down). */
  failAll(reason: string): void {
    for (const p of this.open.values()) {
      this.counts.failed++;
      p.reject(new Error(reason));
    }
    this.open.clear();
  }

  stats(): ProposalStats {
    return { ...this.counts, open: this.open.size, latencyMs: { p50: this.percentile(50), p99: this.percentile(99) } };
  }

  private sample(ms: number): void {
    if (this.latencies.length < proposalLatencySamples) this.latencies.push(ms);
    else this.latencies[this.nextSample] = ms;
    this.nextSample = (this.nextSample + 1) % proposalLatencySamples;
  }

  private percentile(p: number): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  }
}
