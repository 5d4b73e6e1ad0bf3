// The gossip core in a tab (or a Node peer): its frames, its timers, its durable state in the
// node's storage, and the memory commands of window.tabmesh. Gossip talks to direct links only;
// which links exist is the transport's (later the overlay's) business.
import {
  GossipCore,
  gossipStoragePrefix,
  type GossipEffect,
  type GossipEvent,
  type GossipMsg,
  type GossipView,
  type MemoryEntryView,
} from '../../core/gossip/index.ts';
import { maxMemoryChangesPerMessage, type MemoryChange } from '../protocol.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import { EffectDriver } from '../effect-driver.ts';
import { GroupCommit } from '../group-commit.ts';
import type { Service, ServiceContext } from '../service.ts';
import { loadChecked } from '../../store/set-aside.ts';
import { decodeSelfRecord, decodeStoredEntry, memoryKeyPrefix, selfRecordKey } from '../../core/gossip/persist.ts';
import { memberTableOf, type MemberTableView } from './member-table.ts';

/** Why a stored gossip record cannot be used, or null if it can (keys the core does not read pass). */
export const checkGossipRecord =
  (self: NodeId) =>
  (key: string, raw: unknown): string | null => {
    if (key === selfRecordKey) return decodeSelfRecord(raw, self) ? null : "not this node's gossip record (incarnation, version, clock)";
    if (key.startsWith(memoryKeyPrefix)) return decodeStoredEntry(key, raw) ? null : 'not a memory entry stored under its own key';
    return null;
  };

export class GossipService implements Service {
  readonly protocol = 'gossip' as const;
  private core!: GossipCore;
  private ctx!: ServiceContext;
  private driver!: EffectDriver<GossipMsg, GossipEvent>;
  private cachedView: GossipView | null = null;
  /** Memory changes not yet posted to the page (flushed at the end of the current task). */
  private memoryChanges: MemoryChange[] = [];
  private memoryFlushQueued = false;

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
    // Group commit: a burst of memory writes costs a few transactions (docs/benchmarks.md, "Peers").
    this.driver = new EffectDriver(
      new GroupCommit(ctx.storage, { now: () => ctx.now(), failed: (error) => ctx.reject(`storage write failed: ${String(error)}`) }),
      {
        send: (to, msg) => ctx.send(to, msg),
        event: (event) => this.onCoreEvent(event),
        reenter: (fn) => ctx.reenter(fn),
        failed: (what, error) => ctx.reject(`${what} failed: ${String(error).slice(0, 120)}`),
      },
    );
    // A record that does not decode is set aside (src/store/set-aside.ts), not handed to the core.
    const { entries: persisted } = await loadChecked(ctx.storage, gossipStoragePrefix, checkGossipRecord(ctx.self), ctx.now());
    this.core = new GossipCore({ id: ctx.self, rng: ctx.rng, now: ctx.now(), persisted, peers: ctx.linkedPeers() });
    // The page starts from the whole memory, then follows the changes.
    if (ctx.publishMemory)
      this.postMemory(
        true,
        this.core.view().memory.map((e) => ({ key: e.key, value: e.value, origin: e.origin, hlc: e.hlc })),
      );
  }

  receive(from: NodeId, message: unknown): void {
    this.step({ type: 'message', from, msg: message });
    // News to pass on asks for a flush at once (eager.ts): do it in this task rather than at the
    // runtime's next timer turn, so a relay adds no timer wait per hop. One frame in, at most
    // one frame out per link: a burst stays coalesced as its writer packed it.
    const now = this.ctx.now();
    if ((this.core.nextWakeAt() ?? Infinity) <= now) this.tick(now);
  }

  linkUp(): void {
    this.step({ type: 'peers-changed', peers: this.ctx.linkedPeers() });
  }

  linkDown(peer: NodeId): void {
    this.step({ type: 'link-down', peer });
    this.step({ type: 'peers-changed', peers: this.ctx.linkedPeers() });
  }

  tick(now: Millis): void {
    this.stepAt(now, { type: 'tick' });
  }

  nextWakeAt(): Millis | undefined {
    return this.core.nextWakeAt();
  }

  shutdown(): void {
    this.step({ type: 'leave' });
  }

  settled(): Promise<void> {
    return this.driver.settled();
  }

  /** The leave notice a closing tab's page sends for us: only this node may say it is leaving. */
  lastWords(): unknown[] {
    const view = this.view();
    return view.status === 'alive' || view.status === 'suspect' ? [{ type: 'leave', node: this.ctx.self, inc: view.incarnation }] : [];
  }

  readonly commands = {
    setMemory: (args: unknown[]) => {
      const [key, value] = args;
      if (typeof key !== 'string') throw new Error('setMemory(key, value): key must be a string');
      if (value === undefined) throw new Error('setMemory(key, value): value is missing (use deleteMemory to remove a key)');
      this.step({ type: 'set-memory', key, value }, 'set-memory');
      return true;
    },
    deleteMemory: (args: unknown[]) => {
      const [key] = args;
      if (typeof key !== 'string') throw new Error('deleteMemory(key): key must be a string');
      this.step({ type: 'delete-memory', key }, 'delete-memory');
      return true;
    },
  };

  snapshot(): Record<string, unknown> {
    const view = (this.cachedView ??= this.core.view());
    const part: Record<string, unknown> = {
      members: view.members.map((m) => ({ id: m.id, status: m.status, incarnation: m.incarnation })),
      // Whether `members` is the room or a rotating sample of it (member-table.ts).
      memberTable: this.memberTable(),
      gossip: { ...view.metrics, rejected: view.rejected },
    };
    // In a tab the page keeps the memory from 'memory' messages; a snapshot copies no key.
    if (!this.ctx.publishMemory) {
      part.memory = Object.fromEntries(view.memory.map((e) => [e.key, e.value]));
      part.memoryEntries = view.memory;
    }
    return part;
  }

  /** One key's entry (cheap: no view is built). */
  get(key: string): MemoryEntryView | undefined {
    return this.core.get(key);
  }

  /** Live settings (the settings service): throws the core's reason when refused. */
  configure(config: { fanout?: number; cycleMs?: number }): { fanout: number; cycleMs: number } {
    this.step({ type: 'config', config }, 'config');
    return { fanout: this.core.config.fanout, cycleMs: this.core.config.cycleMs };
  }

  /** Whether the member table is the whole room or a sample of a larger one (readers must say so). */
  memberTable(): MemberTableView {
    return memberTableOf(this.view(), this.core.config.viewSize);
  }

  /** The core's current view (for other parts of the node, e.g. the status record). */
  view(): GossipView {
    return (this.cachedView ??= this.core.view());
  }

  private flushMemory(): void {
    this.memoryFlushQueued = false;
    const changes = this.memoryChanges;
    this.memoryChanges = [];
    if (changes.length > 0) this.postMemory(false, changes);
  }

  /** Posts `changes` in messages of at most maxMemoryChangesPerMessage (only the first one resets). */
  private postMemory(reset: boolean, changes: MemoryChange[]): void {
    const publish = this.ctx.publishMemory;
    if (!publish) return;
    let first = true;
    for (let i = 0; i < changes.length || (first && reset); i += maxMemoryChangesPerMessage) {
      publish({ type: 'memory', reset: reset && first, changes: changes.slice(i, i + maxMemoryChangesPerMessage) });
      first = false;
    }
  }

  private step(input: Parameters<GossipCore['step']>[1], command?: string): void {
    this.stepAt(this.ctx.now(), input, command);
  }

  private stepAt(now: Millis, input: Parameters<GossipCore['step']>[1], command?: string): void {
    const effects = this.core.step(now, input);
    this.cachedView = null;
    const refusal = effects.find((e): e is Extract<GossipEffect, { type: 'command-refused' }> => e.type === 'command-refused');
    this.apply(effects);
    if (command && refusal) throw new Error(refusal.reason);
  }

  private apply(effects: GossipEffect[]): void {
    // Memory changes reach the page at once, before the disk write (the worker's own reads see
    // them at once too); the messages of the step still wait for it (the driver).
    if (this.ctx.publishMemory) {
      for (const effect of effects) {
        if (effect.type !== 'memory-changed') continue;
        this.memoryChanges.push(
          effect.value === undefined
            ? { key: effect.key, origin: effect.origin, hlc: effect.hlc }
            : { key: effect.key, value: effect.value, origin: effect.origin, hlc: effect.hlc },
        );
        if (!this.memoryFlushQueued) {
          this.memoryFlushQueued = true;
          queueMicrotask(() => this.flushMemory());
        }
      }
    }
    void this.driver.apply(effects);
  }

  /** Gossip's own effects, once the writes before them are durable. */
  private onCoreEvent(event: GossipEvent): void {
    if (event.type === 'command-refused') return;
    if (event.type === 'member-status-changed' && event.id !== this.ctx.self) this.ctx.emit({ type: 'member-status', peer: event.id, status: event.status });
    this.ctx.changed();
  }
}
