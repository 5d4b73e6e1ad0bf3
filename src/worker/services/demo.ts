// The demo service: what the consensus demo view (src/ui/demo) needs from the room's nodes.
//  - Every node answers a viewer's `trace-ask` with the consensus messages it really sent and
//    received since the viewer's cursor (src/core/pbft/trace.ts) and a short report of its state.
//  - The viewer's own node (a tab on the demo view, `demoObserve`) only watches: it never joins
//    the replicas. It asks every live member for its trace a few times a second and hands each
//    answer to its page (app event `demo-trace`).
//  - A click on a node in the view becomes a `fault` message to that node (`demoFault`). The node
//    honours it only if its own person named the viewer as its controller (`demoController`,
//    from the `controller` URL parameter: the demo's join link carries it), only recent and
//    never the same twice; its page then carries it out with the node's own commands (event
//    `demo-fault`, src/ui/demo/control.ts). docs/security.md, "Demo control", has the reasoning.
// Bounded everywhere: answers per asker per second, records per answer, faults outstanding.
import type { MemberView } from '../../core/gossip/index.ts';
import { isByzantineMode, type ByzantineMode } from '../../core/pbft/index.ts';
import { maxTraceRecordsPerRead } from '../../core/pbft/trace.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { nodeIdSchema } from '../../core/ids.ts';
import { decodeWith } from '../../core/decode.ts';
import { CommandError } from '../command-error.ts';
import type { Service, ServiceContext } from '../service.ts';
import { decodeDemoMessage, faultActions, type DemoMessage, type DemoNodeState, type DemoTraceEvent, type FaultAction } from './demo-messages.ts';
import type { PbftService } from './pbft.ts';
import type { StealTrace } from '../../core/steal/trace.ts';

/** A viewer asks each live member for its trace this often. */
export const traceAskIntervalMs: Millis = 400;
/** A node answers one asker at most this often (more asks are counted and ignored). */
export const traceAnswerMinIntervalMs: Millis = 150;
/** Askers remembered for that limit; the oldest is forgotten first. */
const maxAskersTracked = 64;
/** Members a viewer asks per round at most (the view holds 16 nodes legibly). */
export const maxMembersAsked = 32;
/** A fault older or newer than this (sender's clock against ours) is refused as a replay. */
export const faultFreshnessMs: Millis = 30_000;
/** Fault ids remembered to refuse a second delivery of the same one. */
const faultIdsKept = 128;
/** A fault the viewer sent is given up after this long without an answer. */
export const faultAnswerTimeoutMs: Millis = 8_000;
/** Faults a viewer may have waiting for an answer at once. */
const maxFaultsOutstanding = 16;
/** Storage key of the controller this node's person accepted (survives a worker restart). */
export const controllerStorageKey = 'demo/controller';

export interface DemoServiceDeps {
  pbft: PbftService;
  /** The work-stealing trace, where this node runs the balancer. */
  steal?: { trace: StealTrace };
  members: () => readonly MemberView[];
}

interface Outstanding {
  resolve: (note: string) => void;
  reject: (error: Error) => void;
  deadline: Millis;
}

export class DemoService implements Service {
  readonly protocol = 'demo' as const;
  private ctx!: ServiceContext;
  private controller: NodeId | null = null;
  private observing = false;
  private nextAskAt: Millis = Infinity;
  private readonly cursors = new Map<NodeId, { after: number; stealsAfter: number }>();
  /** The viewer's own hand-overs (it computes and hands out work like any node). */
  private ownStealsAfter = 0;
  private readonly answeredAt = new Map<NodeId, Millis>();
  private readonly faultIds = new Set<string>();
  private readonly outstanding = new Map<string, Outstanding>();
  private faultCounter = 0;
  private isolatedUntil: Millis = 0;
  private readonly counts = { tracesAnswered: 0, tracesReceived: 0, faultsHonoured: 0, faultsRefused: 0 };

  constructor(private readonly deps: DemoServiceDeps) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    const stored = decodeWith(nodeIdSchema, await ctx.storage.get(controllerStorageKey));
    if (stored.ok) this.controller = stored.value as NodeId;
  }

  receive(from: NodeId, raw: unknown): void {
    const decoded = decodeDemoMessage(raw);
    if (!decoded.ok) return this.ctx.reject(`malformed demo message (${decoded.error})`);
    const msg = decoded.value;
    switch (msg.type) {
      case 'trace-ask':
        return this.answer(from, msg.after, msg.stealsAfter);
      case 'trace':
        return this.traceArrived(from, msg);
      case 'fault':
        return this.fault(from, msg);
      case 'fault-result':
        return this.faultResult(msg);
    }
  }

  tick(now: Millis): void {
    for (const [id, waiting] of this.outstanding) {
      if (now < waiting.deadline) continue;
      this.outstanding.delete(id);
      waiting.reject(new CommandError('demo-no-answer', 'the node did not answer the demo command in time: it may be asleep, crashed or cut off'));
    }
    if (!this.observing || now < this.nextAskAt) return;
    this.nextAskAt = now + traceAskIntervalMs;
    const live = this.deps
      .members()
      .filter((m) => m.id !== this.ctx.self && (m.status === 'alive' || m.status === 'suspect'))
      .slice(0, maxMembersAsked);
    for (const member of live) {
      const cursor = this.cursors.get(member.id) ?? { after: 0, stealsAfter: 0 };
      this.ctx.sendTo(member.id, { type: 'trace-ask', after: cursor.after, stealsAfter: cursor.stealsAfter } satisfies DemoMessage);
    }
    const own = this.deps.steal?.trace.read(this.ownStealsAfter);
    if (own && own.records.length > 0) {
      this.ownStealsAfter = own.next;
      this.ctx.publishEvent?.('demo-trace', {
        node: this.ctx.self,
        records: [],
        missed: 0,
        restarted: false,
        state: this.state(),
        steals: own.records,
        receivedAt: now,
      } satisfies DemoTraceEvent);
    }
  }

  nextWakeAt(): Millis | undefined {
    let next = this.observing ? this.nextAskAt : Infinity;
    for (const waiting of this.outstanding.values()) next = Math.min(next, waiting.deadline);
    return next === Infinity ? undefined : next;
  }

  readonly commands = {
    /** Makes this node the demo view's watcher: it asks the room for traces and never joins the replicas. */
    demoObserve: (args: unknown[]): true => {
      if (typeof args[0] !== 'boolean') throw new CommandError('bad-argument', 'demoObserve(on): on must be true or false');
      this.observing = args[0];
      this.deps.pbft.observerOnly = args[0];
      this.nextAskAt = args[0] ? this.ctx.now() : Infinity;
      return true;
    },
    /** Names the one node whose demo faults this node honours (null: none). Kept in storage. */
    demoController: async (args: unknown[]): Promise<string | null> => {
      const raw = args[0] ?? null;
      if (raw !== null) {
        const id = decodeWith(nodeIdSchema, raw);
        if (!id.ok) throw new CommandError('bad-argument', `demoController(id): id must be a node id or null (${id.error})`);
        if (id.value === this.ctx.self) throw new CommandError('bad-argument', 'demoController(id): a node cannot be its own controller');
      }
      this.controller = raw as NodeId | null;
      if (raw === null) await this.ctx.storage.del(controllerStorageKey);
      else await this.ctx.storage.set(controllerStorageKey, raw);
      this.ctx.changed();
      return this.controller;
    },
    /** Asks `node` to misbehave (or to be well again); resolves with its answer, rejects with a coded error. */
    demoFault: (args: unknown[]): Promise<string> => {
      const [target, action, mode] = args;
      const id = decodeWith(nodeIdSchema, target);
      if (!id.ok) throw new CommandError('bad-argument', `demoFault(node, action, mode?): node must be a node id (${id.error})`);
      if (typeof action !== 'string' || !(faultActions as readonly string[]).includes(action)) {
        throw new CommandError('bad-argument', `demoFault(node, action, mode?): action must be one of ${faultActions.join(', ')}`);
      }
      if (action === 'byzantine' && !isByzantineMode(mode))
        throw new CommandError('bad-argument', 'demoFault(node, "byzantine", mode): mode must be a Byzantine mode');
      if (this.outstanding.size >= maxFaultsOutstanding)
        throw new CommandError('demo-busy', 'too many demo commands are waiting for an answer; wait a few seconds');
      const faultId = `${this.ctx.self.slice(0, 8)}.${this.ctx.now().toString(36)}.${(++this.faultCounter).toString(36)}`;
      const message: DemoMessage = {
        type: 'fault',
        id: faultId,
        at: this.ctx.now(),
        action: action as FaultAction,
        ...(action === 'byzantine' ? { mode: mode as ByzantineMode } : {}),
      };
      return new Promise<string>((resolve, reject) => {
        this.outstanding.set(faultId, { resolve, reject, deadline: this.ctx.now() + faultAnswerTimeoutMs });
        this.ctx.sendTo(id.value as NodeId, message);
      });
    },
    /** The page tells its worker how long its links are cut for (shown in state reports). */
    demoIsolated: (args: unknown[]): true => {
      const ms = args[0];
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new CommandError('bad-argument', 'demoIsolated(ms): ms must be a number ≥ 0');
      this.isolatedUntil = this.ctx.now() + ms;
      return true;
    },
  };

  snapshot(): Record<string, unknown> {
    return { demo: { controller: this.controller, observing: this.observing, ...this.counts } };
  }

  /** What this node reports of itself with every trace. */
  private state(): DemoNodeState {
    const c = this.deps.pbft.consensus();
    const last = c.log.at(-1);
    return {
      role: c.status,
      view: c.view,
      mode: c.mode,
      primary: c.primary as NodeId | null,
      replicas: c.replicas.slice(0, 64) as NodeId[],
      n: c.n,
      f: c.f,
      lastCommitted: c.lastCommitted,
      viewChanges: c.viewChanges,
      byzantine: c.byzantine,
      halted: c.halted === null ? null : c.halted.slice(0, 400),
      isolatedForMs: Math.max(0, Math.round(this.isolatedUntil - this.ctx.now())),
      controller: this.controller,
      head: last ? { seq: last.seq, digest: last.digest.slice(0, 16) } : null,
    };
  }

  private answer(from: NodeId, after: number, stealsAfter: number | undefined): void {
    const now = this.ctx.now();
    const last = this.answeredAt.get(from);
    if (last !== undefined && now - last < traceAnswerMinIntervalMs) return this.ctx.reject('trace asked for too often');
    this.answeredAt.delete(from);
    this.answeredAt.set(from, now);
    if (this.answeredAt.size > maxAskersTracked) this.answeredAt.delete(this.answeredAt.keys().next().value as NodeId);
    const read = this.deps.pbft.trace.read(after, maxTraceRecordsPerRead);
    this.counts.tracesAnswered++;
    const steals = stealsAfter === undefined ? undefined : this.deps.steal?.trace.read(stealsAfter);
    this.ctx.sendTo(from, {
      type: 'trace',
      records: read.records,
      next: read.next,
      missed: read.missed,
      restarted: read.restarted,
      state: this.state(),
      ...(steals ? { steals: steals.records, stealsNext: steals.next } : {}),
    } satisfies DemoMessage);
  }

  private traceArrived(from: NodeId, msg: Extract<DemoMessage, { type: 'trace' }>): void {
    if (!this.observing) return this.ctx.reject('a trace nobody asked for');
    this.counts.tracesReceived++;
    this.cursors.set(from, { after: msg.next, stealsAfter: msg.stealsNext ?? this.cursors.get(from)?.stealsAfter ?? 0 });
    if (this.cursors.size > maxAskersTracked * 4) this.cursors.delete(this.cursors.keys().next().value as NodeId);
    const event: DemoTraceEvent = {
      node: from,
      records: msg.records,
      missed: msg.missed,
      restarted: msg.restarted,
      state: msg.state,
      steals: msg.steals ?? [],
      receivedAt: this.ctx.now(),
    };
    this.ctx.publishEvent?.('demo-trace', event);
  }

  private fault(from: NodeId, msg: Extract<DemoMessage, { type: 'fault' }>): void {
    const refuse = (note: string): void => {
      this.counts.faultsRefused++;
      this.ctx.reject(`demo fault refused: ${note}`);
      this.ctx.sendTo(from, { type: 'fault-result', id: msg.id, ok: false, note } satisfies DemoMessage);
    };
    if (this.controller === null) return refuse('this tab accepts no demo commands (it was not opened from the demo’s join link)');
    if (from !== this.controller) return refuse('this tab accepts demo commands from another node only');
    if (Math.abs(this.ctx.now() - msg.at) > faultFreshnessMs) return refuse('the command is too old (or the clocks differ by over 30 s)');
    if (this.faultIds.has(msg.id)) return refuse('the same command came twice');
    this.faultIds.add(msg.id);
    if (this.faultIds.size > faultIdsKept) this.faultIds.delete(this.faultIds.values().next().value as string);
    if (!this.ctx.publishEvent) return refuse('this node has no page to carry out demo commands');
    this.counts.faultsHonoured++;
    this.ctx.publishEvent('demo-fault', { action: msg.action, mode: msg.mode ?? null, by: from });
    this.ctx.sendTo(from, {
      type: 'fault-result',
      id: msg.id,
      ok: true,
      note: `${msg.action}${msg.mode ? ` (${msg.mode})` : ''} accepted`,
    } satisfies DemoMessage);
    this.ctx.changed();
  }

  private faultResult(msg: Extract<DemoMessage, { type: 'fault-result' }>): void {
    const waiting = this.outstanding.get(msg.id);
    if (!waiting) return;
    this.outstanding.delete(msg.id);
    if (msg.ok) waiting.resolve(msg.note);
    else waiting.reject(new CommandError('demo-refused', msg.note));
  }
}
