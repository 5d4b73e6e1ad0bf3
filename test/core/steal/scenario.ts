// Scripted scenarios for the stealing core on the simulator: a cluster of StealSimNodes, a
// record of every accepted task (to check exactly-once), and churn helpers that crash nodes,
// have failure detection declare them dead a little later, and restart them from their disks.
import { expect } from 'vitest';
import { createRng, type Rng } from '../../../src/core/rng.ts';
import type { StealConfig } from '../../../src/core/steal/config.ts';
import type { JsonValue } from '../../../src/core/steal/json.ts';
import type { JobId } from '../../../src/core/steal/messages.ts';
import type { JobView, StealEvent, StealInput } from '../../../src/core/steal/types.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import { SimCluster } from '../../sim/cluster.ts';
import type { NetworkOptions } from '../../sim/network.ts';
import { StealSimNode, simKind, simTasks, type Behaviour } from './sim-node.ts';

export interface ScenarioOptions {
  seed: number;
  nodes: number;
  workers?: number;
  network?: NetworkOptions;
  config?: Partial<StealConfig>;
  behaviour?: (id: NodeId) => Behaviour;
}

export class StealScenario {
  readonly cluster: SimCluster<unknown, StealSimNode>;
  readonly ids: NodeId[];
  /** Accepted results per `${jobId}#${index}`: who accepted and when. */
  readonly accepted = new Map<string, Array<{ at: Millis; home: NodeId }>>();
  readonly events: Array<{ at: Millis; id: NodeId; event: StealEvent }> = [];
  private readonly rng: Rng;

  constructor(options: ScenarioOptions) {
    let ids: NodeId[] = [];
    this.cluster = new SimCluster<unknown, StealSimNode>({
      seed: options.seed,
      network: options.network,
      create: (ctx) =>
        new StealSimNode(ctx, {
          peers: () => ids,
          workers: options.workers ?? 2,
          config: options.config,
          behaviour: options.behaviour?.(ctx.id) ?? 'honest',
        }),
    });
    ids = this.cluster.addMany(options.nodes);
    this.ids = ids;
    this.rng = createRng(`scenario/${options.seed}`);
    this.cluster.onEvent(({ at, id, event }) => {
      const e = event as StealEvent;
      this.events.push({ at, id, event: e });
      if (e.kind === 'task-accepted') {
        const key = `${e.jobId}#${e.index}`;
        this.accepted.set(key, [...(this.accepted.get(key) ?? []), { at, home: id }]);
      }
    });
    this.cluster.runFor(2_500); // first adverts go round
  }

  input(id: NodeId, input: StealInput): void {
    this.cluster.act(id, (node, now) => node.input(now, input));
  }

  /** Submits a sim-work job of the given task durations at `home`; returns its id. */
  submit(
    home: NodeId,
    durations: readonly number[],
    extra: { redundancy?: number; priority?: 'critical' | 'high' | 'medium' | 'low'; fail?: (i: number) => boolean } = {},
  ): JobId {
    const before = new Set(
      this.cluster
        .node(home)
        .core.view()
        .jobs.map((j) => j.id),
    );
    this.input(home, { type: 'submit', job: { kind: simKind, ...simTasks(durations, extra.fail), redundancy: extra.redundancy, priority: extra.priority } });
    const created = this.cluster
      .node(home)
      .core.view()
      .jobs.find((j) => !before.has(j.id));
    if (!created) throw new Error('the job was refused');
    return created.id;
  }

  job(home: NodeId, jobId: JobId): JobView | undefined {
    return this.cluster.isUp(home)
      ? this.cluster
          .node(home)
          .core.view()
          .jobs.find((j) => j.id === jobId)
      : undefined;
  }

  /** Runs until the job is finished at its home (or the budget runs out); returns its view. */
  runUntilFinished(home: NodeId, jobId: JobId, budgetMs: Millis): JobView | undefined {
    this.cluster.runUntil(() => ['done', 'failed', 'cancelled'].includes(this.job(home, jobId)?.status ?? ''), { timeoutMs: budgetMs, checkEveryMs: 50 });
    return this.job(home, jobId);
  }

  /** Tells every other live node what failure detection would: `node` is dead / alive. */
  declare(node: NodeId, status: 'dead' | 'alive'): void {
    for (const id of this.cluster.upIds()) if (id !== node) this.input(id, status === 'dead' ? { type: 'member-dead', node } : { type: 'member-alive', node });
  }

  /**
   * Crashes a random live node (never one in `spare`) every `everyMs` until `untilMs`; failure
   * detection declares it dead `detectMs` later; it restarts from its disk after `downMs`.
   */
  churn(options: { everyMs: Millis; untilMs: Millis; detectMs: Millis; downMs: Millis; spare: readonly NodeId[] }): void {
    for (let t = this.cluster.now + options.everyMs; t < options.untilMs; t += options.everyMs) {
      this.cluster.at(t, 'churn', () => {
        const victim = this.rng.pick(this.cluster.upIds().filter((id) => !options.spare.includes(id)));
        if (!victim) return;
        this.cluster.crash(victim);
        const crashedAt = this.cluster.now;
        this.cluster.at(crashedAt + options.detectMs, `declare ${victim} dead`, () => {
          if (!this.cluster.isUp(victim)) this.declare(victim, 'dead');
        });
        this.cluster.at(crashedAt + options.downMs, `restart ${victim}`, () => {
          if (this.cluster.isUp(victim)) return;
          this.cluster.restart(victim);
          this.declare(victim, 'alive');
        });
      });
    }
  }

  /** Every task of the job accepted exactly once, with the honest answer. */
  expectExactlyOnce(home: NodeId, jobId: JobId, durations: readonly number[]): void {
    const view = this.job(home, jobId);
    expect(view?.status, 'job status').toBe('done');
    for (let i = 0; i < durations.length; i++) {
      const times = this.accepted.get(`${jobId}#${i}`) ?? [];
      expect(times.length, `task ${i} accepted ${times.length} times`).toBe(1);
    }
    const output = this.cluster.node(home).core.jobOutput(jobId);
    expect(output?.results).toEqual(durations.map((_, i): JsonValue => ({ value: 2 * i })));
  }
}

/** Task durations in ms, seeded: mostly short, some long. */
export function mixedDurations(count: number, seed: number): number[] {
  const rng = createRng(`durations/${seed}`);
  return Array.from({ length: count }, () => (rng.next() < 0.1 ? 1_000 + rng.int(2_000) : 100 + rng.int(400)));
}
