// Drives one PbftReplica the way replica.ts asks (see "How a runtime drives it" there): one
// input at a time, effects carried out in array order, each `sign` answered with a `signed`
// input before the next effect, `persist` written as one batch before anything that follows it
// leaves the node. Signing and verifying are asynchronous (WebCrypto), so inputs wait in a
// bounded queue and are stepped in arrival order; a message's signatures are checked while it
// waits (see PbftService.receive), so verification of many messages overlaps. Writes are group
// committed (pbft-durable.ts).
import { canonicalBytes, type PbftEffect, type PbftInput, type PbftMessage, type PbftReplica } from '../../core/pbft/index.ts';
import type { ClientResultEffect, PbftUiEvent } from '../../core/pbft/index.ts';
import type { Millis, NodeId } from '../../core/types.ts';
import type { GroupCommit } from './pbft-durable.ts';

/** Inputs waiting for the core; beyond this, new messages are dropped (their senders retransmit). */
export const maxQueuedInputs = 2_048;
/**
 * Sends and events waiting for writes; beyond this the driver waits for the disk before it
 * steps another input (and inputs pile up to maxQueuedInputs, then are dropped).
 */
export const maxDurableBacklog = 4_096;

export type CommittedEffect = Extract<PbftEffect, { kind: 'committed' }>;

export interface DriverHooks {
  now(): Millis;
  /** Ed25519 signature over `text` by this node's key (whatever `signer` says: see 'forge'). */
  sign(text: string, signer: NodeId): Promise<string>;
  /** Carried out after every earlier write of this core is durable. */
  send(to: readonly NodeId[], msg: PbftMessage): void;
  committed(effect: CommittedEffect): void;
  clientResult(effect: ClientResultEffect): void;
  ui(event: PbftUiEvent): void;
  /** The core threw (a broken invariant: a bug); the input is dropped and the node stays up. */
  failed(error: unknown): void;
  /** An input has been stepped and its effects handed on (for snapshots). */
  stepped(): void;
}

/** An input now, or one that becomes known later (a message whose signatures are being checked). */
export type QueuedInput = PbftInput | (() => Promise<PbftInput | null>);

export class PbftDriver {
  private readonly queue: QueuedInput[] = [];
  private running = false;
  private closed = false;
  private tickQueued = false;
  private started = false;
  private idleWaiters: Array<() => void> = [];
  /** Inputs dropped because the queue was full. */
  dropped = 0;

  constructor(
    readonly core: PbftReplica,
    private readonly durable: GroupCommit,
    private readonly hooks: DriverHooks,
  ) {}

  /** Runs core.start(); call once, before any input. */
  start(): void {
    if (this.started) throw new Error('PbftDriver.start called twice');
    this.started = true;
    this.queue.unshift(async () => {
      await this.apply(this.core.start(this.hooks.now()));
      return null;
    });
    void this.pump();
  }

  /** Queues an input; false when the queue is full and it was dropped. */
  input(input: QueuedInput): boolean {
    if (this.closed) return false;
    if (this.queue.length >= maxQueuedInputs) {
      this.dropped++;
      return false;
    }
    this.queue.push(input);
    void this.pump();
    return true;
  }

  /** Queues a timer tick unless one is waiting already. */
  tick(): void {
    if (this.tickQueued || this.closed) return;
    this.tickQueued = true;
    this.queue.push(() => {
      this.tickQueued = false;
      return Promise.resolve({ type: 'tick' } as PbftInput);
    });
    void this.pump();
  }

  /** Whether inputs are waiting or being stepped (the core's next wake-up may be about to change). */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves once no input is waiting or being stepped (then GroupCommit.idle() covers the rest). */
  idle(): Promise<void> {
    if (!this.busy || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: queued inputs are dropped, nothing more is sent (writes already queued still land). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async pump(): Promise<void> {
    if (this.running || !this.started) return;
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        if (this.durable.backlog > maxDurableBacklog) await this.durable.idle();
        if (this.closed) break;
        const next = this.queue.shift() as QueuedInput;
        try {
          const input = typeof next === 'function' ? await next() : next;
          if (this.closed || input === null) continue;
          await this.apply(this.core.step(this.hooks.now(), input));
        } catch (error) {
          this.hooks.failed(error);
        }
        this.hooks.stepped();
      }
    } finally {
      this.running = false;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async apply(effects: PbftEffect[]): Promise<void> {
    for (const effect of effects) {
      if (this.closed) return;
      switch (effect.kind) {
        case 'persist':
          this.durable.persist(effect.writes, effect.deletes);
          break;
        case 'sign': {
          const sig = await this.hooks.sign(canonicalBytes(effect.body), effect.signer);
          if (this.closed) return;
          // Depth first: the signed message's own effects come before the rest of this list.
          await this.apply(this.core.step(this.hooks.now(), { type: 'signed', id: effect.id, sig }));
          break;
        }
        case 'send':
          this.sendAfterWrites([effect.to], effect.msg);
          break;
        case 'broadcast':
          this.sendAfterWrites(effect.to, effect.msg);
          break;
        case 'committed':
          this.later(() => this.hooks.committed(effect));
          break;
        case 'client-result':
          this.later(() => this.hooks.clientResult(effect));
          break;
        case 'ui':
          this.later(() => this.hooks.ui(effect.event));
          break;
      }
    }
  }

  /**
   * A message leaves after every write asked for so far is durable, except this node's own
   * client request: it depends on no write (its number comes from the clock, client.ts), and
   * waiting would make each proposal wait for the previous one's commit record (pbft-durable.ts).
   */
  private sendAfterWrites(to: readonly NodeId[], msg: PbftMessage): void {
    if (msg.body.type === 'request' && msg.signer === this.core.id) {
      if (!this.closed) this.hooks.send(to, msg);
      return;
    }
    this.later(() => this.hooks.send(to, msg));
  }

  /** After every write asked for so far is durable. */
  private later(action: () => void): void {
    this.durable.after(() => {
      if (!this.closed) action();
    });
  }
}
