// The pBFT core on the simulator: a thin runtime that does what a tab's runtime does — decode
// every frame, verify every signature (fake crypto), persist before sending, answer `sign`
// effects — and records what the tests check (commits per sequence number, client results,
// UI events, refusals made by the runtime).
import type { SimCluster, SimNode, SimNodeContext } from '../../sim/cluster.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { PbftReplica } from '../../../src/core/pbft/replica.ts';
import { canonicalBytes, decodeMessage, type PbftMessage } from '../../../src/core/pbft/messages.ts';
import type { ByzantineMode } from '../../../src/core/pbft/byzantine.ts';
import type { PbftParams, PbftTiming } from '../../../src/core/pbft/constants.ts';
import type { ClientResultEvent, PbftEffect, PbftUiEvent } from '../../../src/core/pbft/types.ts';
import { fakeDigest, fakeSign, verifyAll } from './fake-crypto.ts';

export interface CommitRecord {
  digest: string;
  /** Canonical text of the executed entries, to compare what replicas executed. */
  entries: string;
}

/** What every node of one test run shares with the test (survives restarts). */
export class PbftWorld {
  /** node → seq → what it executed there (kept across restarts: a node must never change it). */
  readonly commits = new Map<NodeId, Map<number, CommitRecord>>();
  readonly results = new Map<NodeId, ClientResultEvent[]>();
  readonly events: Array<{ at: Millis; id: NodeId; event: PbftUiEvent }> = [];
  readonly refusedByRuntime = new Map<NodeId, Map<string, number>>();
  /** A conflicting commit seen by `recordCommit`: safety broken. */
  violations: string[] = [];
  genesis: NodeId[] = [];
  byzantine = new Map<NodeId, ByzantineMode>();
  params: Partial<PbftParams> = {};
  timing: Partial<PbftTiming> = {};
  keepEvents = true;

  recordCommit(id: NodeId, seq: number, record: CommitRecord): void {
    let mine = this.commits.get(id);
    if (!mine) {
      mine = new Map();
      this.commits.set(id, mine);
    }
    const before = mine.get(seq);
    if (before && before.digest !== record.digest) {
      this.violations.push(`${id} executed ${record.digest} at ${seq} after having executed ${before.digest} there`);
    }
    mine.set(seq, record);
  }

  /** Safety: no two honest nodes executed different batches at one sequence number. */
  conflicts(honest: readonly NodeId[]): string[] {
    const out = [...this.violations];
    const bySeq = new Map<number, { digest: string; id: NodeId }>();
    for (const id of honest) {
      for (const [seq, rec] of this.commits.get(id) ?? []) {
        const first = bySeq.get(seq);
        if (!first) bySeq.set(seq, { digest: rec.digest, id });
        else if (first.digest !== rec.digest) out.push(`seq ${seq}: ${first.id} executed ${first.digest}, ${id} executed ${rec.digest}`);
      }
    }
    return out;
  }

  refused(id: NodeId, reason: string): void {
    let m = this.refusedByRuntime.get(id);
    if (!m) {
      m = new Map();
      this.refusedByRuntime.set(id, m);
    }
    m.set(reason, (m.get(reason) ?? 0) + 1);
  }

  refusedCount(reason: string): number {
    let total = 0;
    for (const m of this.refusedByRuntime.values()) total += m.get(reason) ?? 0;
    return total;
  }

  okResults(id: NodeId): number {
    return (this.results.get(id) ?? []).filter((r) => r.ok).length;
  }
}

export class PbftSimNode implements SimNode<unknown> {
  readonly core: PbftReplica;
  private readonly verified = new Set<string>();
  private now: Millis;

  constructor(
    private readonly ctx: SimNodeContext<unknown>,
    private readonly world: PbftWorld,
  ) {
    this.now = ctx.now();
    this.core = new PbftReplica({
      id: ctx.id,
      genesis: world.genesis,
      digest: fakeDigest,
      rng: ctx.rng,
      params: world.params,
      timing: world.timing,
      byzantine: world.byzantine.get(ctx.id) ?? null,
      persisted: ctx.storage.entries('pbft/'),
      phaseEvents: world.keepEvents,
    });
    this.apply(this.core.start(this.now));
  }

  deliver(now: Millis, _from: NodeId, raw: unknown): void {
    this.now = now;
    const decoded = decodeMessage(raw);
    if (!decoded.ok) {
      this.world.refused(this.ctx.id, 'malformed');
      this.apply(this.core.step(now, { type: 'refused', reason: 'malformed' }));
      return;
    }
    const msg = decoded.value;
    if (verifyAll(msg, this.verified) !== null) {
      this.world.refused(this.ctx.id, 'bad-signature');
      this.apply(this.core.step(now, { type: 'refused', reason: 'bad-signature' }));
      return;
    }
    if (this.verified.size > 20_000) this.verified.clear();
    this.apply(this.core.step(now, { type: 'message', msg, from: _from }));
  }

  tick(now: Millis): void {
    this.now = now;
    this.apply(this.core.step(now, { type: 'tick' }));
  }

  nextWakeAt(): Millis | undefined {
    return this.core.nextWakeAt();
  }

  submit(now: Millis, op: unknown, tag?: string): void {
    this.now = now;
    this.apply(this.core.step(now, { type: 'submit', op, tag }));
  }

  /** What the runtime learns from gossip: other nodes of the mesh. */
  setPeers(now: Millis, peers: readonly NodeId[]): void {
    this.now = now;
    this.apply(this.core.step(now, { type: 'peers', peers }));
  }

  setByzantine(now: Millis, mode: ByzantineMode | null): void {
    this.now = now;
    if (mode) this.world.byzantine.set(this.ctx.id, mode);
    else this.world.byzantine.delete(this.ctx.id);
    this.apply(this.core.step(now, { type: 'set-byzantine', mode }));
  }

  private apply(effects: PbftEffect[]): void {
    for (const e of effects) {
      switch (e.type) {
        case 'persist':
          this.ctx.storage.write([
            ...e.writes.map(([key, value]) => ({ kind: 'set' as const, key, value })),
            ...e.deletes.map((key) => ({ kind: 'del' as const, key })),
          ]);
          break;
        case 'sign': {
          // The runtime signs with its own key whatever signer the core names.
          const sig = fakeSign(this.ctx.id, e.text);
          this.apply(this.core.step(this.now, { type: 'signed', id: e.id, sig }));
          break;
        }
        case 'send':
          this.ctx.send(e.to, e.msg as PbftMessage);
          break;
        case 'broadcast':
          for (const to of e.to) this.ctx.send(to, e.msg);
          break;
        case 'committed':
          this.world.recordCommit(this.ctx.id, e.seq, { digest: e.digest, entries: canonicalBytes(e.entries) });
          break;
        case 'client-result': {
          const list = this.world.results.get(this.ctx.id) ?? [];
          list.push(e);
          this.world.results.set(this.ctx.id, list);
          break;
        }
        case 'ui':
          if (this.world.keepEvents) this.world.events.push({ at: this.now, id: this.ctx.id, event: e.event });
          break;
      }
    }
  }
}

export type PbftCluster = SimCluster<unknown, PbftSimNode>;
