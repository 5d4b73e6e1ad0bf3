// The stealing core as a simulator node (test/sim): a thin adapter that turns the core's
// effects into sends, disk writes and virtual worker runs. A task of the test kind `sim-work`
// takes `params.ms` of virtual time on one worker slot and answers `{ value: 2 × params.value }`;
// a node can be made to lie (wrong answers) or to fail every task, for the fault scenarios.
// Adverts go straight to peers as `load` messages, standing in for gossip.
import { createStealCore, type StealCore } from '../../../src/core/steal/core.ts';
import type { StealConfig } from '../../../src/core/steal/config.ts';
import { canonicalJson, type JsonValue } from '../../../src/core/steal/json.ts';
import type { WorkItem } from '../../../src/core/steal/messages.ts';
import { decodePersistedJobs } from '../../../src/core/steal/persist.ts';
import type { StealEffect, StealEvent, StealInput, TaskOutcome } from '../../../src/core/steal/types.ts';
import type { Millis, NodeId } from '../../../src/core/types.ts';
import type { SimNode, SimNodeContext } from '../../sim/cluster.ts';
import type { WriteOp } from '../../sim/storage.ts';

export const simKind = 'sim-work';

export interface SimWork {
  [key: string]: number | boolean;
  /** Virtual milliseconds the task occupies a worker. */
  ms: number;
  value: number;
}

export type Behaviour = 'honest' | 'wrong-results' | 'failing';

export interface StealSimOptions {
  /** Everyone this node advertises its load to. */
  peers: () => readonly NodeId[];
  workers: number;
  behaviour?: Behaviour;
  config?: Partial<StealConfig>;
  /** Send each advert to this many random peers instead of all (gossip-like partial views). */
  advertFanout?: number;
  /** Failed attempts (`fail: true` tasks) error on every node. */
  kinds?: string[];
  /** Told of every task this node starts (tests that check where tasks ran). */
  onRun?: (task: WorkItem, now: Millis) => void;
}

/** The honest answer to a sim-work task. */
export const expectedValue = (params: SimWork): JsonValue => ({ value: params.value * 2 });

/** Digest for verified mode: canonical JSON is enough in a simulation. */
export const simDigest = (result: JsonValue): string => canonicalJson(result);

export class StealSimNode implements SimNode<unknown> {
  readonly core: StealCore;
  readonly events: StealEvent[] = [];
  /** Worker-milliseconds spent running tasks (utilisation = busyMs ÷ (workers × time)). */
  busyMs = 0;
  behaviour: Behaviour;
  private readonly runs = new Map<string, { task: WorkItem; startedAt: Millis; finishAt: Millis }>();

  constructor(
    private readonly ctx: SimNodeContext<unknown>,
    private readonly options: StealSimOptions,
  ) {
    this.behaviour = options.behaviour ?? 'honest';
    const restored = decodePersistedJobs(ctx.storage.entries('steal/'));
    this.core = createStealCore({
      self: ctx.id,
      rng: ctx.rng.fork('steal'),
      now: ctx.now(),
      kinds: options.kinds ?? [simKind],
      digest: simDigest,
      workers: options.workers,
      config: options.config,
      restored: restored.jobs,
    });
  }

  deliver(now: Millis, from: NodeId, msg: unknown): void {
    this.input(now, { type: 'message', from, msg });
  }

  tick(now: Millis): void {
    const due = [...this.runs].filter(([, r]) => r.finishAt <= now).sort(([ka, a], [kb, b]) => a.finishAt - b.finishAt || (ka < kb ? -1 : 1));
    for (const [key, run] of due) {
      this.runs.delete(key);
      this.busyMs += run.finishAt - run.startedAt;
      this.input(now, { type: 'task-finished', key, outcome: this.compute(run.task) });
    }
    this.input(now, { type: 'tick' });
  }

  nextWakeAt(): Millis | undefined {
    let next = this.core.nextWakeAt() ?? Number.POSITIVE_INFINITY;
    for (const run of this.runs.values()) next = Math.min(next, run.finishAt);
    return Number.isFinite(next) ? next : undefined;
  }

  /** One input from the test script (use inside `cluster.act`). */
  input(now: Millis, input: StealInput): StealEffect[] {
    const effects = this.core.step(now, input);
    this.apply(now, effects);
    return effects;
  }

  runningCount(): number {
    return this.runs.size;
  }

  private compute(task: WorkItem): TaskOutcome {
    const params = task.params as SimWork;
    if (this.behaviour === 'failing' || params.fail === true) return { ok: false, error: `task ${task.index} failed on purpose` };
    if (this.behaviour === 'wrong-results') return { ok: true, value: { value: params.value * 2 + 1 } };
    return { ok: true, value: expectedValue(params) };
  }

  private apply(now: Millis, effects: readonly StealEffect[]): void {
    const writes: WriteOp[] = [];
    for (const e of effects) {
      switch (e.type) {
        case 'persist':
          for (const [key, value] of e.writes) writes.push({ kind: 'set', key, value });
          for (const key of e.deletes) writes.push({ kind: 'del', key });
          break;
        case 'send':
          this.ctx.send(e.to, e.msg);
          break;
        case 'run': {
          const ms = Math.max(0, Number((e.task.params as SimWork).ms) || 0);
          this.runs.set(e.key, { task: e.task, startedAt: now, finishAt: now + ms });
          this.options.onRun?.(e.task, now);
          break;
        }
        case 'abort': {
          const run = this.runs.get(e.key);
          if (run) this.busyMs += now - run.startedAt;
          this.runs.delete(e.key);
          break;
        }
        case 'advertise': {
          const peers = this.options.peers().filter((p) => p !== this.ctx.id);
          const fanout = this.options.advertFanout;
          const targets = fanout === undefined || fanout >= peers.length ? peers : this.ctx.rng.shuffle(peers).slice(0, fanout);
          for (const peer of targets) this.ctx.send(peer, { type: 'load', load: e.advert });
          break;
        }
        case 'event':
          this.events.push(e.event);
          this.ctx.emit(e.event);
          break;
      }
    }
    if (writes.length > 0) this.ctx.storage.write(writes);
  }
}

/** Task parameters for a job: `durations[i]` ms each, values 0, 1, 2, … */
export function simTasks(durations: readonly number[], fail: (i: number) => boolean = () => false): { tasks: JsonValue[]; costs: number[] } {
  return {
    tasks: durations.map((ms, i): JsonValue => (fail(i) ? { ms, value: i, fail: true } : { ms, value: i })),
    costs: [...durations],
  };
}
