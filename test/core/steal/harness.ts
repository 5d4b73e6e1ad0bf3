// A tiny synchronous harness for unit tests of the stealing core: a few cores, messages
// delivered at once in send order (optionally dropped by a filter), runs recorded so the test
// decides when and how each task finishes, persisted keys kept per node.
import { createRng } from '../../../src/core/rng.ts';
import { createStealCore, type StealCore, type StealCoreOptions } from '../../../src/core/steal/core.ts';
import type { JsonValue } from '../../../src/core/steal/json.ts';
import type { StealMsg, WorkItem } from '../../../src/core/steal/messages.ts';
import { decodePersistedJobs } from '../../../src/core/steal/persist.ts';
import type { StealEffect, StealEvent, StealInput, TaskOutcome } from '../../../src/core/steal/types.ts';
import { asNodeId, type Millis, type NodeId } from '../../../src/core/types.ts';
import { simDigest, simKind } from './sim-node.ts';

export interface Run {
  node: NodeId;
  key: string;
  task: WorkItem;
}

export class Harness {
  now: Millis = 0;
  readonly cores = new Map<NodeId, StealCore>();
  readonly runs: Run[] = [];
  readonly events: Array<{ node: NodeId; event: StealEvent }> = [];
  readonly sent: Array<{ from: NodeId; to: NodeId; msg: StealMsg }> = [];
  readonly disks = new Map<NodeId, Map<string, JsonValue>>();
  /** Return false to drop a message. */
  filter: (from: NodeId, to: NodeId, msg: StealMsg) => boolean = () => true;
  private readonly pending: Array<{ from: NodeId; to: NodeId; msg: unknown }> = [];

  add(name: string, options: Partial<StealCoreOptions> = {}): NodeId {
    const self = asNodeId(name);
    const disk = this.disks.get(self) ?? new Map<string, JsonValue>();
    this.disks.set(self, disk);
    const core = createStealCore({
      self,
      rng: createRng(`${name}/${this.cores.size}/${this.now}`),
      now: this.now,
      kinds: [simKind],
      digest: simDigest,
      workers: 2,
      restored: decodePersistedJobs(disk.entries()).jobs,
      ...options,
    });
    this.cores.set(self, core);
    this.step(self, { type: 'tick' });
    return self;
  }

  core(node: NodeId): StealCore {
    const core = this.cores.get(node);
    if (!core) throw new Error(`no core ${node}`);
    return core;
  }

  /** Feeds one input and delivers every message it causes, transitively. */
  step(node: NodeId, input: StealInput): StealEffect[] {
    const effects = this.apply(node, this.core(node).step(this.now, input));
    this.deliverAll();
    return effects;
  }

  /** A raw message from `from` to `to` (any value, decoded by the core). */
  inject(from: NodeId, to: NodeId, msg: unknown): StealEffect[] {
    return this.step(to, { type: 'message', from, msg });
  }

  /** Advances time, ticking every core whose wake-up is due, in order. */
  advance(ms: Millis): void {
    const end = this.now + ms;
    for (;;) {
      let next = end;
      for (const core of this.cores.values()) next = Math.min(next, core.nextWakeAt() ?? end);
      this.now = Math.max(this.now, next);
      for (const [node, core] of this.cores) if ((core.nextWakeAt() ?? Infinity) <= this.now) this.step(node, { type: 'tick' });
      if (this.now >= end) return;
    }
  }

  /** Finishes a recorded run with `outcome` (default: the honest sim-work answer). */
  finish(run: Run, outcome?: TaskOutcome): StealEffect[] {
    this.runs.splice(this.runs.indexOf(run), 1);
    const params = run.task.params as { value: number };
    return this.step(run.node, { type: 'task-finished', key: run.key, outcome: outcome ?? { ok: true, value: { value: params.value * 2 } } });
  }

  /** Finishes every recorded run (and those they cause) until none is left. */
  finishAll(maxRounds = 10_000): void {
    for (let i = 0; i < maxRounds && this.runs.length > 0; i++) this.finish(this.runs[0] as Run);
  }

  /** Events of one kind, in order. */
  eventsOf<K extends StealEvent['kind']>(kind: K): Array<Extract<StealEvent, { kind: K }> & { node: NodeId }> {
    return this.events.filter((e) => e.event.kind === kind).map((e) => ({ ...(e.event as Extract<StealEvent, { kind: K }>), node: e.node }));
  }

  private apply(node: NodeId, effects: StealEffect[]): StealEffect[] {
    const disk = this.disks.get(node) as Map<string, JsonValue>;
    for (const e of effects) {
      if (e.type === 'send') {
        this.sent.push({ from: node, to: e.to, msg: e.msg });
        if (this.filter(node, e.to, e.msg)) this.pending.push({ from: node, to: e.to, msg: JSON.parse(JSON.stringify(e.msg)) });
      } else if (e.type === 'run') this.runs.push({ node, key: e.key, task: e.task });
      else if (e.type === 'abort') {
        const i = this.runs.findIndex((r) => r.node === node && r.key === e.key);
        if (i >= 0) this.runs.splice(i, 1);
      } else if (e.type === 'persist') {
        for (const key of e.deletes) disk.delete(key);
        for (const [key, value] of e.writes) disk.set(key, JSON.parse(JSON.stringify(value)) as JsonValue);
      } else if (e.type === 'event') this.events.push({ node, event: e.event });
      else if (e.type === 'advertise') {
        for (const [other] of this.cores) if (other !== node) this.pending.push({ from: node, to: other, msg: { type: 'load', load: e.advert } });
      }
    }
    return effects;
  }

  private deliverAll(): void {
    while (this.pending.length > 0) {
      const { from, to, msg } = this.pending.shift() as { from: NodeId; to: NodeId; msg: unknown };
      const core = this.cores.get(to);
      if (core) this.apply(to, core.step(this.now, { type: 'message', from, msg }));
    }
  }
}

/** A sim-work job of `n` tasks (`ms` each; values 0…n−1). */
export function job(n: number, extra: { priority?: 'critical' | 'high' | 'medium' | 'low'; redundancy?: number; ms?: number } = {}) {
  return {
    type: 'submit' as const,
    job: {
      kind: simKind,
      tasks: Array.from({ length: n }, (_, i): JsonValue => ({ ms: extra.ms ?? 100, value: i })),
      priority: extra.priority,
      redundancy: extra.redundancy,
    },
  };
}
